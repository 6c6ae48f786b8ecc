"""`python -m bot import`: articles, clinic pages and paper cards into `data/sources/` as sourced facts.

fetch (a URL, with limits) → extract (main text and metadata of HTML, Markdown or text; boilerplate
dropped) → sentences (a real segmenter; every fact a verbatim sentence, typed, deduplicated) →
write (a source page that the ingest reads; the same source imported twice changes nothing).
May import `bot.facts` only.
"""
