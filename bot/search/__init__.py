"""Search over the fact store: query analysis, lexical retrieval and ranking.

Knows nothing of Discord or of how answers look; it may import `bot.facts` only.
"""
