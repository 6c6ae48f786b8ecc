"""Relatives of a word in WordNet, so a question in everyday words reaches facts in clinical ones.

Aliases (`data/aliases.toml`) reach the words someone thought of; members use the rest ("will I get
hooked" → addicted, "more shuteye" → sleep, "newborns" → neonate, "stubborn low mood" → refractory).
The table (`bot/search/wordnet/relatives.tsv.gz`, built from WordNet 3.1 by `tools/wordnet_lexicon.py`;
licence and provenance beside it) gives each English word the synonyms, hypernyms and similar
adjectives of its two most frequent senses. Search keeps only relatives the fact store uses, and they
count for less than the word itself (`bot.search.searcher`).
"""

from __future__ import annotations

import gzip
from collections.abc import Collection
from functools import lru_cache
from importlib import resources

from bot.search.spelling import lemmas
from bot.search.text import STOPWORDS, fts_tokens, stem

TABLE = "relatives.tsv.gz"
NON_TOPICS = "non_topics.txt"
TAGGED_USES = "tagged_uses.tsv"
SYNONYMS = "synonyms.tsv.gz"
PERTAINYMS = "pertainyms.tsv"


@lru_cache(maxsize=2)
def _read(name: str) -> dict[str, str]:
    """word → its terms joined by "|" (split on lookup: a whole table stays about 20 MB)."""
    raw = resources.files("bot.search").joinpath("wordnet", name).read_bytes()
    rows = gzip.decompress(raw).decode("utf-8").splitlines()
    return dict(row.split("\t", 1) for row in rows if "\t" in row)


def _table() -> dict[str, str]:
    return _read(TABLE)


def synonyms(word: str) -> list[str]:
    """The words of the same WordNet senses as `word` in any inflection ("program" → programme, plan;
    "remedy" → cure, curative): the same idea in other words, never a broader one (`synonyms.tsv.gz`)."""
    table = _read(SYNONYMS)
    found = [term for form in lemmas(word) if form in table for term in table[form].split("|")]
    return [t for t in dict.fromkeys(found) if t != word]


def relatives(word: str, before: str | None = None) -> list[str]:
    """WordNet relatives of `word` in any inflection ("newborns" → neonate, baby …), best sense first;
    with `before`, those of the two-word phrase it ends ("street drugs" → drug of abuse) come first."""
    table = _table()
    forms = lemmas(word)
    keys = [*(f"{before} {form}" for form in forms), *forms] if before else list(forms)
    found = [term for key in keys if key in table for term in table[key].split("|")]
    return [t for t in dict.fromkeys(found) if t != word]


def relatives_used(word: str, before: str | None, known_stems: Collection[str]) -> list[str]:
    """The relatives of `word` (or of `before word`) whose every word the store uses (`known_stems`) and
    which say more than the word's own stem ("sleeping" → sleep says nothing new)."""
    own = [stem(word)]

    def used(term: str) -> bool:
        tokens = fts_tokens(term)
        stems = [stem(t) for t in tokens]
        return (
            bool(tokens)
            and not all(t in STOPWORDS for t in tokens)
            and stems != own
            and all(s in known_stems for s in stems)
        )

    return [term for term in relatives(word, before) if used(term)]


def is_compound(first: str, second: str) -> bool:
    """Whether WordNet has `first second` as one term, the second word in any inflection
    ("obsessive-compulsive disorders", "emergency room"): a named thing, not a word and its modifier."""
    table = _table()
    return any(f"{first} {form}" in table for form in lemmas(second))


@lru_cache(maxsize=1)
def _non_topics() -> frozenset[str]:
    return frozenset(resources.files("bot.search").joinpath("wordnet", NON_TOPICS).read_text("utf-8").split())


def is_non_topic(noun: str) -> bool:
    """Whether a noun's most frequent sense is a person, group, time, relation, natural object or piece
    of communication ("folks", "nurse", "nighttime", "leftover", "tune", "version"): named in questions,
    never what the store lacks."""
    return noun in _non_topics()


@lru_cache(maxsize=1)
def _tagged_uses() -> dict[str, tuple[int, int]]:
    rows = resources.files("bot.search").joinpath("wordnet", TAGGED_USES).read_text("utf-8").splitlines()
    return {word: (int(noun), int(verb)) for word, noun, verb in (row.split("\t") for row in rows)}


def mostly_a_verb(word: str) -> bool:
    """Whether English uses `word` more as a verb than as a noun, in any of its base forms (WordNet's
    sense-tagged corpus: "lift" 54 verb uses to 1, "chewing": chew 10 to 0; "skin" 0 to 19): a question's
    action ("can it lift the lows", "the mind chewing on the same stuff"), not the topic it asks about."""
    uses = _tagged_uses()
    counts = [uses.get(form, (0, 0)) for form in lemmas(word)]
    return max((verb for _, verb in counts), default=0) > max((noun for noun, _ in counts), default=0)


@lru_cache(maxsize=1)
def _pertainyms() -> dict[str, str]:
    rows = resources.files("bot.search").joinpath("wordnet", PERTAINYMS).read_text("utf-8").splitlines()
    return dict(row.split("\t", 1) for row in rows if "\t" in row)


def pertains_to(adjective: str) -> str | None:
    """The noun an adjective's first WordNet sense pertains to ("renal" → kidney, "hepatic" → liver)."""
    return _pertainyms().get(adjective)


def warm_up() -> None:
    """Read the tables now (about 0.4 s) rather than during the first search."""
    _table()
    _read(SYNONYMS)
    _pertainyms()
    _non_topics()
    _tagged_uses()
