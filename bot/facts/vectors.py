"""Fact vectors as data: computed at ingest, stored in the fact database, cached by content hash.

Embedding is the slow part of a build (about 150–400 facts a second on two cores), so every vector is
kept in a cache file beside the database (`vectors.sqlite3`), keyed by the model and the fact's text:
a rebuild embeds only facts that are new or changed. The cache is derived data; deleting it only costs
time. Writes to it go through a temporary transaction, so a crash never leaves a half-written row.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.facts import embedding

_NO_VECTOR = "NOT EXISTS (SELECT 1 FROM fact_vectors v WHERE v.rowid = f.rowid)"
CHUNK = 2048  # facts read, embedded and written per step (bounded memory at any store size)
Progress = Callable[[int, int], None]
Encode = Callable[[Sequence[str]], embedding.Vectors]


def cache_path(db_path: Path) -> Path:
    return db_path.with_name("vectors.sqlite3")


def text_key(text: str) -> bytes:
    return hashlib.sha256(f"{embedding.MODEL_ID}\n{text}".encode()).digest()[:16]


def open_cache(path: Path | None) -> sqlite3.Connection:
    conn = sqlite3.connect(path if path is not None else ":memory:", timeout=10)
    conn.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID")
    return conn


def rowid_chunks(
    conn: sqlite3.Connection, column: str, table: str, size: int = CHUNK, where: str = ""
) -> Iterator[list[Any]]:
    """(rowid, column) of every row of `table` (that meets `where`, an SQL condition), `size` at a time
    in rowid order (bounded memory)."""
    condition = f" AND ({where})" if where else ""
    last = 0
    while True:
        rows = conn.execute(
            f"SELECT rowid, {column} FROM {table} WHERE rowid > ?{condition} ORDER BY rowid LIMIT ?", (last, size)
        ).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def reuse_previous(conn: sqlite3.Connection, previous: Path | None) -> int:
    """Copy the vectors of facts unchanged in place (same rowid, same text) from the database this build
    replaces: one merge join inside SQLite instead of a million cache lookups by hash (a rebuild of
    unchanged data at 1M facts: BENCHMARKS.md). Returns how many were copied (0 when there is none, or it
    was built by another model or schema)."""
    if previous is None or not previous.exists():
        return 0
    try:
        conn.execute("ATTACH DATABASE ? AS previous", (str(previous),))
    except sqlite3.Error:
        return 0
    try:
        model = conn.execute("SELECT value FROM previous.meta WHERE key = 'embedding_model'").fetchone()
        if model is None or model[0] != embedding.MODEL_ID:
            return 0
        return conn.execute(
            "INSERT INTO fact_vectors(rowid, vector) SELECT f.rowid, v.vector FROM facts f "
            "JOIN previous.facts p ON p.rowid = f.rowid JOIN previous.fact_vectors v ON v.rowid = f.rowid "
            "WHERE p.text = f.text"
        ).rowcount
    except sqlite3.Error:
        return 0
    finally:
        conn.commit()
        conn.execute("DETACH DATABASE previous")


def insert_vectors(
    conn: sqlite3.Connection,
    cache: sqlite3.Connection,
    encode: Encode | None = None,
    progress: Progress | None = None,
    previous: Path | None = None,
) -> tuple[int, int]:
    """Fill `fact_vectors` for every fact; returns (embedded now, reused from `previous` or the cache)."""
    encode = encode or embedding.encoder().encode
    total = conn.execute("SELECT count(*) FROM facts").fetchone()[0]
    embedded = 0
    cached = done = reuse_previous(conn, previous)
    if progress and done:
        progress(done, total)
    # facts the previous database did not provide
    for rows in rowid_chunks(conn, "text", "facts f", where=_NO_VECTOR):
        blobs, fresh = cached_vectors(cache, [text for _, text in rows], encode)
        conn.executemany(
            "INSERT INTO fact_vectors(rowid, vector) VALUES (?, ?)",
            [(rowid, blob) for (rowid, _), blob in zip(rows, blobs, strict=True)],
        )
        embedded += fresh
        cached += len(rows) - fresh
        done += len(rows)
        if progress:
            progress(done, total)
    return embedded, cached


def cached_vectors(cache: sqlite3.Connection, texts: Sequence[str], encode: Encode) -> tuple[list[bytes], int]:
    """The vector of each text (as stored), from the cache or embedded now and added to it; and how
    many were embedded now."""
    keys = [text_key(text) for text in texts]
    known = dict(_lookup(cache, keys))
    missing = [i for i, k in enumerate(keys) if k not in known]
    if missing:
        vectors = encode([texts[i] for i in missing])
        fresh = {keys[i]: embedding.to_blob(vectors[n]) for n, i in enumerate(missing)}
        with cache:
            cache.executemany("INSERT OR REPLACE INTO vectors(key, vector) VALUES (?, ?)", fresh.items())
        known.update(fresh)
    return [known[k] for k in keys], len(missing)


def _lookup(cache: sqlite3.Connection, keys: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        yield from cache.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)


def print_progress(label: str = "embedding") -> Progress:
    """A progress callback that prints at most every 5 seconds (slow first builds show they are alive)."""
    last = [time.monotonic()]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 5 or done == total:
            last[0] = now
            print(f"  {label}: {done}/{total} facts", flush=True)

    return report
