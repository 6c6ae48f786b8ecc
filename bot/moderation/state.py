"""Moderator state: reports, per-guild settings, audit log, query statistics, auto-reply claims.

Every row belongs to one guild, and every query method takes the guild it acts for, so a moderator
reads and changes their own guild's state only (a report number from another guild is "no such
report"). Rows without a guild (reports filed in DMs, audit entries from before migration 2) are
reached only with `guild_id=None`, which only the operator's command line passes.

Query statistics hold the text of public questions only (callers never pass private or ephemeral
ones), counted per guild and UTC day, and who asked only as a keyed hash that is never a user id
(`query_askers`): a query is shown once `MIN_ASKERS` distinct members asked it under the same key;
the key lives in the state database and is replaced every `ASKER_KEY_DAYS` days. `prune()` deletes
statistics older than the retention period; `forget_user()` answers a deletion request.

It lives in its own SQLite file (STATE_DATABASE_PATH), never in the fact database, so a re-ingest
or a restart loses none of it; its schema is versioned (`bot.moderation.migrate`). WAL mode and a
busy timeout let several bot processes on one host (shards) share the file; `claim_thread` is a
single INSERT so two processes can never both auto-reply in the same thread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.facts.dbfaults import open_connection, rollback_on_error
from bot.moderation.migrate import migrate

MIN_ASKERS = 3  # distinct members before a query's text appears in /stats
ASKER_KEY_DAYS = 30  # the asker key is replaced this often
DAY = 86400.0


@dataclass(frozen=True)
class Report:
    id: int  # internal row id
    number: int  # what people see: #1, #2, … per guild
    fact_id: str
    reporter_id: int
    guild_id: int | None
    reason: str
    suggested_source: str
    status: str
    created_at: float
    resolved_by: int | None
    resolution: str


@dataclass(frozen=True)
class Stats:
    top_queries: list[tuple[str, int]]
    top_misses: list[tuple[str, int]]
    reports_open: int
    reports_resolved: int
    queries_total: int
    queries_hidden: int = 0  # distinct queries not (yet) asked by MIN_ASKERS members: counted, not shown


@rollback_on_error
class ModerationStore:
    """Async access to the moderator-state database (a failed write rolls back, then raises)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: Path, lock_timeout: float = 5.0) -> ModerationStore:
        """Open, create or migrate the file; damaged, locked (past `lock_timeout` s) or unwritable: `DatabaseFault`."""
        return cls(await open_connection(path, what="moderation state", prepare=_prepare, lock_timeout=lock_timeout))

    async def close(self) -> None:
        await self._conn.close()

    async def _write(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        await self._conn.commit()
        return cursor.rowcount

    async def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    # --- settings -------------------------------------------------------------------------------

    async def set_setting(self, guild_id: int, key: str, value: str | None) -> None:
        if value is None:
            await self._write("DELETE FROM settings WHERE guild_id = ? AND key = ?", (guild_id, key))
        else:
            await self._write(
                "INSERT INTO settings(guild_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT(guild_id, key) DO UPDATE SET value = excluded.value",
                (guild_id, key, value),
            )

    async def setting(self, guild_id: int, key: str) -> str | None:
        rows = await self._rows("SELECT value FROM settings WHERE guild_id = ? AND key = ?", (guild_id, key))
        return str(rows[0]["value"]) if rows else None

    async def set_autoreply(self, guild_id: int, channel_id: int, enabled: bool) -> None:
        await self.set_setting(guild_id, f"autoreply:{channel_id}", "on" if enabled else None)

    async def autoreply_enabled(self, guild_id: int, channel_id: int) -> bool:
        return await self.setting(guild_id, f"autoreply:{channel_id}") == "on"

    async def autoreply_channels(self, guild_id: int) -> list[int]:
        rows = await self._rows(
            "SELECT key FROM settings WHERE guild_id = ? AND key LIKE 'autoreply:%' AND value = 'on' ORDER BY key",
            (guild_id,),
        )
        return [int(row["key"].split(":", 1)[1]) for row in rows]

    async def claim_thread(self, guild_id: int, thread_id: int) -> bool:
        """True exactly once per thread, across restarts and processes: the auto-reply guard."""
        inserted = await self._write(
            "INSERT OR IGNORE INTO autoreplied_threads(thread_id, guild_id, at) VALUES (?, ?, ?)",
            (thread_id, guild_id, time.time()),
        )
        return inserted == 1

    # --- reports --------------------------------------------------------------------------------

    async def add_report(
        self, fact_id: str, reporter_id: int, guild_id: int | None, reason: str, suggested_source: str = ""
    ) -> int:
        """Store a report; returns its number in its guild (one statement, so numbers never collide)."""
        rows = await self._rows(
            "INSERT INTO reports(number, fact_id, reporter_id, guild_id, reason, suggested_source, status, created_at) "
            "SELECT coalesce(max(number), 0) + 1, ?, ?, ?, ?, ?, 'open', ? FROM reports WHERE guild_id IS ? "
            "RETURNING number",
            (fact_id, reporter_id, guild_id, reason, suggested_source, time.time(), guild_id),
        )
        await self._conn.commit()
        return int(rows[0]["number"])

    async def reports(self, guild_id: int | None, status: str = "open", limit: int = 10) -> list[Report]:
        """The guild's reports, newest first (`guild_id=None`: those without a guild, for the operator)."""
        where = "guild_id IS ?" + ("" if status == "all" else " AND status = ?")
        params: tuple[Any, ...] = (guild_id, limit) if status == "all" else (guild_id, status, limit)
        rows = await self._rows(f"SELECT * FROM reports WHERE {where} ORDER BY number DESC LIMIT ?", params)
        return [_report(row) for row in rows]

    async def report(self, guild_id: int | None, number: int) -> Report | None:
        rows = await self._rows("SELECT * FROM reports WHERE guild_id IS ? AND number = ?", (guild_id, number))
        return _report(rows[0]) if rows else None

    async def resolve_report(self, guild_id: int | None, number: int, moderator_id: int, resolution: str) -> bool:
        """Close an open report of this guild; False when the guild has no such open report."""
        changed = await self._write(
            "UPDATE reports SET status = 'resolved', resolved_by = ?, resolved_at = ?, resolution = ? "
            "WHERE guild_id IS ? AND number = ? AND status = 'open'",
            (moderator_id, time.time(), resolution, guild_id, number),
        )
        return changed == 1

    async def recent_reports(self, reporter_id: int, since: float) -> list[float]:
        """When one member filed reports (in any guild) since a time: for the per-member limit."""
        rows = await self._rows(
            "SELECT created_at FROM reports WHERE reporter_id = ? AND created_at >= ?", (reporter_id, since)
        )
        return [float(row["created_at"]) for row in rows]

    # --- audit ----------------------------------------------------------------------------------

    async def audit(self, guild_id: int | None, actor_id: int, action: str, **detail: object) -> None:
        await self._write(
            "INSERT INTO audit(at, guild_id, actor_id, action, detail) VALUES (?, ?, ?, ?, ?)",
            (time.time(), guild_id, actor_id, action, json.dumps(detail, sort_keys=True, default=str)),
        )

    async def audit_log(self, guild_id: int | None, limit: int = 20) -> list[dict[str, Any]]:
        """The guild's audit entries, newest first (`guild_id=None`: those without a guild)."""
        rows = await self._rows("SELECT * FROM audit WHERE guild_id IS ? ORDER BY id DESC LIMIT ?", (guild_id, limit))
        return [{**dict(row), "detail": json.loads(row["detail"])} for row in rows]

    # --- query statistics -----------------------------------------------------------------------

    async def record_query(
        self, guild_id: int, user_id: int, query: str, found: bool, *, now: float | None = None
    ) -> None:
        """Count a public query in its guild: its text, and who asked only as a keyed hash.

        Never call this for a private (`private:true`) or otherwise ephemeral answer.
        """
        key = " ".join(query.lower().split())[:200]
        if not key:
            return
        now = time.time() if now is None else now
        day = int(now // DAY)
        generation, secret = await self._asker_key(now)
        await self._conn.execute(
            "INSERT INTO query_stats(guild_id, query, day, asked, missed) VALUES (?, ?, ?, 1, ?) "
            "ON CONFLICT(guild_id, query, day) DO UPDATE SET asked = asked + 1, missed = missed + excluded.missed",
            (guild_id, key, day, 0 if found else 1),
        )
        await self._conn.execute(
            "INSERT INTO query_askers(guild_id, query, key_generation, asker, day) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(guild_id, query, key_generation, asker) DO UPDATE SET day = excluded.day",
            (guild_id, key, generation, _asker(secret, guild_id, user_id), day),
        )
        await self._conn.commit()

    async def _asker_key(self, now: float) -> tuple[int, bytes]:
        """The current asker key (generation, secret): created when missing, replaced when too old.

        Runs inside the caller's write, so two processes never both rotate it.
        """
        await self._conn.execute(
            "INSERT OR IGNORE INTO state_keys(name, generation, secret, created_at) VALUES ('asker', 1, ?, ?)",
            (secrets.token_bytes(32), now),
        )
        await self._conn.execute(
            "UPDATE state_keys SET generation = generation + 1, secret = ?, created_at = ? "
            "WHERE name = 'asker' AND created_at <= ?",
            (secrets.token_bytes(32), now, now - ASKER_KEY_DAYS * DAY),
        )
        rows = await self._rows("SELECT generation, secret FROM state_keys WHERE name = 'asker'")
        return int(rows[0]["generation"]), bytes(rows[0]["secret"])

    async def stats(self, guild_id: int | None, limit: int = 10, min_askers: int = MIN_ASKERS) -> Stats:
        """The guild's statistics; a query's text only once `min_askers` members asked it."""
        shown = (
            "WITH shown AS (SELECT query FROM (SELECT query, count(*) AS askers FROM query_askers "
            "WHERE guild_id IS ? GROUP BY query, key_generation) GROUP BY query HAVING max(askers) >= ?) "
        )
        top = await self._rows(
            shown + "SELECT query, sum(asked) AS n FROM query_stats JOIN shown USING (query) WHERE guild_id IS ? "
            "GROUP BY query ORDER BY n DESC, query LIMIT ?",
            (guild_id, min_askers, guild_id, limit),
        )
        misses = await self._rows(
            shown + "SELECT query, sum(missed) AS n FROM query_stats JOIN shown USING (query) WHERE guild_id IS ? "
            "GROUP BY query HAVING n > 0 ORDER BY n DESC, query LIMIT ?",
            (guild_id, min_askers, guild_id, limit),
        )
        counts = await self._rows(
            shown + "SELECT (SELECT count(*) FROM reports WHERE guild_id IS ? AND status = 'open') AS open_, "
            "(SELECT count(*) FROM reports WHERE guild_id IS ? AND status = 'resolved') AS resolved, "
            "(SELECT coalesce(sum(asked), 0) FROM query_stats WHERE guild_id IS ?) AS total, "
            "(SELECT count(DISTINCT query) FROM query_stats WHERE guild_id IS ? "
            "AND query NOT IN (SELECT query FROM shown)) AS hidden",
            (guild_id, min_askers, guild_id, guild_id, guild_id, guild_id),
        )
        return Stats(
            top_queries=[(r["query"], r["n"]) for r in top],
            top_misses=[(r["query"], r["n"]) for r in misses],
            reports_open=counts[0]["open_"],
            reports_resolved=counts[0]["resolved"],
            queries_total=counts[0]["total"],
            queries_hidden=counts[0]["hidden"],
        )

    # --- retention and deletion requests --------------------------------------------------------

    async def prune(self, retention_days: int, *, now: float | None = None) -> int:
        """Delete query statistics (counts and asker hashes) older than `retention_days`; rows deleted."""
        now = time.time() if now is None else now
        first_kept = int(now // DAY) - retention_days + 1
        stats = await self._conn.execute("DELETE FROM query_stats WHERE day < ?", (first_kept,))
        askers = await self._conn.execute("DELETE FROM query_askers WHERE day < ?", (first_kept,))
        await self._conn.commit()
        if stats.rowcount or askers.rowcount:
            await self.checkpoint()
        return stats.rowcount + askers.rowcount

    async def forget_user(self, user_id: int) -> dict[str, int]:
        """A deletion request: what is stored about one member, removed; returns what was removed.

        Their reports (in every guild) and the audit entries that name them (as actor or in the detail)
        are deleted, they are unlinked from reports they resolved, and their asker hashes under the
        current key are deleted (hashes under replaced keys cannot be linked to anyone any more).
        """
        uid = str(int(user_id))
        removed: dict[str, int] = {}
        for name, sql, params in (
            ("reports filed", "DELETE FROM reports WHERE reporter_id = ?", (user_id,)),
            (
                "reports unlinked from their resolver",
                "UPDATE reports SET resolved_by = NULL WHERE resolved_by = ?",
                (user_id,),
            ),
        ):
            cursor = await self._conn.execute(sql, params)
            removed[name] = cursor.rowcount
        audit = await self._rows("SELECT id, actor_id, detail FROM audit")
        mentions = [(r["id"],) for r in audit if r["actor_id"] == user_id or _mentions(json.loads(r["detail"]), uid)]
        await self._conn.executemany("DELETE FROM audit WHERE id = ?", mentions)
        removed["audit entries"] = len(mentions)
        keys = await self._rows("SELECT generation, secret FROM state_keys WHERE name = 'asker'")
        hashes = 0
        if keys:
            generation, secret = int(keys[0]["generation"]), bytes(keys[0]["secret"])
            guilds = await self._rows(
                "SELECT DISTINCT guild_id FROM query_askers WHERE key_generation = ?", (generation,)
            )
            for row in guilds:
                cursor = await self._conn.execute(
                    "DELETE FROM query_askers WHERE guild_id = ? AND key_generation = ? AND asker = ?",
                    (row["guild_id"], generation, _asker(secret, row["guild_id"], user_id)),
                )
                hashes += cursor.rowcount
        removed["query asker hashes"] = hashes
        await self._conn.commit()
        await self.checkpoint()
        return removed

    async def checkpoint(self) -> None:
        """Fold the WAL into the database file and empty it, so no copy of deleted rows stays behind."""
        await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def _prepare(conn: aiosqlite.Connection) -> None:
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA secure_delete = ON")  # deleted rows are overwritten, not left in free pages
    await migrate(conn)


def _asker(secret: bytes, guild_id: int, user_id: int) -> str:
    """Who asked, as the statistics see it: HMAC-SHA256 of guild and user, never the id itself."""
    return hmac.new(secret, f"{guild_id}:{user_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _mentions(detail: object, uid: str) -> bool:
    """Whether an audit detail names this user id anywhere (as a number or as text)."""
    if isinstance(detail, dict):
        return any(_mentions(value, uid) for value in detail.values())
    if isinstance(detail, list):
        return any(_mentions(value, uid) for value in detail)
    return re.search(rf"(?<!\d){uid}(?!\d)", str(detail)) is not None


def _report(row: sqlite3.Row) -> Report:
    return Report(
        id=row["id"],
        number=row["number"],
        fact_id=row["fact_id"],
        reporter_id=row["reporter_id"],
        guild_id=row["guild_id"],
        reason=row["reason"],
        suggested_source=row["suggested_source"],
        status=row["status"],
        created_at=row["created_at"],
        resolved_by=row["resolved_by"],
        resolution=row["resolution"] or "",
    )
