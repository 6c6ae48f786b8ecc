"""The source-page format: one imported source (an article, a clinic page, a paper card) in `data/sources/`.

A sibling of the concept page (`concept_page.py`), written by `python -m bot import` and read by the
ingest, so the data folder stays the source of truth and moderators review an import as a diff.
The format is described in `docs/source-page-format.md`:

    source
    title: About Ketamine
    concept: ketamine
    tier: clinic
    …more `key: value` lines…

    Facts (2)

    Text (2)
    claimPsychedelics are a class of psychoactive drugs that produce changes in perception, mood, and ….
    claimSerotonin is related to the flexibility and sensitivity of the brain and is involved in ….

`render` and `parse_text` are inverses: what the importer writes, the ingest reads back unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.facts.concept_page import FACT_LINE, FACT_TYPES
from bot.facts.errors import ParseError, read_utf8

#: Header keys in the order they are written; `title`, `concept` and `tier` are required.
KEYS = (
    "title",
    "concept",
    "tier",
    "site",
    "url",
    "publisher",
    "authors",
    "date",
    "journal",
    "year",
    "doi",
    "topics",
    "captured from",
)
REQUIRED = ("title", "concept", "tier")
LIST_KEYS = ("authors", "topics")  # separated by "; " (names hold commas: "Marguilho, M.")
LIST_SEPARATOR = "; "
_HEADER_LINE = re.compile(r"^(?P<key>[a-z][a-z ]*?):(?: (?P<value>.*))?$")
_SECTION = re.compile(r"^(?P<name>[A-Z][A-Za-z ]{0,40}) \((?P<n>\d+)\)$")
_TOTAL = re.compile(r"^Facts \((?P<n>\d+)\)$")


@dataclass(frozen=True)
class SourceFact:
    type: str
    text: str
    section: str
    line: int = 0


@dataclass
class SourceMetadata:
    """What is known of a source besides its title: read from a document when importing it, kept in its
    source page."""

    site: str = ""
    url: str = ""
    publisher: str = ""
    authors: list[str] = field(default_factory=list)
    date: str = ""
    journal: str = ""
    year: str = ""
    doi: str = ""
    topics: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class SourcePage(SourceMetadata):
    """One imported source and its facts, each a verbatim sentence of the source."""

    title: str
    concept: str
    tier: str
    captured_from: str = ""
    facts: list[SourceFact] = field(default_factory=list)
    path: str = "<text>"
    line: int = 1  # of the `title:` line, for errors about the whole source

    @property
    def is_paper(self) -> bool:
        """A paper card: a journal is named (the paper's metadata then goes to the papers table)."""
        return bool(self.journal)

    def value(self, key: str) -> str:
        raw = getattr(self, key.replace(" ", "_"))
        return LIST_SEPARATOR.join(raw) if isinstance(raw, list) else str(raw)


def render(page: SourcePage) -> str:
    """The file text for a source page (UTF-8, LF line endings, a final newline)."""
    lines = ["source", ""]
    lines += [f"{key}: {page.value(key)}" for key in KEYS if page.value(key)]
    lines += ["", f"Facts ({len(page.facts)})"]
    sections: dict[str, list[SourceFact]] = {}
    for fact in page.facts:
        sections.setdefault(fact.section, []).append(fact)
    for name, facts in sections.items():
        lines += ["", f"{name} ({len(facts)})"]
        lines += [f"{f.type}{f.text}" for f in facts]
    return "\n".join(lines) + "\n"


def check_fact(text: str) -> str | None:
    """Why `text` cannot be a fact line (None when it can): one line, starting as the parser needs."""
    if not text or text != text.strip() or "\n" in text or "\r" in text:
        return "a fact is one line without surrounding spaces"
    if not re.match(r"[A-Z0-9'\"“‘(\[]", text):
        return "a fact starts with a capital letter, a digit, a quote, ( or ["
    return None


def parse_file(path: Path) -> SourcePage:
    return parse_text(read_utf8(path), path)


def parse_text(text: str, path: str | Path = "<text>") -> SourcePage:
    lines = text.replace("\r\n", "\n").split("\n")
    where = str(path)

    def fail(number: int, message: str) -> ParseError:
        return ParseError(where, number, message)

    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or lines[i].strip() != "source":
        raise fail(i + 1, "expected 'source' on the first line of a source page")
    i += 1
    values: dict[str, str] = {}
    title_line = 0
    while i < len(lines) and not _TOTAL.match(lines[i].strip()):
        stripped = lines[i].strip()
        i += 1
        if not stripped:
            continue
        match = _HEADER_LINE.match(stripped)
        if not match:
            raise fail(i, f"expected a header line '<key>: <value>' or 'Facts (n)', found {stripped[:60]!r}")
        key, value = match["key"], (match["value"] or "").strip()
        if key not in KEYS:
            raise fail(i, f"unknown header {key!r}: expected one of {', '.join(KEYS)}")
        if key in values:
            raise fail(i, f"header {key!r} given twice")
        values[key] = value
        title_line = i if key == "title" else title_line
    for key in REQUIRED:
        if not values.get(key):
            raise fail(title_line or 2, f"missing header {key!r}")
    if i >= len(lines):
        raise fail(i, "file ends early: expected 'Facts (n)' after the header")
    total_line = i + 1
    declared_total = int(_TOTAL.match(lines[i].strip())["n"])  # type: ignore[index]
    i += 1
    page = SourcePage(
        title=values["title"],
        concept=values["concept"],
        tier=values["tier"],
        site=values.get("site", ""),
        url=values.get("url", ""),
        publisher=values.get("publisher", ""),
        authors=_split(values.get("authors", "")),
        date=values.get("date", ""),
        journal=values.get("journal", ""),
        year=values.get("year", ""),
        doi=values.get("doi", ""),
        topics=_split(values.get("topics", "")),
        captured_from=values.get("captured from", ""),
        path=where,
        line=title_line,
    )
    section, declared, section_line, counted = "", 0, 0, 0
    for number, line in enumerate(lines[i:], i + 1):
        stripped = line.strip()
        if not stripped:
            continue
        header = _SECTION.match(stripped)
        if header:
            if section and counted != declared:
                raise fail(section_line, f"section {section!r} declares {declared} facts, found {counted}")
            section, declared, section_line, counted = header["name"], int(header["n"]), number, 0
            continue
        fact = FACT_LINE.match(stripped)
        if not fact or fact[1] not in FACT_TYPES:
            if fact:
                raise fail(number, f"unknown fact type {fact[1]!r}: expected one of {', '.join(FACT_TYPES)}")
            raise fail(number, "expected a fact line '<type><text>' or a section header '<Name> (n)'")
        if not section:
            raise fail(number, "fact before any section: expected a section header like 'Text (n)'")
        page.facts.append(SourceFact(fact[1], fact[2].strip(), section, number))
        counted += 1
    if section and counted != declared:
        raise fail(section_line, f"section {section!r} declares {declared} facts, found {counted}")
    if len(page.facts) != declared_total:
        raise fail(total_line, f"'Facts ({declared_total})' declares {declared_total} facts, found {len(page.facts)}")
    if page.year and not re.fullmatch(r"\d{4}", page.year):
        raise fail(title_line, f"year: expected a year like 2023, got {page.year!r}")
    return page


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def source_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "sources").glob("*.txt"))
