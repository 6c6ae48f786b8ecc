"""The approximate vector index of a large store: usearch HNSW over int8-quantised fact vectors.

Stores above `MEMORY_VECTORS` facts do not hold their vectors in memory; ingest builds this index from
`fact_vectors` (keys are fact rowids) into a file named after the data hash, and the store memory-maps it
read-only. A rebuild of unchanged data has the same hash, so it reuses the file instead of rebuilding.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bot.facts import embedding
from bot.facts.vectors import rowid_chunks

MEMORY_VECTORS = 20_000  # up to this many facts, every vector is held in memory (30 MB) and searched exactly
CHUNK = 20_000
CONNECTIVITY, EXPANSION_ADD, EXPANSION_SEARCH = 16, 64, 64


def index_name(db_path: Path, digest: str) -> str:
    return f"{db_path.stem}.{digest}.usearch"


def ensure_index(conn: sqlite3.Connection, db_path: Path, digest: str) -> str:
    """Build (or reuse) the index file for this data hash beside `db_path`; returns its file name."""
    from usearch.index import Index

    name = index_name(db_path, digest)
    target = db_path.with_name(name)
    if target.exists():
        return name
    index = Index(
        ndim=embedding.DIMENSIONS,
        metric="cos",
        dtype="i8",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )
    for rows in rowid_chunks(conn, "vector", "fact_vectors", CHUNK):
        keys = np.array([r[0] for r in rows], dtype=np.uint64)
        index.add(keys, embedding.from_blobs([r[1] for r in rows]), threads=os.cpu_count() or 1)
    handle, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=db_path.parent)
    os.close(handle)
    try:
        index.save(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return name


def remove_stale(db_path: Path, keep: str | None) -> None:
    """Delete index files of earlier builds (a running process keeps its mapping until it reopens)."""
    for path in db_path.parent.glob(f"{db_path.stem}.*.usearch"):
        if path.name != keep:
            path.unlink(missing_ok=True)


def open_view(path: Path) -> Any:
    """The index, memory-mapped read-only (pages are read on demand: small resident memory)."""
    from usearch.index import Index

    return Index.restore(str(path), view=True)
