"""Search: the one module every command uses to find facts for what a person typed.

Pipeline: normalise the text (NFKC, no control characters, bounded length) → words → phrases from
`data/aliases.toml` (longest first) and question intents ("how long" → hours, duration …) → typo
correction of unknown words against the store's vocabulary (rapidfuzz, conservative) → an FTS5
query in which every term is a quoted phrase → BM25 candidates (bounded) → a rerank that rewards
covering the query's distinct ideas, weighted by rarity, and exact phrases.

On a large store the candidate fetch is driven only by the rare terms of the query (a word found in
most facts adds nothing to recall but makes FTS5 walk a huge posting list); common words still
count in the rerank. Nothing here scans every fact in Python.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.models import FactRecord
from bot.store import FactStore

MAX_QUERY_CHARS = 300
MAX_QUERY_WORDS = 24
CANDIDATES = 200
# Below this many facts every query is a plain OR over all its terms: exact BM25 is cheap there.
SMALL_STORE = 50_000
# On larger stores a term found in more than this share of facts does not drive the candidate fetch.
COMMON_SHARE = 0.02
INTENT_WEIGHT = 0.35
EXPANSION_CREDIT = 0.85

_WORD = re.compile(r"[a-z0-9]+(?:(?:[-'’.,/][a-z0-9]+)(?<![.,]\d{4}))*")
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)\b")
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "could",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "i'd",
        "i'm",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "just",
        "know",
        "let's",
        "like",
        "me",
        "more",
        "most",
        "much",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "tell",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "what's",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "anyone",
        "anybody",
        "someone",
        "something",
        "thing",
        "things",
        "really",
        "actually",
        "info",
        "information",
        "stuff",
        "lot",
        "lots",
        "ok",
        "okay",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "pls",
        "plz",
        "anything",
        "everything",
        "everyone",
        "here",
        "say",
        "says",
        "said",
        "good",
        "great",
        "nice",
        "guys",
    ]
)

_stemmer = snowballstemmer.stemmer("porter")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter stem, the same algorithm as FTS5's `porter` tokenizer, so plans and reranks agree."""
    return str(_stemmer.stemWord(word))


SHORT_KEY = 4


def phrase_key(phrase: str) -> str:
    """A phrase with every word stemmed, so aliases match whatever the inflection."""
    return " ".join(stem(w) for w in tokenize(phrase))


def normalize(text: str) -> str:
    """NFKC (full-width letters become ASCII), no control or format characters, no mentions, bounded."""
    text = unicodedata.normalize("NFKC", text[: MAX_QUERY_CHARS * 4])
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    text = _MENTION.sub(" ", text)
    return " ".join(text.split())[:MAX_QUERY_CHARS]


def tokenize(text: str) -> list[str]:
    """Lower-case words; keeps `k-hole`, `0.5`, `2r,6r-hnk` whole (trailing punctuation dropped)."""
    return _WORD.findall(text.lower().replace("’", "'"))


def fts_tokens(term: str) -> list[str]:
    """How FTS5's unicode61 tokenizer splits a term: alphanumeric runs."""
    return re.findall(r"[^\W_]+", term.lower())


def fts_phrase(term: str) -> str | None:
    """A term as an FTS5 phrase, quoted so no user text is ever read as FTS5 syntax."""
    tokens = fts_tokens(term)
    return '"' + " ".join(tokens).replace('"', '""') + '"' if tokens else None


@dataclass
class Group:
    """One idea of the query: the words typed plus the terms they stand for.

    A fact that contains what was typed (or its spelling correction) covers the idea fully; one that
    only contains an alias expansion covers it at `EXPANSION_CREDIT`, so "k-hole" prefers the paper
    titled "Journey through the K-hole" over facts that merely say "dissociative".
    """

    typed: str
    terms: list[str]
    weight: float = 1.0
    kind: str = "word"  # word | alias | corrected | intent
    docs: int = 0
    literal: int = 1  # how many leading terms are what was typed (full credit)

    def expression(self) -> str | None:
        phrases = list(dict.fromkeys(p for p in (fts_phrase(t) for t in self.terms) if p))
        if not phrases:
            return None
        return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"

    def stem_sequences(self) -> list[tuple[str, ...]]:
        return [tuple(stem(t) for t in fts_tokens(term)) for term in self.terms if fts_tokens(term)]

    def credited_sequences(self) -> list[tuple[tuple[str, ...], float]]:
        return [
            (tuple(stem(t) for t in fts_tokens(term)), 1.0 if i < self.literal else EXPANSION_CREDIT)
            for i, term in enumerate(self.terms)
            if fts_tokens(term)
        ]


@dataclass(frozen=True)
class Hit:
    fact: FactRecord
    score: float
    coverage: float


@dataclass
class SearchResult:
    query: str
    hits: list[Hit] = field(default_factory=list)
    expanded: dict[str, list[str]] = field(default_factory=dict)
    corrected: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    display: list[str] = field(default_factory=list)  # the query as searched, word by word

    @property
    def rewritten(self) -> str | None:
        """The query as searched, when aliases or typo correction changed it ("showing results for …")."""
        if not self.expanded and not self.corrected:
            return None
        return " ".join(self.display)


class Searcher:
    """Search over one open `FactStore`; cheap to build, holds only derived lookup structures."""

    def __init__(self, store: FactStore) -> None:
        self.store = store
        self._phrases = {
            **{k: ("intent", v) for k, v in store.intents.items()},
            **{k: ("alias", v) for k, v in store.aliases.items()},
        }
        # Inflections of a phrase find it too ("wearing off", "eating disorders"); short keys such as
        # abbreviations ("act", "pet", "iv") match only as typed.
        self._stemmed_phrases = {phrase_key(k): k for k in self._phrases if len(k) > SHORT_KEY or " " in k}
        self._max_phrase = max((len(tokenize(k)) for k in self._phrases), default=1)
        self._by_length: dict[int, list[str]] = {}
        for word in store.vocabulary:
            self._by_length.setdefault(len(word), []).append(word)
        self._sorted_vocabulary = sorted(store.vocabulary)
        self._known_stems = {stem(w) for w in store.vocabulary}

    # --- query analysis -------------------------------------------------------------------------

    def analyse(self, query: str) -> tuple[list[Group], SearchResult]:
        text = normalize(query)
        result = SearchResult(query=text)
        words = tokenize(text)[:MAX_QUERY_WORDS]
        groups: list[Group] = []
        i = 0
        while i < len(words):
            matched = False
            for size in range(min(self._max_phrase, len(words) - i), 0, -1):
                typed = " ".join(words[i : i + size])
                phrase = typed if typed in self._phrases else self._stemmed_phrases.get(phrase_key(typed), "")
                if phrase:
                    kind, terms = self._phrases[phrase]
                    if kind == "intent" and all(w in STOPWORDS for w in phrase.split()):
                        # "how long", "is it safe": a soft hint of what the answer contains.
                        groups.append(Group(typed, list(terms), INTENT_WEIGHT, "intent", literal=0))
                        result.display.append(typed)
                    else:
                        groups.append(Group(typed, [typed, *terms], 1.0, "alias"))
                        if kind == "alias":
                            result.expanded[typed] = list(terms)
                            result.display.append(f"{typed} ({', '.join(terms)})")
                        else:
                            result.display.append(typed)
                    i += size
                    matched = True
                    break
            if matched:
                continue
            word = words[i]
            i += 1
            if word in STOPWORDS or len(fts_tokens(word)) == 0:
                result.display.append(word)
                continue
            if word in self.store.vocabulary or not word.isalpha() or len(word) < 5 or stem(word) in self._known_stems:
                groups.append(Group(word, [word]))
                result.display.append(word)
                continue
            correction = self.correct(word)
            if correction is None:
                groups.append(Group(word, [word]))
                result.display.append(word)
                continue
            result.corrected[word] = correction
            alias_terms = self.store.aliases.get(correction, [])
            result.display.append(f"{correction} ({', '.join(alias_terms)})" if alias_terms else correction)
            if alias_terms:
                result.expanded[correction] = list(alias_terms)
            groups.append(Group(word, [correction, *alias_terms], 1.0, "corrected"))
        return groups, result

    def correct(self, word: str, known_stems: set[str] | None = None) -> str | None:
        """The vocabulary word (or alias) a misspelt word most likely meant, or None if unsure.

        Only typo-sized edits count (one edit, or two in words of eight letters or more, a swap of
        neighbours being one edit), so real words the store lacks ("hooked") are not bent into
        unrelated ones ("hood").
        """
        allowed = 1 if len(word) < 8 else 2
        choices = [w for n in range(len(word) - allowed, len(word) + allowed + 1) for w in self._by_length.get(n, ())]
        choices += [a for a in self.store.aliases if abs(len(a) - len(word)) <= allowed and " " not in a]
        found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=allowed, limit=8)
        if not found:
            return None
        if len(word) < 6:  # short words: only a swap of neighbours ("apena" → "apnea"), never a new letter
            found = [f for f in found if sorted(f[0]) == sorted(word)]
            if not found:
                return None
        best = min(f[1] for f in found)
        near = [f[0] for f in found if f[1] == best]
        return max(
            near,
            key=lambda w: (
                w[0] == word[0],
                self.store.vocabulary.get(w, 0) + (10**6 if w in self.store.aliases else 0),
            ),
        )

    def suggest(self, words: Sequence[str], limit: int = 5) -> list[str]:
        """Did-you-mean candidates for words that found nothing: close vocabulary words and aliases."""
        out: list[str] = []
        pool = [w for w in (*self.store.aliases, *self.store.vocabulary) if len(w) >= 3]
        for word in words:
            if len(word) < 3:
                continue
            for choice, _score, _ in process.extract(word, pool, scorer=fuzz.ratio, score_cutoff=70, limit=3):
                if choice != word and choice not in out and choice not in STOPWORDS:
                    out.append(choice)
        return out[:limit]

    def complete_word(self, prefix: str) -> str | None:
        """The most common vocabulary word starting with `prefix` (autocomplete of the word being typed)."""
        lo = bisect.bisect_left(self._sorted_vocabulary, prefix)
        best: tuple[int, str] | None = None
        for word in self._sorted_vocabulary[lo : lo + 200]:
            if not word.startswith(prefix):
                break
            docs = self.store.vocabulary[word]
            if best is None or docs > best[0]:
                best = (docs, word)
        return best[1] if best else None

    # --- retrieval ------------------------------------------------------------------------------

    async def search(self, query: str, limit: int = 25) -> SearchResult:
        groups, result = self.analyse(query)
        if not groups:
            return result
        total = max(self.store.fact_count, 1)
        stems = {s for g in groups for seq in g.stem_sequences() for s in seq}
        docs = await self.store.term_docs(stems)
        for group in groups:
            group.docs = min(
                total, sum(min((docs.get(s, 0) for s in seq), default=0) for seq in group.stem_sequences())
            )
        found = [g for g in groups if g.docs > 0]
        result.unknown = [g.typed for g in groups if g.docs == 0 and g.kind != "intent"]
        if not any(g.kind != "intent" for g in found):
            result.suggestions = self.suggest([g.typed for g in groups if g.kind != "intent"])
            return result
        candidates = await self._candidates(found, total)
        facts = await self.store.facts_by_rowid([rowid for rowid, _ in candidates])
        bm25 = dict(candidates)
        top_bm25 = max((abs(v) for v in bm25.values()), default=1.0) or 1.0
        scored = []
        plan = _Plan.of(found, total, tokenize(result.query))
        for rowid, fact in facts.items():
            coverage, phrase_bonus = _coverage(fact, plan)
            if coverage <= 0:
                continue
            score = coverage + 0.15 * (bm25.get(rowid, 0.0) / top_bm25) + 0.1 * phrase_bonus
            if fact.type == "reference":
                score -= 0.03
            scored.append(Hit(fact, round(score, 4), round(coverage, 4)))
        scored.sort(key=lambda h: (-h.score, h.fact.rowid))
        result.hits = scored[:limit]
        if not result.hits:
            result.suggestions = self.suggest([g.typed for g in groups])
        return result

    async def _candidates(self, groups: list[Group], total: int) -> list[tuple[int, float]]:
        required = [g for g in groups if g.kind != "intent"]
        if total <= SMALL_STORE:
            driving = groups
        else:
            limit = max(2000, int(total * COMMON_SHARE))
            driving = [g for g in required if g.docs <= limit]
            if not driving:
                expressions = [e for e in (g.expression() for g in required) if e]
                rowids = await self.store.unranked_candidates(" AND ".join(expressions), CANDIDATES * 2)
                if not rowids:
                    rarest = min(required, key=lambda g: g.docs).expression() or ""
                    rowids = await self.store.unranked_candidates(rarest, CANDIDATES * 2)
                return [(rowid, 0.0) for rowid in rowids]
        expressions = [e for e in (g.expression() for g in driving) if e]
        return await self.store.ranked_candidates(" OR ".join(expressions), CANDIDATES)


def _idf(docs: int, total: int) -> float:
    return math.log(1 + (total - docs + 0.5) / (docs + 0.5))


@dataclass(frozen=True)
class _Plan:
    """The query prepared once for the rerank: weighted stem sequences and the typed word pairs."""

    ideas: list[tuple[float, list[tuple[tuple[str, ...], float]]]]
    possible: float
    pairs: list[str]

    @classmethod
    def of(cls, groups: Sequence[Group], total: int, typed: Sequence[str]) -> _Plan:
        ideas = [(g.weight * _idf(g.docs, total), g.credited_sequences()) for g in groups]
        typed_stems = [stem(w) for w in typed if w not in STOPWORDS]
        pairs = [f" {a} {b} " for a, b in itertools.pairwise(typed_stems)]
        return cls(ideas, sum(w for w, _ in ideas), pairs)


def _text_stems(text: str) -> list[str]:
    return [stem(w) for w in fts_tokens(text)]


def _coverage(fact: FactRecord, plan: _Plan) -> tuple[float, float]:
    """Share of the query's ideas (weighted by rarity) a fact covers, and a bonus for typed phrases."""
    text_stems = _text_stems(fact.text)
    title_stems = set(_text_stems(fact.source.title))
    stem_set = set(text_stems)
    joined = " " + " ".join(text_stems) + " "
    gained = 0.0
    for weight, sequences in plan.ideas:
        best = 0.0
        for seq, credit in sequences:
            if (len(seq) == 1 and seq[0] in stem_set) or (len(seq) > 1 and f" {' '.join(seq)} " in joined):
                best = max(best, credit)
            elif all(s in title_stems for s in seq):
                best = max(best, 0.5 * credit)
        gained += weight * best
    phrase_bonus = sum(p in joined for p in plan.pairs) / len(plan.pairs) if plan.pairs else 0.0
    return (gained / plan.possible if plan.possible else 0.0), phrase_bonus
