"""From a document to a source page in `data/sources/`: options, checks, the file name, the write.

Importing the same source again finds its file (by address, or by the name of the captured file)
and writes it only when its text changed, so a second import of the same document changes nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.facts.concept_page import parse_file as parse_concept_page
from bot.facts.datafiles import load_papers
from bot.facts.imported import paper_key
from bot.facts.ingest import concept_files
from bot.facts.source_page import SourcePage, parse_file, parse_text, render, source_files
from bot.facts.tiers import load_tiers
from bot.importing.errors import ImportFailure
from bot.importing.extract import Extracted
from bot.importing.sentences import facts_of


@dataclass
class Options:
    concept: str | None = None
    tier: str | None = None
    title: str | None = None
    url: str | None = None
    publisher: str | None = None
    date: str | None = None
    doi: str | None = None
    year: str | None = None


@dataclass
class Written:
    path: Path
    page: SourcePage
    changed: bool
    created: bool


def concepts_of(data_dir: Path) -> list[str]:
    return [parse_concept_page(path).name for path in concept_files(data_dir)]


def choose_concept(data_dir: Path, wanted: str | None, text: str) -> str:
    """The concept named with --concept (it must have a page), else the one the text names most."""
    known = concepts_of(data_dir)
    if not known:
        raise ImportFailure(f"{data_dir / 'concepts'}: no concept page to attach the source to")
    if wanted:
        found = next((k for k in known if k.lower() == wanted.strip().lower()), None)
        if found is None:
            raise ImportFailure(f"no concept page {wanted!r} in {data_dir / 'concepts'} (known: {', '.join(known)})")
        return found
    counts = {k: len(re.findall(rf"\b{re.escape(k)}\b", text, re.IGNORECASE)) for k in known}
    best = max(counts, key=lambda k: counts[k])
    if counts[best] == 0:
        raise ImportFailure(f"the text names no known concept: say which with --concept ({', '.join(known)})")
    return best


def choose_tier(data_dir: Path, wanted: str | None, paper: bool) -> str:
    tiers = load_tiers(data_dir / "tiers.toml")
    if wanted is None:
        if paper and "paper" in tiers.keys:
            return "paper"
        raise ImportFailure(f"say which tier the source is with --tier ({', '.join(t.key for t in tiers.tiers)})")
    if wanted not in tiers.keys:
        raise ImportFailure(f"unknown tier {wanted!r}: expected one of {', '.join(t.key for t in tiers.tiers)}")
    return wanted


def source_page(extracted: Extracted, options: Options, data_dir: Path, origin: str) -> SourcePage:
    """The source page for a document, or a clear error (no title, no fact)."""
    title = (options.title or extracted.title).strip()
    if not title:
        raise ImportFailure("the document has no title I can find: give one with --title")
    text = " ".join([title, *(b.text for b in extracted.blocks)])
    facts = list(facts_of(extracted.blocks))
    if not facts:
        raise ImportFailure("no sentence of the document can be a fact (is it only headings, links or a form?)")
    page = SourcePage(
        title=title,
        concept=choose_concept(data_dir, options.concept, text),
        tier=choose_tier(data_dir, options.tier, bool(extracted.journal)),
        site=extracted.site,
        url=options.url or extracted.url,
        publisher=options.publisher or extracted.publisher,
        authors=extracted.authors,
        date=options.date or extracted.date,
        journal=extracted.journal,
        year=options.year or extracted.year,
        doi=options.doi or extracted.doi,
        topics=extracted.topics,
        captured_from=origin,
        facts=facts,
    )
    if page.is_paper:
        _complete_from_papers(page, data_dir)
    return page


def _complete_from_papers(page: SourcePage, data_dir: Path) -> None:
    """A paper card whose paper is listed in `papers.toml` takes the DOI and year from there."""
    for paper in load_papers(data_dir / "papers.toml"):
        same_doi = bool(page.doi and paper["doi"] and paper_key(page.doi) == paper_key(paper["doi"]))
        if same_doi or paper_key(paper["title"]) == paper_key(page.title):
            page.doi = page.doi or (paper["doi"] or "")
            page.year = page.year or (str(paper["year"]) if paper["year"] else "")
            return


def slug(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("’", "").replace("'", "")).strip("-")
    return words[:70].rstrip("-") or "source"


def target_for(page: SourcePage, data_dir: Path) -> Path:
    """The file of this source: the one that already holds it (same address, or the same captured
    file for the same concept), else a new file named after its title."""
    folder = data_dir / "sources"
    for path in source_files(data_dir):
        existing = parse_file(path)
        if page.url and existing.url == page.url:
            return path
        if not page.url and existing.captured_from == page.captured_from and existing.concept == page.concept:
            return path
    path, n = folder / f"{slug(page.title)}.txt", 2
    while path.exists():
        path, n = folder / f"{slug(page.title)}-{n}.txt", n + 1
    return path


def write(page: SourcePage, data_dir: Path) -> Written:
    """Write the source page (atomically) unless the file already says exactly this."""
    path = target_for(page, data_dir)
    page.path = str(path)
    text = render(page)
    parsed = parse_text(text, path)
    if [(f.type, f.text, f.section) for f in parsed.facts] != [(f.type, f.text, f.section) for f in page.facts]:
        raise ImportFailure("internal error: the source page would not read back as written; nothing was written")
    created = not path.exists()
    if not created and path.read_text(encoding="utf-8") == text:
        return Written(path, page, changed=False, created=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Written(path, page, changed=True, created=created)
