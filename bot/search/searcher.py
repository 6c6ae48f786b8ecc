"""Search: the one module every command uses to find facts for what a person typed.

Pipeline: normalise the text (NFKC, no control characters, bounded length) → words → phrases from
`data/aliases.toml` (longest first) and question intents ("how long" → hours, duration …) → typo
correction of unknown words against the store's vocabulary (rapidfuzz, conservative) → an FTS5
query in which every term is a quoted phrase → BM25 candidates (bounded) → a rerank that rewards
covering the query's distinct ideas, weighted by rarity, and exact phrases.

On a large store the candidate fetch is driven only by the rare terms of the query (a word found in
most facts adds nothing to recall but makes FTS5 walk a huge posting list); common words still
count in the rerank. A query that names a concept ("ketamine", "k", "psilocybin for depression")
is looked up inside that concept's rowid range first, and its facts get a bonus; without ranked
candidates the pool is ordered by a BM25 computed over the pool itself. The rerank reads light
rows; full records are built only for the results returned. Nothing here scans every fact in Python.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import snowballstemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.facts.models import FactRecord
from bot.facts.store import FactStore, RowidRange

MAX_QUERY_CHARS = 300
MAX_QUERY_WORDS = 24
CANDIDATES = 200
# Below this many facts every query is a plain OR over all its terms: exact BM25 is cheap there.
SMALL_STORE = 50_000
# On larger stores a term found in more than this share of facts does not drive the candidate fetch
# (bm25 would count all its documents first: at 2 % that was up to 20 000 per word at 1M facts)...
COMMON_SHARE = 0.005
MIN_COMMON_DOCS = 2000  # never call a term common below this many facts
# ... and fewer candidates are reranked: ranked ones are the rare-term best, unranked ones a sample.
LARGE_CANDIDATES = 100
# A large-store fact from a concept the query names ("ketamine bladder" → the ketamine page) gets
# this much on top of its coverage (0..1). Equal to the bm25 weight in the score, so at equal
# coverage the named concept's page always wins over a bm25 difference (a generated page's shorter
# copy of a sentence, say), while a fact covering clearly more of the query still wins.
CONCEPT_BONUS = 0.15
MAX_SCOPES = 3
BM25_K1, BM25_B, TITLE_WEIGHT = 1.2, 0.75, 0.2  # FTS5's bm25 constants and the title column weight
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
        self._concepts = {phrase_key(name.lower()): span for name, span in store.concept_ranges.items()}
        self._max_concept_words = max((len(tokenize(name)) for name in store.concept_ranges), default=1)

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
        sequences = {id(g): g.stem_sequences() for g in groups}
        docs = await self.store.term_docs({s for seqs in sequences.values() for seq in seqs for s in seq})
        for group in groups:
            group.docs = min(total, sum(min((docs.get(s, 0) for s in seq), default=0) for seq in sequences[id(group)]))
        found = [g for g in groups if g.docs > 0]
        result.unknown = [g.typed for g in groups if g.docs == 0 and g.kind != "intent"]
        if not any(g.kind != "intent" for g in found):
            result.suggestions = self.suggest([g.typed for g in groups if g.kind != "intent"])
            return result
        large = total > SMALL_STORE
        scopes = self.named_concepts(found) if large else []
        candidates, ranked = await self._candidates(found, total, scopes, limit)
        plan = _Plan.of(found, total, tokenize(result.query))
        rows = await self.store.fact_texts([rowid for rowid, _ in candidates])
        matches = [(row, _match(_stems_of(row.text), row.title, plan, count=not ranked)) for row in rows]
        # FTS5's bm25 (global statistics) when rare words drove a ranked fetch; otherwise the pool is
        # in rowid order and gets a relevance order from the same formula over the pool itself.
        ranks = dict(candidates) if ranked else _pool_bm25([(row.rowid, m) for row, m in matches], plan)
        bonus = {r.rowid: CONCEPT_BONUS for r in rows if any(lo <= r.rowid <= hi for lo, hi in scopes)}
        top_bm25 = max((abs(v) for v in ranks.values()), default=1.0) or 1.0
        scored: list[tuple[float, int, float]] = []
        for row, (coverage, phrase_bonus, _, _) in matches:
            if coverage <= 0:
                continue
            score = coverage + 0.15 * (ranks.get(row.rowid, 0.0) / top_bm25) + 0.1 * phrase_bonus
            score += bonus.get(row.rowid, 0.0)
            if row.type == "reference":
                score -= 0.03
            scored.append((round(score, 4), row.rowid, round(coverage, 4)))
        scored.sort(key=lambda h: (-h[0], h[1]))
        best = scored[:limit]
        facts = await self.store.facts_by_rowid([rowid for _, rowid, _ in best])
        result.hits = [Hit(facts[rowid], score, coverage) for score, rowid, coverage in best if rowid in facts]
        if not result.hits:
            result.suggestions = self.suggest([g.typed for g in groups])
        return result

    def concept_range(self, name: str) -> RowidRange | None:
        """The rowid range of the concept called `name` (any case or inflection), if it has one."""
        return self._concepts.get(phrase_key(name))

    def named_concepts(self, groups: Sequence[Group]) -> list[RowidRange]:
        """Rowid ranges of the concepts the query names, most specific first (at most `MAX_SCOPES`).

        A name counts when consecutive query words spell it ("psilocybin for depression" names the
        concept "psilocybin depression" when the store has one, else "psilocybin"), or when a word's
        alias or spelling correction does ("k", "shrooms", "ketmaine"). Stopwords are not in groups,
        so they never break a name.
        """
        words = [g for g in groups if g.kind != "intent"]
        out: list[RowidRange] = []
        i = 0
        while i < len(words) and len(out) < MAX_SCOPES:
            span, size = None, 1
            for size in range(min(self._max_concept_words, len(words) - i), 0, -1):
                span = self._concepts.get(phrase_key(" ".join(g.typed for g in words[i : i + size])))
                if span:
                    break
            if span is None:
                span = next((self._concepts[k] for k in map(phrase_key, words[i].terms) if k in self._concepts), None)
                size = 1
            if span and span not in out:
                out.append(span)
            i += size
        return out

    async def _candidates(
        self, groups: list[Group], total: int, scopes: Sequence[RowidRange], wanted: int
    ) -> tuple[list[tuple[int, float]], bool]:
        """(rowid, bm25) to rerank, and whether FTS5 ranked them (else every bm25 is 0).

        Small stores: exact BM25 over every term.

        Large stores look first inside the concepts the query names (facts of a concept are one
        rowid range): a query that says "ketamine" wants the ketamine page, not the first of the
        400 000 facts that mention the word somewhere. When that finds fewer than `wanted`
        facts, the whole store is searched too.
        """
        if total <= SMALL_STORE:
            expressions = [e for e in (g.expression() for g in groups) if e]
            return await self.store.ranked_candidates(" OR ".join(expressions), CANDIDATES), True
        required = [g for g in groups if g.kind != "intent"]
        common = max(MIN_COMMON_DOCS, int(total * COMMON_SHARE))
        driving = [e for e in (g.expression() for g in required if g.docs <= common) if e]
        found: dict[int, float] = {}
        for span in [*scopes, None]:
            if span is None and scopes and len(found) >= wanted:
                break
            for rowid, rank in await self._fetch(required, driving, span):
                found.setdefault(rowid, rank)
        return list(found.items()), bool(driving)

    async def _fetch(
        self, required: list[Group], driving: list[str], within: RowidRange | None
    ) -> list[tuple[int, float]]:
        """One large-store fetch: the rare terms (`driving`) ranked by FTS5, or, when every term is
        common, an unranked AND of them all.

        A term in more than `COMMON_SHARE` of facts never drives a ranked fetch: FTS5's bm25 counts
        all of its documents first, which costs tens of milliseconds at a million facts.
        """
        if driving:
            return await self.store.ranked_candidates(" OR ".join(driving), LARGE_CANDIDATES, within)
        expressions = [e for e in (g.expression() for g in required) if e]
        rowids = await self.store.unranked_candidates(" AND ".join(expressions), LARGE_CANDIDATES * 2, within)
        if not rowids:
            rarest = min(required, key=lambda g: g.docs).expression() or ""
            rowids = await self.store.unranked_candidates(rarest, LARGE_CANDIDATES * 2, within)
        return [(rowid, 0.0) for rowid in rowids]


def _idf(docs: int, total: int) -> float:
    return math.log(1 + (total - docs + 0.5) / (docs + 0.5))


@dataclass(frozen=True)
class _Plan:
    """The query prepared once per search for the rerank: weighted stem sequences, typed word pairs.

    Building this once (not per candidate) keeps alias terms from being re-tokenised and re-stemmed
    for each of the hundreds of facts a query reranks. Each sequence carries its `needle`: the stem
    itself, or for a phrase the stems joined with spaces around, to look for in the joined text.
    """

    ideas: list[tuple[float, list[tuple[tuple[str, ...], float, str]]]]
    possible: float
    pairs: list[str]

    @classmethod
    def of(cls, groups: Sequence[Group], total: int, typed: Sequence[str]) -> _Plan:
        ideas = [
            (
                g.weight * _idf(g.docs, total),
                [
                    (seq, credit, seq[0] if len(seq) == 1 else f" {' '.join(seq)} ")
                    for seq, credit in g.credited_sequences()
                ],
            )
            for g in groups
        ]
        typed_stems = [stem(w) for w in typed if w not in STOPWORDS]
        pairs = [f" {a} {b} " for a, b in itertools.pairwise(typed_stems)]
        return cls(ideas, sum(w for w, _ in ideas), pairs)


_FTS_TOKEN = re.compile(r"[^\W_]+")


def _stems_of(text: str) -> list[str]:
    """Porter stems of a text as FTS5 tokenises it (one regex pass; `stem` is cached per word)."""
    return list(map(stem, _FTS_TOKEN.findall(text.lower())))


class _Title(NamedTuple):
    stems: frozenset[str]
    counts: Counter[str]
    joined: str
    length: int


@lru_cache(maxsize=20_000)
def _title(title: str) -> _Title:
    """A source title's stems; cached because one source's title comes with each of its facts."""
    stems = _stems_of(title)
    return _Title(frozenset(stems), Counter(stems), " " + " ".join(stems) + " ", len(stems))


class _Match(NamedTuple):
    coverage: float  # share of the query's ideas (weighted by rarity) the fact covers
    phrase_bonus: float  # share of the typed word pairs found as written
    freqs: list[float]  # per idea: occurrences in text + TITLE_WEIGHT × in title (when counted)
    length: int  # stems in text and title (when counted)


def _match(text_stems: Sequence[str], title: str, plan: _Plan, *, count: bool = False) -> _Match:
    """How a fact meets the query; with `count`, also the term frequencies BM25 needs (one pass)."""
    info: _Title | None = None
    stem_set = set(text_stems)
    joined = " " + " ".join(text_stems) + " "
    counts = Counter(text_stems) if count else None
    gained = 0.0
    freqs: list[float] = []
    for weight, sequences in plan.ideas:
        best = freq = 0.0
        for seq, credit, needle in sequences:
            found = needle in stem_set if len(seq) == 1 else needle in joined
            if found:
                best = max(best, credit)
            elif best < 0.5 * credit:  # a title match is worth half, and only if nothing better was found
                info = info or _title(title)
                if all(s in info.stems for s in seq):
                    best = 0.5 * credit
            if counts is not None:
                info = info or _title(title)
                if len(seq) == 1:
                    freq += counts[needle] + TITLE_WEIGHT * info.counts[needle]
                else:
                    freq += (joined.count(needle) if found else 0) + TITLE_WEIGHT * info.joined.count(needle)
        gained += weight * best
        freqs.append(freq)
    phrase_bonus = sum(p in joined for p in plan.pairs) / len(plan.pairs) if plan.pairs else 0.0
    length = len(text_stems) + (info or _title(title)).length if count else 0
    return _Match((gained / plan.possible if plan.possible else 0.0), phrase_bonus, freqs, length)


def _pool_bm25(matches: Sequence[tuple[int, _Match]], plan: _Plan) -> dict[int, float]:
    """Okapi BM25 of each candidate for the query's ideas, as FTS5 scores it (text weight 1, title
    `TITLE_WEIGHT`), computed over just these candidates: FTS5's own bm25 first walks every document
    of every common word, which a large store cannot afford per query.

    The average length is the candidates' own, so scores compare within one search only (all the
    rerank needs). It gives unranked fetches a relevance order instead of file order.
    """
    average = (sum(m.length for _, m in matches) / len(matches) if matches else 0.0) or 1.0
    out = {}
    for rowid, m in matches:
        norm = BM25_K1 * (1 - BM25_B + BM25_B * m.length / average)
        out[rowid] = sum(w * f * (BM25_K1 + 1) / (f + norm) for (w, _), f in zip(plan.ideas, m.freqs, strict=True) if f)
    return out
