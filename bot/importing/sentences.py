"""From text blocks to facts: sentence segmentation (pysbd), the tests a sentence must pass to be a
fact, its type, and deduplication. A fact is always a verbatim sentence of its block (only runs of
whitespace are collapsed): nothing is rewritten, so a fact can be found word for word in the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import pysbd

from bot.facts.source_page import SourceFact, check_fact

MIN_WORDS = 6
MAX_WORDS = 120
MAX_CHARS = 1500

#: Sentences that are site furniture, not content, whatever page they are on.
BOILERPLATE = re.compile(
    r"\bcookies?\b|\b(?:accept|manage) (?:all|your)? ?(?:preferences|settings)\b|\bsubscribe\b|\bnewsletter\b"
    r"|\bsign (?:up|in)\b|\blog ?in\b|\bshare (?:this|on)\b"
    r"|\ball rights reserved\b|©|\bcopyright\b|\bprivacy (?:policy|notice)\b|\bterms (?:of|and) (?:use|service)\b"
    r"|\bclick here\b|^read more\b|\bcontact us\b|\bbook (?:a|an|your)\b.*\b(?:consultation|appointment|call)\b"
    r"|\bleave a (?:comment|reply)\b|\bcomments?\b.*\b(?:below|closed)\b|\blike this\b|\bdismiss notice\b"
    r"|\bjavascript\b|\byour browser\b|\bthis (?:website|site) (?:uses|does not provide)\b|\bskip to\b"
    r"|\bfollow us\b|\bget in ?touch\b|\bemail (?:this|us)\b|\bcall us\b|\bwe use\b.*\bto improve\b",
    re.IGNORECASE,
)
#: A sentence end pysbd misses: a full stop inside closing quotes ('' or ’), then a capital.
_QUOTED_END = re.compile(r"(?<=[.!?]['’\"”])\s+(?=[A-Z])|(?<=[.!?]'')\s+(?=[A-Z])")
#: A sentence that leans on the one before it ("This is why…", "Often, they…", "In other words, …"):
#: alone, as a fact is shown, it means nothing, so page text never gives such a fact.
_LEANS_BACK = re.compile(
    r"^(?:in other words|that is|put simply|in short|for example|for instance)\b"
    r"|^(?:(?:[A-Z][a-z]+|On the other hand|As a result|In turn|Even so),? )?"
    r"(?:this|that|these|those|it|it's|its|they|they're|their|them|he|she|his|her|such|and|but|or|so)\b",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^(?:[-*•·‣◦▪–—]|\d{1,2}[.)])\s+")
_END = re.compile(r"[.!][\"'”’)\]]*$")

_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "reference",
        re.compile(
            r"\bet al\b|\(\d{4}[a-z]?\)|\bpublished (?:in|by)\b|\bjournal\b|\baccording to\b"
            r"|\b(?:researcher|scientist|neuroscientist|psychiatrist|professor|Dr\.?) [A-Z][a-z]+ [A-Z][a-z-]+"
            r"|\bhas (?:noted|stated|written|argued)\b"
        ),
    ),
    (
        "measurement",
        re.compile(
            r"\b\d+(?:[.,]\d+)?\s*(?:%|percent\b|mg\b|µg\b|mcg\b|kg\b|ml\b|mL\b|hours?\b|minutes?\b|weeks?\b"
            r"|days?\b|months?\b|patients\b|participants\b|subjects\b|people\b|times\b)"
        ),
    ),
    (
        "perspective",
        re.compile(
            r"\b(?:I|we|We) (?:believe|think|propose|argue|suggest|recognize|feel|hope|expect)\b|\bIt is my view\b"
            r"|\bin my (?:view|opinion)\b|\b(?:Our|our) (?:account|view|model|approach|goal)\b|^Here, we\b"
        ),
    ),
    (
        "account",
        re.compile(
            r"\b(?:patients|participants|people|clients|members|subjects)\s+(?:often\s+)?"
            r"(?:report|reported|describe|described|say|said|told)\b|\bin my (?:experience|practice)\b"
            r"|\bone (?:patient|client|participant)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "procedure",
        re.compile(
            r"\b(?:is|are) (?:recommended|administered|given|infused|monitored|done)\b|\bshould\b|\bmust\b"
            r"|\bprotocol\b|\bdosing\b|\bdose of\b|\bat our (?:clinic|practice)\b|\beach (?:session|infusion)\b",
            re.IGNORECASE,
        ),
    ),
)


@dataclass(frozen=True)
class Block:
    """A paragraph, list item or quote of the main text, in order, under its section name."""

    text: str
    section: str = "Text"


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def squash(text: str) -> str:
    """Runs of whitespace as one space: the only change a fact's text ever gets."""
    return " ".join(text.split())


def strip_bullet(text: str) -> str:
    return _BULLET.sub("", text, count=1)


def sentences(text: str) -> list[str]:
    """The sentences of one block, verbatim (whitespace collapsed)."""
    text = squash(text)
    if not text:
        return []
    parts = [piece for part in _segmenter().segment(text) for piece in _QUOTED_END.split(squash(part))]
    return [s for s in (squash(part) for part in parts) if s]


def rejection(sentence: str) -> str | None:
    """Why a sentence is not a fact (None when it is one)."""
    words = sentence.split()
    if len(words) < MIN_WORDS:
        return "too short"
    if len(words) > MAX_WORDS or len(sentence) > MAX_CHARS:
        return "too long"
    if check_fact(sentence):
        return "does not start like a sentence"
    if not _END.search(sentence):
        return "not a full sentence (a heading, a question or a fragment)"
    if BOILERPLATE.search(sentence):
        return "site furniture"
    letters = [c for c in sentence if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) > 0.6 * len(letters):
        return "shouted (a banner or a heading)"
    return None


def fact_type(sentence: str) -> str:
    return next((kind for kind, pattern in _TYPES if pattern.search(sentence)), "claim")


def dedupe_key(sentence: str) -> str:
    return re.sub(r"[^\w]+", " ", sentence.casefold()).strip()


def leans_back(sentence: str) -> bool:
    return bool(_LEANS_BACK.match(sentence))


#: Sections kept whole, in order: a paper's own summary and abstract are its text, shown as such.
WHOLE_SECTIONS = ("Summary", "Abstract")


def facts_of(blocks: Iterable[Block]) -> Iterator[SourceFact]:
    """Typed, deduplicated facts of the blocks, in order; every one a verbatim sentence of its block."""
    seen: set[str] = set()
    for block in blocks:
        for sentence in sentences(strip_bullet(squash(block.text))):
            key = dedupe_key(sentence)
            if key in seen or rejection(sentence):
                continue
            if block.section not in WHOLE_SECTIONS and leans_back(sentence):
                continue
            if sentence not in squash(block.text):
                continue  # never happens with pysbd (clean=False); a fact must be verbatim, so it is checked
            seen.add(key)
            yield SourceFact(fact_type(sentence), sentence, block.section)
