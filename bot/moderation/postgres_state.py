"""Moderator state on a PostgreSQL server (STATE_DATABASE_URL=postgresql://…), through asyncpg.

For several bot processes on several hosts: every process reads and writes the same reports,
settings, audit log, statistics and auto-reply claims, and a write made through one is seen by the
others at once. A small connection pool per process; each write is one transaction. The SQL is
`ModerationStore`'s own, with `?` rewritten to `$1, $2, …` and `x IS ?` to
`x IS NOT DISTINCT FROM $n` (equal, NULL included).

Start-up: the server is retried for `lock_timeout` seconds while it refuses connections or is still
starting (a container starting beside the bot), then an unreachable server, a refused login or a
missing database is one `DatabaseFault` line that names the server (never the password) and what to
do. Migrations (`postgres_NNNN_*.sql`, numbered like SQLite's) run under an advisory lock, so
processes starting together apply each step once; `schema_version` holds the version.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from bot.facts.dbfaults import RUNTIME_BUSY_SECONDS, DatabaseFault
from bot.moderation.engine import Row
from bot.moderation.migrate import MigrationError, latest_version, statements, steps

POOL_SIZE = 4  # connections per bot process
COMMAND_SECONDS = 10.0  # a statement the server does not answer in time fails instead of hanging a command
SCHEMES = ("postgresql", "postgres")
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_RETRY_PAUSE = 0.25
#: The tables rows are deleted from (retention, forget-user): vacuumed afterwards.
_DELETED_FROM = "reports, audit, query_stats, query_askers"


def where(url: str) -> str:
    """The server and database of a URL, for messages and logs: never the password."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: shown as written, it is no secret
        port = ":" + parts.netloc.rsplit(":", 1)[-1]
    return f"postgresql://{user}{parts.hostname or 'localhost'}{port}{parts.path or '/'}"


@functools.lru_cache(maxsize=256)
def translate(sql: str) -> str:
    """SQLite-style placeholders to asyncpg's: `?` → `$n`, `IS ?` → `IS NOT DISTINCT FROM $n` (not in quotes)."""
    pieces = _LITERAL.split(sql)
    literals = _LITERAL.findall(sql)
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    out: list[str] = []
    for index, piece in enumerate(pieces):
        piece = re.sub(r"\bIS\s+\?", "IS NOT DISTINCT FROM ?", piece, flags=re.IGNORECASE)
        out.append(re.sub(r"\?", number, piece))
        if index < len(literals):
            out.append(literals[index])
    return "".join(out)


def _count(status: str) -> int:
    """Rows touched, from a command tag such as `INSERT 0 1`, `UPDATE 3` or `DELETE 0`."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Connection:
    """One pooled connection inside a transaction."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _count(await self._conn.execute(translate(sql), *params))

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._conn.fetch(translate(sql), *params))

    async def serialize(self, key: str) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"factbot:{key}")


class PostgresEngine:
    name = "postgresql"

    def __init__(self, pool: Any, url: str) -> None:
        self._pool = pool
        self.where = where(url)

    @classmethod
    async def open(cls, url: str, lock_timeout: float) -> PostgresEngine:
        """Connect (retrying a server that is starting for `lock_timeout` s) and migrate; `DatabaseFault` if not."""
        if urlsplit(url).scheme not in SCHEMES:
            raise DatabaseFault(
                f"STATE_DATABASE_URL must start with postgresql:// (the only database server supported), "
                f"not {urlsplit(url).scheme or 'nothing'}://; leave it unset to keep the state in STATE_DATABASE_PATH"
            )
        deadline = time.monotonic() + max(0.0, lock_timeout)
        while True:
            wait = max(1.0, deadline - time.monotonic())
            try:
                pool = await asyncpg.create_pool(
                    url,
                    min_size=1,
                    max_size=POOL_SIZE,
                    timeout=wait,
                    command_timeout=COMMAND_SECONDS,
                    server_settings={
                        "application_name": "factbot",
                        # Below Discord's 3 s interaction deadline, like SQLite's busy timeout.
                        "lock_timeout": str(int(RUNTIME_BUSY_SECONDS * 1000)),
                    },
                )
                break
            except (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as exc:
                if time.monotonic() >= deadline:
                    raise _fault(url, exc, after=f" (still after {lock_timeout:g} s)") from None
                await asyncio.sleep(_RETRY_PAUSE)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError, ValueError) as exc:
                raise _fault(url, exc) from None
        try:
            await migrate(pool)
        except BaseException as exc:
            await _close_pool(pool)
            if isinstance(exc, asyncpg.PostgresError | OSError | asyncpg.InterfaceError):
                raise _fault(url, exc) from None
            raise
        return cls(pool, url)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _count(await self._pool.execute(translate(sql), *params))

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._pool.fetch(translate(sql), *params))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Connection]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _Connection(conn)

    async def scrub(self) -> None:
        """Vacuum the tables rows were deleted from, so their space is reclaimed and reused.

        PostgreSQL has no `secure_delete`: the deleted values may stay in unused space of the data files,
        in the server's write-ahead log and in its backups until they are overwritten or expire
        (docs/self-hosting.md says so).
        """
        await self._pool.execute(f"VACUUM {_DELETED_FROM}")

    async def close(self) -> None:
        await _close_pool(self._pool)


async def migrate(pool: Any) -> int:
    """Apply the steps this database lacks, once, even with several processes starting together."""
    todo = steps("postgresql")
    latest = latest_version("postgresql")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('factbot:migrate'))")
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        version = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
        if version > latest:
            raise MigrationError(
                f"the moderator-state database is at schema version {version}, newer than this bot "
                f"(which knows {latest}): run the newer bot, or restore a backup made for this one"
            )
        for number, name, sql in todo:
            if number <= version:
                continue
            for statement in statements(sql):
                try:
                    await conn.execute(statement)
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"migration step {name} failed: {exc}") from exc
        if version < latest:
            await conn.execute("DELETE FROM schema_version")
            await conn.execute("INSERT INTO schema_version(version) VALUES ($1)", latest)
    return latest


def _fault(url: str, exc: BaseException, *, after: str = "") -> DatabaseFault:
    """`moderation state at <server> <problem>: <what to do>; nothing was changed` (no password)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
        problem, remedy = f"refused the login ({text})", "check the user name and password in STATE_DATABASE_URL"
    elif isinstance(exc, asyncpg.InvalidCatalogNameError):
        problem, remedy = "has no such database", "create it (createdb) or correct the database name in the URL"
    elif isinstance(exc, asyncpg.InsufficientPrivilegeError):
        problem, remedy = f"does not let this user create the tables ({text})", "make the user the database owner"
    elif isinstance(exc, OSError | asyncpg.CannotConnectNowError | TimeoutError):
        problem = f"cannot be reached ({text}){after}"
        remedy = "check the host and port in STATE_DATABASE_URL and that the PostgreSQL server is running"
    elif isinstance(exc, ValueError):
        problem, remedy = f"is not a usable URL ({text})", "write it as postgresql://user:password@host:5432/database"
    else:
        problem, remedy = f"cannot be used ({text})", "check the server's log"
    return DatabaseFault(f"moderation state at {where(url)} {problem}: {remedy}; nothing was changed")


async def _close_pool(pool: Any) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout=5)
    except Exception:
        with contextlib.suppress(Exception):
            pool.terminate()
