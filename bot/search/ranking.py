"""Ranking: how well one fact covers the query's ideas, weighted by rarity, plus BM25 over a pool.

A query is prepared once (`Plan`) and matched against each candidate's stems (`match`); the result
feeds the score in `bot.search.searcher`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from bot.search.spelling import english_rarity
from bot.search.text import STOPWORDS, fts_phrase, fts_tokens, stem, stems_of

BM25_K1, BM25_B, TITLE_WEIGHT = 1.2, 0.75, 0.2  # FTS5's bm25 constants and the title column weight
EXPANSION_CREDIT = 0.85
SPECIFICITY_FLOOR = 0.3


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
    kind: str = "word"  # word | alias | corrected | intent | related (a topic next to the store's) | context
    docs: int = 0
    literal: int = 1  # how many leading terms are what was typed (full credit)
    related: int = 0  # how many trailing terms are WordNet relatives (`bot.search.lexicon`)...
    related_credit: float = EXPANSION_CREDIT  # ... and what a fact that has only one of them gets
    own_docs: int = 0  # facts with the idea in its own words or aliases, relatives not counted
    # An abbreviation that is also an English word, typed in capitals ("ACT", "PET"): its own spelling
    # counts only where a fact writes it in capitals too, not in "act as" or "pet owners".
    cased: str | None = None

    def expression(self) -> str | None:
        phrases = list(dict.fromkeys(p for p in (fts_phrase(t) for t in self.terms) if p))
        if not phrases:
            return None
        return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"

    def stem_sequences(self, *, own: bool = False) -> list[tuple[str, ...]]:
        """The terms as stem sequences; `own` leaves out the WordNet relatives."""
        terms = self.terms[: len(self.terms) - self.related] if own else self.terms
        return [tuple(stem(t) for t in fts_tokens(term)) for term in terms if fts_tokens(term)]

    def credit(self, position: int) -> float:
        if position < self.literal:
            return 1.0
        return self.related_credit if position >= len(self.terms) - self.related else EXPANSION_CREDIT

    def credited_sequences(self) -> list[tuple[tuple[str, ...], float, bool, str | None]]:
        """(stems, credit, whether it is a WordNet relative, the capitals a fact must write) per term."""
        first_related = len(self.terms) - self.related
        cased = self.cased
        return [
            (
                tuple(stem(t) for t in fts_tokens(term)),
                self.credit(i),
                i >= first_related,
                cased if cased and term.upper() == cased else None,
            )
            for i, term in enumerate(self.terms)
            if fts_tokens(term)
        ]


PHRASAL_VERB_WEIGHT = 0.3  # "wound" in "get way too wound up": the phrase, not the word, says what is asked
# "lsd vs ketamine": the marker says a comparison is asked, the things compared say what about. At a
# word's full weight the store's rare "versus" outweighed one of them: a fact on psilocybin and
# ketamine ("compared", no LSD) outranked facts naming both LSD and ketamine.
COMPARISON_MARKERS = frozenset({"vs", "vs.", "versus"})
COMPARISON_WEIGHT = 0.3


def quiet_words(groups: Sequence[Group], verbs: frozenset[str]) -> None:
    """Words that say how something is asked, not what, weigh a fraction of a word. Words a particle
    makes verbs ("wound up", "mess up") keep their own meaning only (no WordNet relatives: "wound" →
    injury, influence); comparison markers keep their terms ("compared", "versus")."""
    for group in groups:
        if group.kind == "word" and group.typed in verbs:
            group.terms, group.related = group.terms[: len(group.terms) - group.related], 0
            group.weight *= PHRASAL_VERB_WEIGHT
        elif group.typed in COMPARISON_MARKERS:
            group.weight *= COMPARISON_WEIGHT


def idf(docs: int, total: int) -> float:
    return math.log(1 + (total - docs + 0.5) / (docs + 0.5))


@dataclass(frozen=True)
class Plan:
    """The query prepared once per search for the rerank: weighted stem sequences, typed word pairs.

    Building this once (not per candidate) keeps alias terms from being re-tokenised and re-stemmed
    for each of the hundreds of facts a query reranks. Each sequence carries its `needle`: the stem
    itself, or for a phrase the stems joined with spaces around, to look for in the joined text.
    """

    ideas: list[tuple[float, list[tuple[tuple[str, ...], float, str, bool, str | None]]]]
    possible: float
    pairs: list[str]

    @classmethod
    def of(cls, groups: Sequence[Group], total: int, typed: Sequence[str]) -> Plan:
        ideas = [
            (
                idea_weight(g, total),
                [
                    (seq, credit, seq[0] if len(seq) == 1 else f" {' '.join(seq)} ", related, cased)
                    for seq, credit, related, cased in g.credited_sequences()
                ],
            )
            for g in groups
        ]
        # Consecutive words as typed, a stopword between them kept ("music during treatment"); pairs
        # of two stopwords ("is it") say nothing.
        kept = [(w, " ".join(map(stem, tokens))) for w in typed if (tokens := fts_tokens(w))]
        pairs = [
            f" {a} {b} "
            for (typed_a, a), (typed_b, b) in itertools.pairwise(kept)
            if not (typed_a in STOPWORDS and typed_b in STOPWORDS)
        ]
        # Context (the story around a question) can add to a fact's score but is not part of what the
        # question asks, so it is left out of the total a fact must cover.
        possible = sum(w for (w, _), g in zip(ideas, groups, strict=True) if g.kind != "context")
        return cls(ideas, possible or sum(w for w, _ in ideas), pairs)


def idea_weight(group: Group, total: int) -> float:
    """What an idea counts for in coverage: its weight, its rarity in the store and in English."""
    return group.weight * idf(group.docs, total) * specificity(group)


def known_share(groups: Sequence[Group], total: int) -> float:
    """The share of a question's ideas, weighted as in `Plan`, that the store has any word for.

    Coverage is counted over the ideas the store knows, so "could it help someone who's terrified of
    putting on pounds and won't eat?" looked fully covered by a fact holding "help" and "put" (from
    "putative"), and its meaning, which finds the fact on anorexia, barely counted. Words the store has
    never seen ("terrified", "pounds") are what a lay question is made of: they count as uncovered.
    """
    ideas = [g for g in groups if g.kind not in ("intent", "context") and (g.docs > 0 or g.typed.isalpha())]
    every = sum(idea_weight(g, total) for g in ideas)
    known = sum(idea_weight(g, total) for g in ideas if g.docs > 0)
    return known / every if every else 1.0


def specificity(group: Group) -> float:
    """How much a typed word can say about a topic: common English words ("people", "help") count for
    less than rare ones ("starve", "bladder"), whatever their rarity in the store; aliases and
    corrected words name a topic by construction."""
    if group.kind != "word" or " " in group.typed:
        return 1.0
    return min(1.0, max(SPECIFICITY_FLOOR, (english_rarity(group.typed) - 2.0) / 3.0))


_CAPITALS = re.compile(r"\b[A-Z][A-Z0-9]+(?=s?\b)")


class _Title(NamedTuple):
    stems: frozenset[str]
    counts: Counter[str]
    joined: str
    length: int


@lru_cache(maxsize=20_000)
def _title(title: str) -> _Title:
    """A source title's stems; cached because one source's title comes with each of its facts."""
    stems = stems_of(title)
    return _Title(frozenset(stems), Counter(stems), " " + " ".join(stems) + " ", len(stems))


class Match(NamedTuple):
    coverage: float  # share of the query's ideas (weighted by rarity) the fact covers
    phrase_bonus: float  # share of the typed word pairs found as written
    freqs: list[float]  # per idea: occurrences in text + TITLE_WEIGHT × in title (when counted)
    length: int  # stems in text and title (when counted)
    own_coverage: float = 0.0  # the same, by the query's own words and aliases (no WordNet relatives)


def match(text_stems: Sequence[str], title: str, plan: Plan, *, count: bool = False, text: str = "") -> Match:
    """How a fact meets the query; with `count`, also the term frequencies BM25 needs (one pass).
    `text` (the fact as written) is read only for abbreviations that must appear in capitals."""
    info: _Title | None = None
    capitals: frozenset[str] | None = None
    stem_set = set(text_stems)
    joined = " " + " ".join(text_stems) + " "
    counts = Counter(text_stems) if count else None
    gained = own_gained = 0.0
    freqs: list[float] = []
    for weight, sequences in plan.ideas:
        best = own = freq = 0.0
        for seq, credit, needle, related, cased in sequences:
            found = needle in stem_set if len(seq) == 1 else needle in joined
            if found and cased:
                capitals = capitals if capitals is not None else frozenset(_CAPITALS.findall(text))
                found = cased in capitals
            if found:
                best = max(best, credit)
                own = own if related else max(own, credit)
            elif best < 0.5 * credit and not cased:  # a title match is worth half, if nothing better was found
                info = info or _title(title)
                if all(s in info.stems for s in seq):
                    best = 0.5 * credit
                    own = own if related else max(own, best)
            if counts is not None:
                info = info or _title(title)
                if len(seq) == 1:
                    freq += counts[needle] + TITLE_WEIGHT * info.counts[needle]
                else:
                    freq += (joined.count(needle) if found else 0) + TITLE_WEIGHT * info.joined.count(needle)
        gained += weight * best
        own_gained += weight * own
        freqs.append(freq)
    phrase_bonus = sum(p in joined for p in plan.pairs) / len(plan.pairs) if plan.pairs else 0.0
    length = len(text_stems) + (info or _title(title)).length if count else 0
    possible = plan.possible or float("inf")
    return Match(min(1.0, gained / possible), phrase_bonus, freqs, length, min(1.0, own_gained / possible))


def pool_bm25(matches: Sequence[tuple[int, Match]], plan: Plan) -> dict[int, float]:
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
