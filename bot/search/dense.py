"""Semantic retrieval: the similarity of the query's sentence embedding and the facts' (the mean of two
models' cosines, `bot.facts.embedding.similarity`; "cosine" below).

The fact vectors are computed at ingest (`bot.facts.vectors`). A store of up to `MEMORY_VECTORS` facts
holds them all in memory and is searched exactly; a larger one has an HNSW index (usearch, one bit per
dimension) built at ingest and memory-mapped: it proposes candidates by the signs of their vectors, and
they (and any other candidate) are scored by the exact cosine of their stored vectors. The query is
embedded in a worker thread so the event loop never waits on the model.

A fact may also have questions written for it in members' words (`bot.facts.questions`), always held in
memory. When its best question is nearer the query than the fact itself, the fact's similarity is
lifted part of the way towards that question's (`widened`): "will my heart race on it?" is far from
"stimulatory hemodynamic effects" but near "does it make your heart pound?".
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bot.facts import embedding
from bot.facts.store import FactStore
from bot.facts.vector_index import OVERSAMPLE, signs

# A fact's best question lifts its similarity by this share of the amount the question is nearer the
# query (swept 0.3, 0.5, 1 and max(): docs/search.md, "Questions per fact") ...
QUESTION_WEIGHT = 0.5
# ... times (uncovered share of the query) ** this: a question the facts' own words answer keeps its
# order ("ketamine bladder" needs no paraphrase), a lay paraphrase ("does it get your ticker pounding")
# gets the full lift. 1 and 2 were measured too.
QUESTION_UNCOVERED_POWER = 1.5


def widened(cosine: float, asked: float | None, uncovered: float = 1.0) -> float:
    """A fact's similarity to a query, given its own `cosine` and its best question's (`asked`, None when
    it has none), for a query of which the facts' own words leave `uncovered` (0..1) uncovered."""
    if asked is None or asked <= cosine:
        return cosine
    lift: float = QUESTION_WEIGHT * max(uncovered, 0.0) ** QUESTION_UNCOVERED_POWER
    return cosine + lift * (asked - cosine)


@dataclass(frozen=True)
class Semantic:
    """One query's semantic evidence: its vector, the nearest facts as (rowid, own cosine), best first by
    `widened` similarity, and each fact's best question cosine (`asked`, facts that have questions)."""

    vector: npt.NDArray[np.float32]
    near: list[tuple[int, float]]
    rescored: dict[int, float] = field(default_factory=dict)  # every candidate the index proposed, exact
    asked: dict[int, float] = field(default_factory=dict)


class DenseIndex:
    """Exact cosine search over in-memory vectors, or the store's approximate index on large stores."""

    def __init__(self, store: FactStore) -> None:
        self.store = store
        self.rowids = store.vector_rowids
        self.vectors = store.vectors
        self._position = {int(r): i for i, r in enumerate(self.rowids)} if self.rowids is not None else {}
        # Questions grouped by fact, so one `maximum.reduceat` gives each fact its best question.
        owners = store.question_owners
        self._question_order = np.argsort(owners, kind="stable")
        grouped = owners[self._question_order]
        self._group_starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if len(grouped) else grouped
        self._group_owners = grouped[self._group_starts].tolist() if len(grouped) else []

    @property
    def available(self) -> bool:
        return (self.vectors is not None and len(self._position) > 0) or self.store.vector_index is not None

    async def query(self, text: str, k: int) -> Semantic | None:
        """The `k` facts nearest in meaning to `text` (None without vectors or text)."""
        if not self.available or not text.strip():
            return None
        vector = await asyncio.to_thread(embedding.encoder().encode_query, text)
        asked = self._asked(vector)
        if self.vectors is not None and self.rowids is not None:
            sims = embedding.similarity(self.vectors, vector)
            ranked = sims.copy()
            for rowid, cosine in asked.items():
                position = self._position.get(rowid)
                if position is not None:
                    ranked[position] = widened(float(sims[position]), cosine)
            k = min(k, len(ranked))
            best = np.argpartition(-ranked, k - 1)[:k] if k < len(ranked) else np.arange(len(ranked))
            best = best[np.argsort(-ranked[best], kind="stable")]
            return Semantic(vector, [(int(self.rowids[i]), float(sims[i])) for i in best], asked=asked)
        index = self.store.vector_index
        assert index is not None
        found = await asyncio.to_thread(index.search, signs(vector), k * OVERSAMPLE)
        # Facts whose questions are nearest are candidates too: the index knows only the facts' own vectors.
        by_question = sorted(asked, key=lambda rowid: -asked[rowid])[:k]
        stored = await self.store.vectors_of(list({*(int(key) for key in found.keys), *by_question}))
        rescored = {rowid: float(embedding.similarity(v, vector)) for rowid, v in stored.items()}
        nearest = sorted(rescored.items(), key=lambda p: (-widened(p[1], asked.get(p[0])), p[0]))[:k]
        return Semantic(vector, nearest, rescored, asked)

    def _asked(self, vector: npt.NDArray[np.float32]) -> dict[int, float]:
        """Each fact with questions → the cosine of its question nearest the query."""
        if not self._group_owners:
            return {}
        sims = embedding.similarity(self.store.question_vectors, vector)[self._question_order]
        best = np.maximum.reduceat(sims, self._group_starts)
        return dict(zip(self._group_owners, best.tolist(), strict=True))

    async def similarities(self, semantic: Semantic, rowids: Sequence[int]) -> dict[int, float]:
        """Cosine of the query with each of `rowids` (facts without a vector count 0)."""
        out = {**semantic.rescored, **dict(semantic.near)}
        missing = [r for r in rowids if r not in out]
        if not missing:
            return out
        if self.vectors is not None:
            for rowid in missing:
                position = self._position.get(rowid)
                vector = self.vectors[position] if position is not None else None
                out[rowid] = float(embedding.similarity(vector, semantic.vector)) if vector is not None else 0.0
            return out
        stored = await self.store.vectors_of(missing)
        for rowid in missing:
            out[rowid] = float(embedding.similarity(stored[rowid], semantic.vector)) if rowid in stored else 0.0
        return out
