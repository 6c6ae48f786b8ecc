"""`python -m bot import SOURCE [--concept NAME] [--tier TIER] …`: one document into `data/sources/`."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.importing.errors import ImportFailure

if TYPE_CHECKING:
    from bot.importing.extract import Extracted

SUFFIXES = {".html": "html", ".htm": "html", ".xhtml": "html", ".md": "markdown", ".markdown": "markdown"}
SUFFIXES |= {".txt": "text", ".text": "text", "": "text"}
_DOI_HOSTS = ("doi.org/", "/doi/")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="a local .html, .md or .txt file, or an http(s) address")
    parser.add_argument("--concept", help="the concept page it belongs to (default: the one the text names most)")
    parser.add_argument("--tier", help="paper, review, clinic, news or community (data/tiers.toml)")
    parser.add_argument("--title", help="the title, when the document has none or a poor one")
    parser.add_argument("--url", help="the page's address, for a file saved from the web")
    parser.add_argument("--publisher", help="who publishes it (a clinic's or a site's name)")
    parser.add_argument("--date", help="its date, e.g. 'Mar 14, 2024'")
    parser.add_argument("--doi", help="a paper's DOI")
    parser.add_argument("--year", help="a paper's year")
    parser.add_argument("--dry-run", action="store_true", help="show what would be written; write nothing")


def run(args: argparse.Namespace, data_dir: Path) -> int:
    """Import one document; print what was written (or why nothing was). Raises ImportFailure."""
    from bot.importing.build import Options, source_page, write  # the extractors load only for an import

    known = _known_paper(args.source, data_dir)
    if known:
        print(known)
        return 0
    extracted, origin = read_source(args.source)
    options = Options(args.concept, args.tier, args.title, args.url, args.publisher, args.date, args.doi, args.year)
    page = source_page(extracted, options, data_dir, origin)
    types = Counter(f.type for f in page.facts)
    mix = ", ".join(f"{t} {n}" for t, n in types.most_common())
    where = f"“{page.title}” [{page.concept}, tier {page.tier}]"
    if args.dry_run:
        print(f"Would write {len(page.facts)} facts ({mix}) under {where}:")
        for key in ("site", "url", "publisher", "authors", "date", "journal", "year", "doi", "topics"):
            if page.value(key):
                print(f"  {key}: {page.value(key)}")
        for fact in page.facts:
            print(f"  {fact.section:<8} {fact.type:<11} {fact.text}")
        return 0
    written = write(page, data_dir)
    if not written.changed:
        print(f"Unchanged: {written.path} already holds {where} ({len(page.facts)} facts); nothing written")
        return 0
    verb = "Wrote" if written.created else "Updated"
    print(f"{verb} {written.path}: {len(page.facts)} facts ({mix}) under {where}")
    print("Review it (git diff), then run `python -m bot ingest --check` and `python -m bot ingest`.")
    return 0


def read_source(source: str) -> tuple[Extracted, str]:
    """The extracted document and what it was captured from (the address, or the file's name)."""
    from bot.importing.fetch import MAX_BYTES, fetch

    if source.lower().startswith(("http://", "https://")):
        fetched = fetch(source)
        return _extract(fetched.kind, fetched.body, fetched.encoding, fetched.url), fetched.url
    path = Path(source)
    if not path.is_file():
        raise ImportFailure(f"{source}: no such file (give a local file or an http(s) address)")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ImportFailure(f"{source}: not an HTML, Markdown or text file ({path.suffix}); save it as .txt")
    if path.stat().st_size > MAX_BYTES:
        raise ImportFailure(f"{source}: {path.stat().st_size:,} bytes, over the {MAX_BYTES:,}-byte limit")
    return _extract(kind, path.read_bytes(), None, ""), path.name


def _extract(kind: str, body: bytes, encoding: str | None, url: str) -> Extracted:
    from bot.importing.card import is_card, read_card
    from bot.importing.extract import from_html, from_markdown, from_text, host_of

    if kind == "html":
        return from_html(body, url)
    text = _decode(body, encoding)
    extracted = from_markdown(text) if kind == "markdown" else read_card(text) if is_card(text) else from_text(text)
    if url:
        extracted.url, extracted.site = url, host_of(url)
    return extracted


def _decode(body: bytes, encoding: str | None) -> str:
    for candidate in dict.fromkeys([encoding or "utf-8", "utf-8"]):
        try:
            return body.decode(candidate).removeprefix("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
    raise ImportFailure("the text is not UTF-8 (or in the encoding its server declared); save it as UTF-8")


def _known_paper(source: str, data_dir: Path) -> str | None:
    """A DOI link to a paper the store has: it resolves to that paper's card, and nothing is fetched."""
    from bot.facts.datafiles import load_papers
    from bot.facts.source_page import parse_file, source_files

    lowered = source.lower()
    if not lowered.startswith(("http://", "https://")) or not any(h in lowered for h in _DOI_HOSTS):
        return None
    doi = lowered.split("doi.org/", 1)[-1] if "doi.org/" in lowered else lowered.split("/doi/", 1)[-1]
    doi = doi.split("?", 1)[0].split("#", 1)[0].strip("/")
    for path in source_files(data_dir):
        card = parse_file(path)
        if card.doi and card.doi.lower() == doi:
            return f"{source} is the paper “{card.title}”: its card is {path} (nothing imported)"
    for paper in load_papers(data_dir / "papers.toml"):
        if paper["doi"] and paper["doi"].lower() == doi:
            return (
                f"{source} is the paper “{paper['title']}” listed in {data_dir / 'papers.toml'}, with no card yet: "
                "import a page that shows its abstract (a research-database card) with --tier paper"
            )
    return None


def main(argv: Sequence[str], data_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot import")
    add_arguments(parser)
    return run(parser.parse_args(argv), data_dir)
