"""What `ModerationStore` needs from a database engine: one interface, two backends.

`ModerationStore` (bot.moderation.state) holds every query, written once in the SQL both engines
understand, with `?` placeholders and `x IS ?` for "equal, NULL included". An engine runs them:
`bot.moderation.sqlite_state` on a local file (the embedded default), `bot.moderation.postgres_state`
on a PostgreSQL server shared by several bot processes (`STATE_DATABASE_URL`), which rewrites the
placeholders for its driver. Engine-specific work (connecting, migrating, locking, what a deletion
leaves behind) stays in those modules.

A row is the driver's own (`sqlite3.Row`, `asyncpg.Record`): both are read by column name
(`row["guild_id"]`) or position, and `dict(row)` gives the columns by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

#: One result row, read by name or position (`sqlite3.Row` or `asyncpg.Record`).
Row = Any


class Queries(Protocol):
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns how many rows it inserted, changed or deleted."""
        ...

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement and return its rows (a SELECT, or a write with RETURNING)."""
        ...


class Transaction(Queries, Protocol):
    async def serialize(self, key: str) -> None:
        """Until this transaction ends, no other process runs a transaction that serializes on `key`.

        SQLite: nothing to do (a write transaction already holds the database's write lock).
        PostgreSQL: a transaction-scoped advisory lock, e.g. so two processes never give two reports
        of one guild the same number.
        """
        ...


class Engine(Queries, Protocol):
    #: "sqlite" or "postgresql"
    name: str

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction: committed when the block ends, rolled back (and re-raised) on any error."""
        ...

    async def scrub(self) -> None:
        """After deleting rows: leave as little copy of them behind as the engine allows."""
        ...

    async def close(self) -> None: ...
