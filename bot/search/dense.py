"""Semantic retrieval: cosine similarity between the query's sentence embedding and every fact's.

The fact vectors are computed at ingest (`bot.facts.vectors`) and held by the open store; the query
is embedded here, in a worker thread so the event loop never waits on the model. On a store that
keeps no vectors in memory this answers nothing and search runs on lexical evidence alone.
"""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt

from bot.facts import embedding
from bot.facts.store import FactStore


class DenseIndex:
    """Exact cosine search over the store's in-memory fact vectors."""

    def __init__(self, store: FactStore) -> None:
        self.rowids = store.vector_rowids
        self.vectors = store.vectors
        self._position = {int(r): i for i, r in enumerate(self.rowids)} if self.rowids is not None else {}

    @property
    def available(self) -> bool:
        return self.vectors is not None and len(self._position) > 0

    async def similarities(self, text: str) -> npt.NDArray[np.float32] | None:
        """Cosine of `text` with every fact, in `rowids` order (None without vectors or text)."""
        if not self.available or not text.strip():
            return None
        assert self.vectors is not None
        query = (await asyncio.to_thread(embedding.encoder().encode, [text]))[0]
        sims: npt.NDArray[np.float32] = self.vectors @ query
        return sims

    def top(self, sims: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The `k` most similar facts as (rowid, cosine), best first."""
        assert self.rowids is not None
        k = min(k, len(sims))
        best = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        best = best[np.argsort(-sims[best], kind="stable")]
        return [(int(self.rowids[i]), float(sims[i])) for i in best]

    def of(self, sims: npt.NDArray[np.float32], rowid: int) -> float:
        position = self._position.get(rowid)
        return float(sims[position]) if position is not None else 0.0
