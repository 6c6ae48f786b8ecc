"""The store's own vocabulary: typo correction against it, did-you-mean, and completing a typed word."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.search.text import STOPWORDS, stem

MIN_TRUNCATION = 5  # shorter prefixes ("anti", "psy") begin too many words to stand for one


class Vocabulary:
    """Words of the facts (with how many facts use each) and the alias phrases, indexed for lookups."""

    def __init__(self, vocabulary: dict[str, int], aliases: dict[str, list[str]]) -> None:
        self.vocabulary = vocabulary
        self.aliases = aliases
        self.by_length: dict[int, list[str]] = {}
        for word in vocabulary:
            self.by_length.setdefault(len(word), []).append(word)
        self.sorted = sorted(vocabulary)
        self.known_stems = {stem(w) for w in vocabulary}

    def correct(self, word: str) -> str | None:
        """The vocabulary word (or alias) a misspelt word most likely meant, or None if unsure.

        Only typo-sized edits count (one edit, or two in words of eight letters or more, a swap of
        neighbours being one edit, the first letter kept), so real words the store lacks ("hooked")
        are not bent into unrelated ones ("hood"). A word the store (or the alias table) already has is not misspelt.
        """
        if word in self.vocabulary:
            return None
        allowed = 1 if len(word) < 8 else 2
        choices = [w for n in range(len(word) - allowed, len(word) + allowed + 1) for w in self.by_length.get(n, ())]
        choices += [a for a in self.aliases if abs(len(a) - len(word)) <= allowed and " " not in a]
        # A typo keeps its first letter; names that differ there are other things ("clonazepam" is no
        # misspelt "lorazepam", nor "arketamine", R-ketamine, a misspelt "s-ketamine").
        choices = [w for w in choices if w[:1] == word[:1]]
        found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=allowed, limit=8)
        if not found:
            return None
        if len(word) < 6:  # short words: only a swap of neighbours ("apena" → "apnea"), never a new letter
            found = [f for f in found if sorted(f[0]) == sorted(word)]
            if not found:
                return None
        best = min(f[1] for f in found)
        near = [f[0] for f in found if f[1] == best]
        return max(near, key=lambda w: self.vocabulary.get(w, 0) + (10**6 if w in self.aliases else 0))

    def suggest(self, words: Sequence[str], limit: int = 5) -> list[str]:
        """Did-you-mean candidates for words that found nothing: close vocabulary words and aliases."""
        out: list[str] = []
        pool = [w for w in (*self.aliases, *self.vocabulary) if len(w) >= 3]
        for word in words:
            if len(word) < 3:
                continue
            for choice, _score, _ in process.extract(word, pool, scorer=fuzz.ratio, score_cutoff=70, limit=3):
                if choice != word and choice not in out and choice not in STOPWORDS:
                    out.append(choice)
        return out[:limit]

    def expand_truncation(self, word: str) -> str | None:
        """The word a clipped spelling stands for ("antidep" → antidepressant, "psychedel" → psychedelic):
        the most common vocabulary word it begins, for words of `MIN_TRUNCATION` letters or more."""
        if len(word) < MIN_TRUNCATION:
            return None
        found = self.complete_word(word)
        return found if found and len(found) > len(word) else None

    def complete_word(self, prefix: str) -> str | None:
        """The most common vocabulary word starting with `prefix` (autocomplete of the word being typed)."""
        lo = bisect.bisect_left(self.sorted, prefix)
        best: tuple[int, str] | None = None
        for word in self.sorted[lo : lo + 200]:
            if not word.startswith(prefix):
                break
            docs = self.vocabulary[word]
            if best is None or docs > best[0]:
                best = (docs, word)
        return best[1] if best else None
