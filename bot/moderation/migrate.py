"""Versioned migrations of the moderator-state database.

Each step is a file of plain SQL beside this module, `state_NNNN_<what>.sql`, numbered 1, 2, 3, …
without gaps and applied once, in order. SQLite's `PRAGMA user_version` holds the number of the last
step applied (0: a database from before versioned migrations, whose tables step 1 creates only if
missing). PostgreSQL keeps the same numbering, so a version means the same schema on both engines:
its own file per step, `postgres_NNNN_<what>.sql`, starting at 2 (the version PostgreSQL support
began with: that step creates the whole schema), and a `schema_version` table in place of
`user_version` (`bot.moderation.postgres_state`). A later step ships as one file per engine.

All missing steps run in one `BEGIN IMMEDIATE` transaction, and the version is read again once the
write lock is held, so two processes starting together apply each step exactly once; a failing step
rolls back to the version before it.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

import aiosqlite

STEP_FILE = re.compile(r"^state_(\d{4})_[a-z0-9_]+\.sql$")
#: Per engine: the pattern of its step files and the number of its first step.
ENGINES = {"sqlite": (STEP_FILE, 1), "postgresql": (re.compile(r"^postgres_(\d{4})_[a-z0-9_]+\.sql$"), 2)}


class MigrationError(Exception):
    """The state database cannot be brought to this code's schema (newer than the code, or a bad step)."""


def steps(engine: str = "sqlite") -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration step of `engine` ("sqlite", "postgresql"), in order."""
    pattern, first = ENGINES[engine]
    found = []
    for entry in resources.files("bot.moderation").iterdir():
        match = pattern.match(entry.name)
        if match:
            found.append((int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(first, first + len(found))):
        raise MigrationError(f"{engine} migration steps must be numbered {first}…N without gaps; found {numbers}")
    return found


def latest_version(engine: str = "sqlite") -> int:
    found = steps(engine)
    return found[-1][0] if found else 0


def statements(script: str) -> list[str]:
    """The statements of a SQL script, one by one (comments stay with the statement they precede)."""
    found: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    rest = "\n".join(line for line in pending.splitlines() if not line.strip().startswith("--")).strip()
    if rest:
        raise MigrationError(f"incomplete SQL statement at the end of a migration step: {rest[:80]!r}")
    return found


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply the steps this database lacks; returns its (now latest) schema version."""
    todo = steps()
    version = await schema_version(conn)
    if version > len(todo):
        raise MigrationError(
            f"the moderator-state database is at schema version {version}, newer than this bot "
            f"(which knows {len(todo)}): run the newer bot, or restore a backup made for this one"
        )
    if version == len(todo):
        return version
    await conn.execute("BEGIN IMMEDIATE")
    try:
        version = await schema_version(conn)  # another process may have migrated while we waited
        for number, name, sql in todo[version:]:
            for statement in statements(sql):
                try:
                    await conn.execute(statement)
                except sqlite3.Error as exc:
                    raise MigrationError(f"migration step {name} failed: {exc}") from exc
            await conn.execute(f"PRAGMA user_version = {number}")
        await conn.commit()
    except BaseException:
        await conn.rollback()
        raise
    # A step may delete data (step 2 drops the old query counts): leave no copy of it in the WAL.
    await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(todo)
