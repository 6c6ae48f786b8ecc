"""Moderator state in a local SQLite file (STATE_DATABASE_PATH), the embedded default engine.

One aiosqlite connection, opened through `bot.facts.dbfaults.open_connection` (a damaged, locked or
unwritable file is one clear `DatabaseFault` line), in WAL mode with `secure_delete`, migrated with
`bot.moderation.migrate`. A write transaction is `BEGIN IMMEDIATE` … `COMMIT`, one at a time per
process (an asyncio lock: coroutines sharing the connection never interleave their statements),
and SQLite's write lock with a busy timeout queues them against other processes on the same host.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from bot.facts.dbfaults import open_connection
from bot.moderation.engine import Row
from bot.moderation.migrate import migrate


class SqliteEngine:
    name = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, lock_timeout: float) -> SqliteEngine:
        """Open, create or migrate the file; damaged, locked (past `lock_timeout` s) or unwritable: `DatabaseFault`."""
        return cls(await open_connection(path, what="moderation state", prepare=_prepare, lock_timeout=lock_timeout))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(sql, tuple(params))
        return cursor.rowcount

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._conn.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def serialize(self, key: str) -> None:
        """Nothing to do: `BEGIN IMMEDIATE` already holds the whole database's write lock."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteEngine]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
                await self._conn.commit()
            except BaseException:
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error, ValueError):
                        await self._conn.rollback()
                raise

    async def scrub(self) -> None:
        """Fold the WAL into the database file and empty it, so no copy of deleted rows stays behind
        (`secure_delete` has already overwritten them in the file itself)."""
        await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        await self._conn.close()


async def _prepare(conn: aiosqlite.Connection) -> None:
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA secure_delete = ON")  # deleted rows are overwritten, not left in free pages
    await migrate(conn)
