"""Resolving an overview's citations to facts: `[fact:N|label]` and bare labels glued after sentences.

The exporter's N is not a position, so a citation is resolved by matching its label to a fact's text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.facts.errors import ParseError

_BRACKET_CITATION = re.compile(r"\[fact:(?P<n>\d+)\|(?P<label>[^\]]+)\]")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


class Fact(Protocol):
    """A parsed fact as far as citations care: its text."""

    @property
    def text(self) -> str: ...


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


def resolve_citations(
    paragraphs: Sequence[str], facts: Sequence[Fact], path: str = "<text>", lines: Sequence[int] = ()
) -> list[Citation]:
    """Every `[fact:N|label]` (must resolve) and every glued label that resolves unambiguously.

    `path` and `lines` (each paragraph's line in the page) name where an unresolved citation sits.
    """
    citations: list[Citation] = []
    for p, paragraph in enumerate(paragraphs):
        for m in _BRACKET_CITATION.finditer(paragraph):
            index = best_fact(m["label"], facts, minimum=0.75)
            if index is None:
                raise ParseError(
                    path,
                    lines[p] if p < len(lines) else p + 1,
                    f"citation [fact:{m['n']}|{m['label'][:50]}] matches no single fact",
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
