"""Which words are English: a real word list with frequencies, so typo correction leaves valid words alone.

The list is pyspellchecker's bundled English dictionary (about 160 000 words with counts from a large
corpus, MIT licence), read once per process from the installed package. A word that is English, or
in the store's own vocabulary, or a name, is never "corrected" just because no fact uses it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from lemminflect import getAllLemmas
from spellchecker import WordFrequency


@lru_cache(maxsize=1)
def _frequencies() -> tuple[dict[str, int], int]:
    words = WordFrequency()
    words.load_dictionary(_dictionary_path())
    return dict(words.dictionary), words.total_words


def _dictionary_path() -> str:
    from importlib import resources

    return str(resources.files("spellchecker").joinpath("resources", "en.json.gz"))


_SUFFIXES = ("ly", "ness", "s", "es", "ed", "ing")


def is_english(word: str) -> bool:
    """Whether `word` (lower case) is in the English word list, or a regular inflection of a word in it
    ("recreationally" from "recreational")."""
    counts = _frequencies()[0]
    return word in counts or any(
        word.endswith(suffix) and len(word) - len(suffix) >= 4 and word[: -len(suffix)] in counts
        for suffix in _SUFFIXES
    )


def english_rarity(word: str) -> float:
    """How rare a word is in English, as -log10 of its share (about 2 for "the", 9 for unknown words)."""
    counts, total = _frequencies()
    return -math.log10(max(counts.get(word, 0), 1) / total)


@lru_cache(maxsize=50_000)
def parts_of_speech(word: str) -> frozenset[str]:
    """The parts of speech an English word can be ({"NOUN", "VERB"} for "drive"); empty when unknown.

    From lemminflect's bundled lexicon (MIT), which lists each English word's readings.
    """
    return frozenset(getAllLemmas(word))


@lru_cache(maxsize=50_000)
def lemmas(word: str) -> tuple[str, ...]:
    """`word` and its base forms in every reading ("newborns" → newborn; "hooked" → hooked, hook)."""
    return tuple(dict.fromkeys([word, *(form for forms in getAllLemmas(word).values() for form in forms)]))


@lru_cache(maxsize=50_000)
def noun_lemmas(word: str) -> tuple[str, ...]:
    """The base forms of `word` read as a noun ("problems" → "problem"); empty when it is no noun."""
    return tuple(getAllLemmas(word, upos="NOUN").get("NOUN", ()))


# An abbreviation alias whose key is a word this common in English (−log10 share: "act" 4.0, "pet" 4.9)
# is the abbreviation only when written in capitals; rarer keys ("gad", "meg") are read in any case.
EVERYDAY_ABBREVIATION = 5.5


def everyday_abbreviation(key: str, entry: tuple[str, Sequence[str]]) -> str | None:
    """The capitals an alias key stands for when it is also an everyday English word ("act" → ACT,
    "pet" → PET); None for rare words ("gad", "meg"), intents and plain aliases."""
    kind, terms = entry
    if kind != "alias" or key.upper() not in terms or english_rarity(key) >= EVERYDAY_ABBREVIATION:
        return None
    return key.upper()
