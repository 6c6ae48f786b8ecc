"""What the ingest adds for imported sources (`data/sources/*.txt`) and tiers (`data/tiers.toml`).

Imported sources are attached to their concept's page before it is inserted, so a concept's facts
keep one contiguous run of rowids (search restricts matches to a concept that way) and fact ids
are derived exactly as for a concept page's own facts. Paper cards are merged with the
`data/papers.toml` entry of the same paper (same DOI or the same title), so a paper is one row.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.facts.concept_page import ConceptPage, Fact, Source
from bot.facts.errors import ParseError
from bot.facts.source_page import SourcePage, check_fact, parse_file, source_files
from bot.facts.tiers import Tiers

SUMMARY_SECTION = "Summary"


def load_source_pages(data_dir: Path, tiers: Tiers) -> dict[str, list[SourcePage]]:
    """Every source page, validated, by the lower-cased name of its concept."""
    out: dict[str, list[SourcePage]] = {}
    for path in source_files(data_dir):
        page = parse_file(path)
        if page.tier not in tiers.keys:
            raise ParseError(path, page.line, f"tier {page.tier!r}: expected one of {', '.join(sorted(tiers.keys))}")
        for fact in page.facts:
            problem = check_fact(fact.text)
            if problem:
                raise ParseError(path, fact.line, problem)
        out.setdefault(page.concept.lower(), []).append(page)
    return out


def unclaimed(pages: dict[str, list[SourcePage]], known: Iterable[str]) -> None:
    """Fail on a source page whose concept has no concept page."""
    for found in pages.values():
        page = found[0]
        raise ParseError(
            page.path, page.line, f"concept {page.concept!r} has no page in concepts/ (known: {', '.join(known)})"
        )


def with_sources(page: ConceptPage, extra: Sequence[SourcePage], tiers: Tiers) -> ConceptPage:
    """The page with every source's tier resolved and the imported sources appended after its own."""
    sources = [dataclasses.replace(s, tier=s.tier or tiers.for_source(s.title, s.domain)) for s in page.sources]
    facts = list(page.facts)
    for imported in extra:
        index = len(sources)
        sources.append(
            Source(
                title=imported.title,
                domain=imported.site or ("doi.org" if imported.doi and not imported.url else ""),
                publisher=imported.publisher or imported.journal,
                authors=tuple(imported.authors),
                date=imported.date or (imported.year or None),
                declared_count=len(imported.facts),
                line=imported.line,
                tier=imported.tier,
                url=imported.url or (f"https://doi.org/{imported.doi}" if imported.doi else None),
                path=imported.path,
            )
        )
        facts += [Fact(f.type, f.text, index, f.line, f.section) for f in imported.facts]
    return dataclasses.replace(page, sources=sources, facts=facts)


def insert_tiers(conn: sqlite3.Connection, tiers: Tiers) -> None:
    conn.executemany(
        "INSERT INTO tiers(key, rank, badge, label, short, meaning) VALUES (?,?,?,?,?,?)",
        [(t.key, t.rank, t.badge, t.label, t.short, t.meaning) for t in tiers.tiers],
    )


def paper_key(text: str) -> str:
    """A title or DOI compared loosely: case, quotes, dashes and spacing do not matter."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def merge_papers(
    conn: sqlite3.Connection, papers: Sequence[dict[str, Any]], cards: Sequence[SourcePage]
) -> list[dict[str, Any]]:
    """`papers.toml` entries plus paper cards; a card and an entry for the same paper become one row
    (the entry's curated fields win, the card adds what the entry lacks and links its facts)."""
    merged = [dict(p, source_id=None) for p in papers]
    for card in cards:
        row = conn.execute("SELECT id FROM sources WHERE path = ?", (card.path,)).fetchone()
        summary = " ".join(f.text for f in card.facts if f.section == SUMMARY_SECTION)
        own = {
            "title": card.title,
            "authors": list(card.authors),
            "journal": card.journal,
            "year": int(card.year) if card.year else None,
            "doi": card.doi or None,
            "tags": list(card.topics),
            "summary": summary,
            "match": [card.title],
            "source_id": row[0] if row else None,
        }
        same = next((p for p in merged if _same_paper(p, own)), None)
        if same is None:
            merged.append(own)
            continue
        for key, value in own.items():
            if key == "match":
                same["match"] = list(dict.fromkeys([*same["match"], card.title]))
            elif not same.get(key):
                same[key] = value
    return merged


def _same_paper(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("doi") and b.get("doi"):
        return bool(paper_key(a["doi"]) == paper_key(b["doi"]))
    return paper_key(a["title"]) == paper_key(b["title"])


def paper_values(paper: dict[str, Any]) -> tuple[Any, ...]:
    """The `papers` row for one merged paper, in the INSERT's column order."""
    return (
        paper["title"],
        json.dumps(paper["authors"]),
        paper["journal"],
        paper["year"],
        paper["doi"],
        json.dumps(paper["tags"]),
        paper["summary"],
        json.dumps(paper["match"]),
        paper.get("source_id"),
    )
