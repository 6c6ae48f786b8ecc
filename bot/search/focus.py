"""Long messages reduced to what they ask: the question sentence(s), the context they lean on, names.

A forum post tells a story around its question ("My mum is 72 … She has high blood pressure. Is that
a problem?"). Searching the whole text lets the story outvote the question, and cutting it at a
word limit drops questions that come last. So a long text is split into sentences; the questions
are kept whole, a question too thin to stand alone ("Is that a problem?") or pointing back ("Is that a
real thing?") keeps the sentence before it, and the rest becomes low-weight context. Words written as
names (capitalised mid-sentence: "Robert Anton Wilson") are collected so typo correction leaves them alone.

Work is bounded for any length: only the first and last `SCAN_CHARS` characters are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.search.spelling import english_rarity
from bot.search.text import STOPWORDS, tokenize

SCAN_CHARS = 3000  # read at most this much from each end of a long text
SHORT_WORDS = 18  # up to this many words a text is searched as it is
FOCUS_WORDS = 45  # at most this many words of questions (and the sentence each leans on)
CONTEXT_WORDS = 60
MAX_QUESTIONS = 3
THIN_QUESTION = 3  # a question with fewer content words than this leans on the sentence before it
# ... and so does one that points back ("Is that a real thing?", "would those help?") with fewer than
# `POINTING_TOPICS` words rare enough in English to name its subject ("ketamine", "approved"; not "real")
POINTERS = frozenset({"that", "this", "those", "these", "that's", "thats"})
POINTING_TOPICS = 2
TOPIC_RARITY = 5.0

_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)")
_ASKS = re.compile(
    r"^(?:what|how|why|when|where|who|whom|whose|which|is|are|am|was|were|does|do|did|can|could|should|"
    r"would|will|shall|may|might|must|has|have|had|any|anyone|anybody|has anyone|i wonder|wondering|"
    r"curious|i'?d like to know|i want to know|i'?m trying to (?:find out|understand)|tell me|"
    r"please|looking for|need to know|does anyone|is there|are there)\b",
    re.IGNORECASE,
)
_ABBREVIATION = re.compile(r"\b[A-Z][A-Z0-9]{1,5}s?\b")
_NAME = re.compile(r"(?<=[a-z,;:)] )([A-Z][a-z]+(?:[-'][A-Za-z]+)?)")


@dataclass(frozen=True)
class Focus:
    """What to search for in a text, and how the rest of it may count."""

    query: str  # the question(s), with the sentence a thin question leans on
    context: str = ""  # the other sentences, to count for little
    names: frozenset[str] = field(default_factory=frozenset)  # lower-cased words written as names
    abbreviations: frozenset[str] = field(default_factory=frozenset)  # lower-cased words written in capitals
    reduced: bool = False  # whether anything was set aside


def sentences(text: str) -> list[str]:
    """Sentences and lines of a text (a full stop in "e.g." or "2.5" does not end one)."""
    protected = re.sub(r"\b(e\.g|i\.e|etc|vs|dr|mr|mrs|ms|approx|al)\.", lambda m: m[0][:-1] + "\x00", text, flags=re.I)
    protected = re.sub(r"(\d)\.(\d)", "\\1\x00\\2", protected)
    found = (s.replace("\x00", ".").strip() for s in _SENTENCE.findall(protected))
    return [s for s in found if s and any(ch.isalnum() for ch in s)]


def is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or bool(_ASKS.match(sentence.strip(" \"'(*-")))


def content_words(text: str) -> list[str]:
    return [w for w in tokenize(text) if w not in STOPWORDS]


def leans_back(question: str) -> bool:
    """Whether a question needs the sentence before it: too few words of its own ("Is that normal?"),
    or it points back to what came before and names little itself ("Is that a real thing, and could
    it be from my old use?")."""
    tokens = tokenize(question)
    words = [w for w in tokens if w not in STOPWORDS]
    if len(words) < THIN_QUESTION:
        return True
    if POINTERS.isdisjoint(tokens):
        return False
    return sum(english_rarity(w) >= TOPIC_RARITY for w in words) < POINTING_TOPICS


def abbreviations_in(text: str) -> frozenset[str]:
    """Words written in capitals ("OCD", "PTSD", "SSRIs"): abbreviations, which name topics."""
    return frozenset(m.lower() for m in _ABBREVIATION.findall(text))


def names_in(text: str) -> frozenset[str]:
    """Words capitalised in the middle of a sentence: names, which are never typos to correct."""
    return frozenset(m.lower() for m in _NAME.findall(text))


def head_and_tail(text: str) -> str:
    """A long text's first and last `SCAN_CHARS` characters (where posts put their questions)."""
    return f"{text[:SCAN_CHARS]}\n{text[-SCAN_CHARS:]}" if len(text) > 2 * SCAN_CHARS else text


def focus(text: str, subject: str = "") -> Focus:
    """The part of `text` that asks something; a short text is kept whole.

    `subject` (a forum post's title) names what the post is about, so it always joins the question:
    under "Infusions while pregnant", "Should I stop until the baby is born?" asks about pregnancy.
    """
    text = head_and_tail(text)
    lead = [subject if subject[-1:] in ".?!" else f"{subject}."] if subject else []
    whole = f"{subject}\n{text}"
    names, capitals = names_in(whole), abbreviations_in(whole)
    parts = sentences(text)
    if len(tokenize(text)) <= SHORT_WORDS or len(parts) <= 1:
        return Focus(" ".join([*lead, text]).strip(), names=names, abbreviations=capitals)
    asked = [i for i, s in enumerate(parts) if is_question(s) and content_words(s)]
    if not asked:  # no question: the sentences that say the most, in order
        ranked = sorted(range(len(parts)), key=lambda i: -len(content_words(parts[i])))
        asked = sorted(ranked[:2])
    asked = asked[-MAX_QUESTIONS:]  # in a long post the last questions are the ones it ends on
    keep: list[int] = []
    for i in asked:
        if i > 0 and leans_back(parts[i]):
            keep.append(i - 1)
        keep.append(i)
    keep = sorted(set(keep))
    query = _first_words(" ".join([*lead, *(parts[i] for i in keep)]), FOCUS_WORDS)
    context = _first_words(" ".join(s for i, s in enumerate(parts) if i not in keep), CONTEXT_WORDS)
    return Focus(query, context, names, capitals, reduced=True)


def _first_words(text: str, limit: int) -> str:
    words = text.split()
    return " ".join(words[:limit])
