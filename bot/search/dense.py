"""Semantic retrieval: the similarity of the query's sentence embedding and the facts' (the mean of two
models' cosines, `bot.facts.embedding.similarity`; "cosine" below).

The fact vectors are computed at ingest (`bot.facts.vectors`). A store of up to `MEMORY_VECTORS` facts
holds them all in memory and is searched exactly; a larger one has an HNSW index (usearch, one bit per
dimension) built at ingest and memory-mapped: it proposes candidates by the signs of their vectors, and
they (and any other candidate) are scored by the exact cosine of their stored vectors. The query is
embedded in a worker thread so the event loop never waits on the model.
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


@dataclass(frozen=True)
class Semantic:
    """One query's semantic evidence: its vector and the nearest facts as (rowid, cosine), best first."""

    vector: npt.NDArray[np.float32]
    near: list[tuple[int, float]]
    rescored: dict[int, float] = field(default_factory=dict)  # every candidate the index proposed, exact


class DenseIndex:
    """Exact cosine search over in-memory vectors, or the store's approximate index on large stores."""

    def __init__(self, store: FactStore) -> None:
        self.store = store
        self.rowids = store.vector_rowids
        self.vectors = store.vectors
        self._position = {int(r): i for i, r in enumerate(self.rowids)} if self.rowids is not None else {}

    @property
    def available(self) -> bool:
        return (self.vectors is not None and len(self._position) > 0) or self.store.vector_index is not None

    async def query(self, text: str, k: int) -> Semantic | None:
        """The `k` facts nearest in meaning to `text` (None without vectors or text)."""
        if not self.available or not text.strip():
            return None
        vector = await asyncio.to_thread(embedding.encoder().encode_query, text)
        if self.vectors is not None and self.rowids is not None:
            sims = embedding.similarity(self.vectors, vector)
            k = min(k, len(sims))
            best = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
            best = best[np.argsort(-sims[best], kind="stable")]
            return Semantic(vector, [(int(self.rowids[i]), float(sims[i])) for i in best])
        index = self.store.vector_index
        assert index is not None
        found = await asyncio.to_thread(index.search, signs(vector), k * OVERSAMPLE)
        stored = await self.store.vectors_of([int(key) for key in found.keys])
        rescored = {rowid: float(embedding.similarity(v, vector)) for rowid, v in stored.items()}
        nearest = sorted(rescored.items(), key=lambda p: (-p[1], p[0]))[:k]
        return Semantic(vector, nearest, rescored)

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
