"""Stand-in fact vectors for generated corpora, and the real model's embedding throughput.

Embedding a million generated facts with the real model takes hours on two cores (the rate is measured
here and reported), so the cost benchmark gives generated facts deterministic pseudo-random unit vectors:
the index build, its size, the memory and every query's cost are real; the query itself is embedded by the
real model; only the ranking quality of generated facts is meaningless (quality is judged on the real page).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

import numpy as np

from bot.facts import embedding


def synthetic_encode(texts: Sequence[str]) -> embedding.Vectors:
    out = np.empty((len(texts), embedding.DIMENSIONS), dtype=np.float32)
    for i, text in enumerate(texts):
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        out[i] = np.random.default_rng(seed).standard_normal(embedding.DIMENSIONS, dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def real_throughput(texts: Sequence[str]) -> float:
    """Facts per second the real model embeds (after loading it), on `texts`."""
    encoder = embedding.encoder()
    encoder.encode(list(texts[:8]))
    started = time.perf_counter()
    encoder.encode(list(texts))
    return round(len(texts) / (time.perf_counter() - started), 1)
