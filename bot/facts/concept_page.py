"""Parser for the concept-page export format (described in `docs/concept-page-format.md`).

A page is: `concept`, the concept name, `synthesized from dimensions`, overview paragraphs with
`[fact:N|label]` citations (and bare labels glued after sentences), `Model Perspectives (k)` with a
header line and a paragraph each, `Facts (total)`, `Sources`, then source headers each followed by
their fact lines (`<type><text>`, the type glued to the text).

The parser is strict on purpose: a moderator who breaks a file gets an error naming the file, the
line and what was expected, and the live database stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.facts.citations import Citation, resolve_citations
from bot.facts.errors import ParseError, read_utf8

FACT_TYPES = ("claim", "measurement", "procedure", "reference", "account", "perspective")

#: A fact line: its type glued to its text (also the fact lines of imported source pages).
FACT_LINE = re.compile(r"^([a-z]+)(?=[A-Z0-9'\"“‘(\[])(.+)$")
_SOURCE_HEADER = re.compile(
    r"^(?P<title>.+?) (?P<domain>(?:[a-z0-9-]+\.)+[a-z]{2,}) (?P<rest>.+?) (?P<count>\d+) facts?$"
)
_DATE = re.compile(
    r"^(?P<who>.*?) ?(?P<date>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}, \d{4})$"
)
_PERSPECTIVE_HEADER = re.compile(r"^(?P<model>\S+)(?P<definitive> definitive)? (?P<confidence>\d{1,3})% confidence$")
_COUNT_LINE = re.compile(r"^(?P<word>Model Perspectives|Facts) \((?P<n>\d+)\)$")


@dataclass(frozen=True)
class Source:
    title: str
    domain: str
    publisher: str
    authors: tuple[str, ...]
    date: str | None
    declared_count: int
    line: int
    tier: str | None = None  # set at ingest: from an imported source's file, else from data/tiers.toml
    url: str | None = None
    path: str | None = None  # the data/sources/ file of an imported source


@dataclass(frozen=True)
class Fact:
    type: str
    text: str
    source_index: int
    line: int
    section: str = ""


@dataclass(frozen=True)
class Perspective:
    model: str
    confidence: int
    definitive: bool
    text: str
    line: int


@dataclass
class ConceptPage:
    name: str
    path: str
    overview: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    perspectives: list[Perspective] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)


def parse_file(path: Path) -> ConceptPage:
    """Read and parse one concept page; undecodable bytes are reported with their line."""
    return parse_text(read_utf8(path), path)


def parse_text(text: str, path: str | Path = "<text>") -> ConceptPage:
    """Parse a whole page held in memory."""
    return _Parser(text.replace("\r\n", "\n").split("\n"), str(path)).parse()


class _Parser:
    def __init__(self, lines: list[str], path: str) -> None:
        self.lines = lines
        self.path = path
        self.i = 0
        self.overview_lines: list[int] = []  # the line of each overview paragraph, for citation errors

    def fail(self, message: str, line: int | None = None) -> ParseError:
        return ParseError(self.path, line if line is not None else min(self.i + 1, len(self.lines)), message)

    def peek(self) -> str | None:
        return self.lines[self.i] if self.i < len(self.lines) else None

    def expect_exact(self, wanted: str) -> None:
        got = self.peek()
        if got is None:
            raise self.fail(f"file ends early: expected {wanted!r}")
        if got.strip() != wanted:
            raise self.fail(f"expected {wanted!r}, found {got[:60]!r}")
        self.i += 1

    def skip_blank(self) -> None:
        while (line := self.peek()) is not None and not line.strip():
            self.i += 1

    def parse(self) -> ConceptPage:
        self.skip_blank()
        self.expect_exact("concept")
        self.skip_blank()
        name = (self.peek() or "").strip()
        if not name or name == "synthesized from dimensions":
            raise self.fail("missing concept name: expected the name on the line after 'concept'")
        self.i += 1
        page = ConceptPage(name=name, path=self.path)
        self.skip_blank()
        self.expect_exact("synthesized from dimensions")
        page.overview = self.read_overview()
        page.perspectives = self.read_perspectives()
        self.read_facts(page)
        page.citations = resolve_citations(page.overview, page.facts, self.path, self.overview_lines)
        return page

    def read_overview(self) -> list[str]:
        paragraphs: list[str] = []
        while (line := self.peek()) is not None and not _COUNT_LINE.match(line.strip()):
            if line.strip():
                paragraphs.append(line.strip())
                self.overview_lines.append(self.i + 1)
            self.i += 1
        if self.peek() is None:
            raise self.fail("file ends early: expected 'Model Perspectives (k)' or 'Facts (n)' after the overview")
        return paragraphs

    def read_perspectives(self) -> list[Perspective]:
        match = _COUNT_LINE.match((self.peek() or "").strip())
        if not match or match["word"] != "Model Perspectives":
            return []
        declared, start = int(match["n"]), self.i + 1
        self.i += 1
        found: list[Perspective] = []
        while (line := self.peek()) is not None and not line.strip().startswith("Facts ("):
            header = _PERSPECTIVE_HEADER.match(line.strip())
            if not line.strip():
                self.i += 1
                continue
            if not header:
                raise self.fail("expected a perspective header '<model id> [definitive] <p>% confidence'")
            self.i += 1
            body = (self.peek() or "").strip()
            if not body or _PERSPECTIVE_HEADER.match(body):
                raise self.fail("expected the perspective paragraph after its header")
            found.append(
                Perspective(
                    model=header["model"],
                    confidence=int(header["confidence"]),
                    definitive=bool(header["definitive"]),
                    text=body,
                    line=self.i + 1,
                )
            )
            self.i += 1
        if len(found) != declared:
            raise self.fail(f"'Model Perspectives ({declared})' declares {declared}, found {len(found)}", start)
        return found

    def read_facts(self, page: ConceptPage) -> None:
        self.skip_blank()
        match = _COUNT_LINE.match((self.peek() or "").strip())
        if not match or match["word"] != "Facts":
            raise self.fail("expected 'Facts (n)'")
        declared_total, total_line = int(match["n"]), self.i + 1
        self.i += 1
        self.skip_blank()
        self.expect_exact("Sources")
        counts: list[int] = []
        while (line := self.peek()) is not None:
            self.i += 1
            stripped = line.strip()
            if not stripped:
                continue
            fact = FACT_LINE.match(stripped)
            if fact and fact[1] in FACT_TYPES:
                if not page.sources:
                    raise self.fail(
                        "fact before any source: expected a source header '<title> <domain> … n facts'", self.i
                    )
                page.facts.append(Fact(fact[1], fact[2].strip(), len(page.sources) - 1, self.i))
                counts[-1] += 1
                continue
            header = _SOURCE_HEADER.match(stripped)
            if header:
                self.close_source(page, counts)
                page.sources.append(_source_from_header(header, self.i))
                counts.append(0)
                continue
            if fact:
                raise self.fail(f"unknown fact type {fact[1]!r}: expected one of {', '.join(FACT_TYPES)}", self.i)
            raise self.fail(
                "expected a fact line '<type><text>' or a source header '<title> <domain> … n facts'", self.i
            )
        self.close_source(page, counts)
        if not page.sources:
            raise self.fail("no sources: expected at least one source header after 'Sources'")
        if len(page.facts) != declared_total:
            raise self.fail(
                f"'Facts ({declared_total})' declares {declared_total} facts, found {len(page.facts)}"
                " (is the file truncated?)",
                total_line,
            )

    def close_source(self, page: ConceptPage, counts: list[int]) -> None:
        if not page.sources:
            return
        source = page.sources[-1]
        if counts[-1] != source.declared_count:
            raise self.fail(
                f"source {source.title!r} declares {source.declared_count} facts, found {counts[-1]}"
                " (is the file truncated?)",
                source.line,
            )


def _source_from_header(match: re.Match[str], line: int) -> Source:
    rest = match["rest"].strip()
    date = None
    dated = _DATE.match(rest)
    if dated:
        rest, date = dated["who"].strip(), dated["date"]
    authors: tuple[str, ...] = ()
    publisher = rest
    if " · " in rest:
        who, publisher = rest.split(" · ", 1)
        authors = tuple(a.strip() for a in who.split(",") if a.strip())
    return Source(
        title=match["title"].strip(),
        domain=match["domain"],
        publisher=publisher.strip(),
        authors=authors,
        date=date,
        declared_count=int(match["count"]),
        line=line,
    )
