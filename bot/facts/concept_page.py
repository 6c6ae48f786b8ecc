"""Parser for the concept-page export format (see `../shared/seeds/README.md`).

A page is: `concept`, the concept name, `synthesized from dimensions`, overview paragraphs with
`[fact:N|label]` citations (and bare labels glued after sentences), `Model Perspectives (k)` with a
header line and a paragraph each, `Facts (total)`, `Sources`, then source headers each followed by
their fact lines (`<type><text>`, the type glued to the text).

The parser is strict on purpose: a moderator who breaks a file gets an error naming the file, the
line and what was expected, and the live database stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

FACT_TYPES = ("claim", "measurement", "procedure", "reference", "account", "perspective")

_FACT_LINE = re.compile(r"^([a-z]+)(?=[A-Z0-9'\"“‘(\[])(.+)$")
_SOURCE_HEADER = re.compile(
    r"^(?P<title>.+?) (?P<domain>(?:[a-z0-9-]+\.)+[a-z]{2,}) (?P<rest>.+?) (?P<count>\d+) facts?$"
)
_DATE = re.compile(
    r"^(?P<who>.*?) ?(?P<date>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}, \d{4})$"
)
_PERSPECTIVE_HEADER = re.compile(r"^(?P<model>\S+)(?P<definitive> definitive)? (?P<confidence>\d{1,3})% confidence$")
_BRACKET_CITATION = re.compile(r"\[fact:(?P<n>\d+)\|(?P<label>[^\]]+)\]")
_COUNT_LINE = re.compile(r"^(?P<word>Model Perspectives|Facts) \((?P<n>\d+)\)$")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


class ParseError(ValueError):
    """A concept page is malformed; `str()` is `file:line: what was expected`."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}")


@dataclass(frozen=True)
class Source:
    title: str
    domain: str
    publisher: str
    authors: tuple[str, ...]
    date: str | None
    declared_count: int
    line: int


@dataclass(frozen=True)
class Fact:
    type: str
    text: str
    source_index: int
    line: int


@dataclass(frozen=True)
class Citation:
    """One citation inside an overview paragraph; `start:end` spans the raw paragraph text."""

    paragraph: int
    start: int
    end: int
    label: str
    fact_index: int
    exporter_id: int | None  # N of `[fact:N|…]`; None for a bare glued label

    @property
    def glued(self) -> bool:
        return self.exporter_id is None


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
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ParseError(path, line, f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8") from None
    return parse_text(text, path)


def parse_text(text: str, path: str | Path = "<text>") -> ConceptPage:
    """Parse a whole page held in memory."""
    return _Parser(text.replace("\r\n", "\n").split("\n"), str(path)).parse()


class _Parser:
    def __init__(self, lines: list[str], path: str) -> None:
        self.lines = lines
        self.path = path
        self.i = 0

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
        page.citations = resolve_citations(page.overview, page.facts)
        return page

    def read_overview(self) -> list[str]:
        paragraphs: list[str] = []
        while (line := self.peek()) is not None and not _COUNT_LINE.match(line.strip()):
            if line.strip():
                paragraphs.append(line.strip())
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
            fact = _FACT_LINE.match(stripped)
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


# --- citations ---------------------------------------------------------------------------------

_STOP = frozenset(["the", "a", "an", "of", "and", "in", "on", "to", "for", "with", "by", "as", "is", "are", "be", "or"])


def words(text: str) -> list[str]:
    """Lower-case word tokens, the one tokenizer label matching uses."""
    return _WORD.findall(text.lower().replace("’", "'"))


def _stem(word: str) -> str:
    return word[:5]


def label_score(label: str, fact_text: str) -> float:
    """How well a citation label names a fact: 1.1 exact opening, 1.0 verbatim inside, else coverage.

    Labels are the exporter's shortened fact openings ("Antidepressant benefits typically fade" for
    "The antidepressant benefits of ketamine … typically fade"), so coverage counts label words found
    in the fact's opening window, and only when the label's first content word opens the fact.
    """
    label_words = words(label.rstrip(".… "))
    fact_words = words(fact_text)
    if not label_words:
        return 0.0
    core = [w for w in fact_words if w not in _STOP]
    label_core = [w for w in label_words if w not in _STOP] or label_words
    joined_label, joined_fact = " ".join(label_words), " ".join(fact_words)
    if joined_fact.startswith(joined_label) or " ".join(core).startswith(" ".join(label_core)):
        return 1.1
    if f" {joined_label} " in f" {joined_fact} ":
        return 0.9  # verbatim, but not the fact's opening: a fact that opens this way wins
    if not core or _stem(label_core[0]) not in {_stem(w) for w in core[:3]}:
        return 0.0
    window = {_stem(w) for w in core[: len(label_core) * 2 + 3]}
    return sum(_stem(w) in window for w in label_core) / len(label_core)


def best_fact(label: str, facts: Sequence[Fact], minimum: float = 0.8) -> int | None:
    """Index of the one fact a label names, or None when no fact or more than one fits."""
    scored = sorted(((label_score(label, f.text), i) for i, f in enumerate(facts)), reverse=True)
    if not scored or scored[0][0] < minimum:
        return None
    if len(scored) > 1 and scored[1][0] >= scored[0][0] - 0.05 and scored[0][0] < 1.1:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0] == 1.1:
        return min(
            (i for s, i in scored if s == 1.1), key=lambda i: len(facts[i].text)
        )  # several facts open the same way: the shortest is the one the label abbreviates
    return scored[0][1]


def resolve_citations(paragraphs: Sequence[str], facts: Sequence[Fact]) -> list[Citation]:
    """Every `[fact:N|label]` (must resolve) and every glued label that resolves unambiguously."""
    citations: list[Citation] = []
    for p, paragraph in enumerate(paragraphs):
        for m in _BRACKET_CITATION.finditer(paragraph):
            index = best_fact(m["label"], facts, minimum=0.75)
            if index is None:
                raise ParseError(
                    "<overview>", p + 1, f"citation [fact:{m['n']}|{m['label'][:50]}] matches no single fact"
                )
            citations.append(Citation(p, m.start(), m.end(), m["label"], index, int(m["n"])))
        citations.extend(_glued_citations(p, paragraph, facts))
    citations.sort(key=lambda c: (c.paragraph, c.start))
    return citations


# A full stop ends a sentence unless it closes an abbreviation ("et al.", "e.g.", "vs.").
_SENTENCE_END = re.compile(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bDr)\.(?=\s|$)")
_CANDIDATE_START = re.compile(r"(?:(?<=[a-z0-9)'’])|(?<=\x00,)) (?=[A-Z0-9])")
_MAX_LABEL_WORDS = 25
# A label glued mid-sentence starts with a capital right after an all-lower-case word.
_MID_SENTENCE_START = re.compile(r"(?:^|\s)[a-z]+ [A-Z]$")


def _glued_citations(p: int, paragraph: str, facts: Sequence[Fact]) -> list[Citation]:
    """Find bare labels glued before a sentence's full stop ("… plasticity Neuroplasticity as a …").

    For each sentence, every capitalised word not preceded by punctuation may start a tail; a tail
    counts as citations only if it splits at commas into labels that each name exactly one fact.
    The best-scoring tail wins (the earliest on a tie), so a label does not swallow prose before it.
    """
    found: list[Citation] = []
    sentence_start = 0
    masked = _BRACKET_CITATION.sub(lambda m: "\x00" * len(m[0]), paragraph)
    for end_match in _SENTENCE_END.finditer(masked + " "):
        end = end_match.start()
        sentence = masked[sentence_start:end]
        best: tuple[float, int, list[tuple[str, int]]] | None = None
        for start_match in _CANDIDATE_START.finditer(sentence):
            tail_start = sentence_start + start_match.end()
            parts = _split_labels(masked[tail_start:end], facts)
            if not parts and _MID_SENTENCE_START.search(sentence[: start_match.end() + 1]):
                parts = _mid_sentence_label(masked[tail_start:end], facts)
            if parts:
                score = min(label_score(label, facts[index].text) for label, index in parts)
                if best is None or score > best[0]:
                    best = (score, tail_start, parts)
        if best is not None:
            offset = best[1]
            for label, index in best[2]:
                local = paragraph.index(label, offset)
                found.append(Citation(p, local, local + len(label), label, index, None))
                offset = local + len(label)
        sentence_start = end + 1
    return found


def _mid_sentence_label(tail: str, facts: Sequence[Fact]) -> list[tuple[str, int]] | None:
    """A label glued mid-sentence ("… mTOR signaling Ketamine enhances structural plasticity, and …")."""
    comma = tail.find(", ")
    if comma < 0 or "\x00" in tail[:comma]:
        return None
    label = tail[:comma]
    index = best_fact(label, facts) if 3 <= len(words(label)) <= _MAX_LABEL_WORDS else None
    return [(label, index)] if index is not None else None


def _split_labels(tail: str, facts: Sequence[Fact]) -> list[tuple[str, int]] | None:
    """Split `tail` at commas into labels that each resolve; labels may contain commas themselves."""
    if "\x00" in tail or len(tail) > 400:
        return None
    pieces = [piece.strip() for piece in tail.split(", ")]
    for take in range(1, len(pieces) + 1):
        label = ", ".join(pieces[:take])
        if len(words(label)) < 3:
            continue
        if len(words(label)) > _MAX_LABEL_WORDS:
            return None
        index = best_fact(label, facts)
        if index is None:
            continue
        if take == len(pieces):
            return [(label, index)]
        rest = _split_labels(", ".join(pieces[take:]), facts)
        if rest is not None:
            return [(label, index), *rest]
    return None
