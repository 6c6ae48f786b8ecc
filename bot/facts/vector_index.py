"""The approximate vector index of a large store: usearch HNSW over one-bit-per-dimension fact vectors.

Stores above `MEMORY_VECTORS` facts do not hold their vectors in memory; ingest builds this index from
`fact_vectors` (keys are fact rowids) into a file named after the facts it holds (`content_digest`), and
the store memory-maps it read-only. A rebuild with the same facts reuses the file instead of rebuilding.

Each vector is kept as the signs of its 768 dimensions (96 bytes, Hamming distance), so the index of a
million facts is about a third of an int8 one and stays small when mapped. It only proposes candidates:
`OVERSAMPLE` times as many as wanted, which search rescores by the exact cosine of their stored vectors
(binary quantisation with rescoring, docs/search.md).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bot.facts import embedding
from bot.facts.vectors import rowid_chunks

MEMORY_VECTORS = 20_000  # up to this many facts, every vector is held in memory (60 MB) and searched exactly
CHUNK = 20_000
CONNECTIVITY, EXPANSION_ADD, EXPANSION_SEARCH = 16, 64, 64
OVERSAMPLE = 10  # candidates proposed per fact wanted, rescored exactly (recall: docs/search.md)
FORMAT = "b1"  # in the file name: an index of another format is never reused


def signs(vectors: embedding.Vectors) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Vectors as the index holds them: one bit per dimension (positive or not), packed into bytes."""
    return np.packbits(np.atleast_2d(vectors) > 0, axis=1)


def usearch_index() -> Any:
    """usearch's `Index`, loaded after onnxruntime: importing usearch 2.26 first makes the later import
    of onnxruntime 1.28 crash the process (a segmentation fault, seen on Linux x86_64)."""
    import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index


def content_digest(conn: sqlite3.Connection) -> str:
    """What the index holds: every fact's rowid and text, the model and the index format. Named by this,
    the index survives rebuilds that change anything else (an alias, a protocol, the build version)."""
    digest = hashlib.sha256(f"{FORMAT}\n{embedding.MODEL_ID}\n".encode())
    for rows in rowid_chunks(conn, "text", "facts", CHUNK):
        for rowid, text in rows:
            digest.update(f"{rowid}\0{text}\0".encode())
    return digest.hexdigest()[:16]


def index_name(db_path: Path, digest: str) -> str:
    return f"{db_path.stem}.{digest}.{FORMAT}.usearch"


def ensure_index(conn: sqlite3.Connection, db_path: Path) -> str:
    """Build (or reuse) the index file for these facts beside `db_path`; returns its file name."""
    name = index_name(db_path, content_digest(conn))
    target = db_path.with_name(name)
    if target.exists():
        return name
    index = usearch_index()(
        ndim=embedding.DIMENSIONS,
        metric="hamming",
        dtype="b1x8",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )
    for rows in rowid_chunks(conn, "vector", "fact_vectors", CHUNK):
        keys = np.array([r[0] for r in rows], dtype=np.uint64)
        index.add(keys, signs(embedding.from_blobs([r[1] for r in rows])), threads=os.cpu_count() or 1)
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
    return usearch_index().restore(str(path), view=True)
