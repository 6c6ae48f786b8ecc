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

It lives in its own database, never in the fact database, so a re-ingest or a restart loses none
of it: a SQLite file (STATE_DATABASE_PATH, `bot.moderation.sqlite_state`; WAL mode and a busy timeout
let several processes on one host share it) or, for processes on several hosts, a PostgreSQL server
(STATE_DATABASE_URL, `bot.moderation.postgres_state`). The SQL below is written once for both
(`bot.moderation.engine`); each write is one transaction; the schema is versioned per engine
(`bot.moderation.migrate`). `claim_thread` is a single INSERT, so two processes can never both
auto-reply in the same thread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.moderation.engine import Engine, Row, Transaction
from bot.moderation.postgres_state import PostgresEngine
from bot.moderation.sqlite_state import SqliteEngine

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


class ModerationStore:
    """Async access to the moderator-state database (a failed write rolls back, then raises)."""

    def __init__(self, db: Engine) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path, lock_timeout: float = 5.0, url: str | None = None) -> ModerationStore:
        """Open, create or migrate the file; damaged, locked (past `lock_timeout` s) or unwritable: `DatabaseFault`.

        With `url` (postgresql://…) the state is on that PostgreSQL server instead, and `path` is unused.
        """
        if url:
            return cls(await PostgresEngine.open(url, lock_timeout))
        return cls(await SqliteEngine.open(path, lock_timeout))

    @property
    def engine(self) -> str:
        """The engine holding the state: "sqlite" or "postgresql"."""
        return self._db.name

    async def close(self) -> None:
        await self._db.close()

    async def _write(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        async with self._db.transaction() as tx:
            return await tx.execute(sql, params)

    async def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return await self._db.rows(sql, params)

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
            "SELECT key FROM settings WHERE guild_id = ? AND key LIKE 'autoreply:%' AND value = 'on'", (guild_id,)
        )
        return [int(key.split(":", 1)[1]) for key in sorted(row["key"] for row in rows)]

    async def claim_thread(self, guild_id: int, thread_id: int) -> bool:
        """True exactly once per thread, across restarts and processes: the auto-reply guard."""
        inserted = await self._write(
            "INSERT INTO autoreplied_threads(thread_id, guild_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (thread_id, guild_id, time.time()),
        )
        return inserted == 1

    # --- reports --------------------------------------------------------------------------------

    async def add_report(
        self, fact_id: str, reporter_id: int, guild_id: int | None, reason: str, suggested_source: str = ""
    ) -> int:
        """Store a report; returns its number in its guild (numbered under the guild's lock: never twice)."""
        async with self._db.transaction() as tx:
            await tx.serialize(f"reports:{guild_id}")
            rows = await tx.rows(
                "INSERT INTO reports(number, fact_id, reporter_id, guild_id, reason, suggested_source, status, "
                "created_at) SELECT coalesce(max(number), 0) + 1, ?, ?, ?, ?, ?, 'open', ? FROM reports "
                "WHERE guild_id IS ? RETURNING number",
                (fact_id, reporter_id, guild_id, reason, suggested_source, time.time(), guild_id),
            )
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
        now = time.time() if now is None else float(now)
        day = int(now // DAY)
        async with self._db.transaction() as tx:
            generation, secret = await _asker_key(tx, now)
            await tx.execute(
                "INSERT INTO query_stats(guild_id, query, day, asked, missed) VALUES (?, ?, ?, 1, ?) "
                "ON CONFLICT(guild_id, query, day) DO UPDATE "
                "SET asked = query_stats.asked + 1, missed = query_stats.missed + excluded.missed",
                (guild_id, key, day, 0 if found else 1),
            )
            await tx.execute(
                "INSERT INTO query_askers(guild_id, query, key_generation, asker, day) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(guild_id, query, key_generation, asker) DO UPDATE SET day = excluded.day",
                (guild_id, key, generation, _asker(secret, guild_id, user_id), day),
            )

    async def stats(self, guild_id: int | None, limit: int = 10, min_askers: int = MIN_ASKERS) -> Stats:
        """The guild's statistics; a query's text only once `min_askers` members asked it."""
        # Statistics always have a guild (`guild_id = ?` uses the index; None matches nothing), reports may not.
        shown = (
            "WITH shown AS (SELECT query FROM (SELECT query, count(*) AS askers FROM query_askers "
            "WHERE guild_id = ? GROUP BY query, key_generation) AS per_key GROUP BY query HAVING max(askers) >= ?) "
        )
        top = await self._rows(
            shown + "SELECT query, sum(asked) AS n FROM query_stats JOIN shown USING (query) WHERE guild_id = ? "
            "GROUP BY query ORDER BY n DESC, query LIMIT ?",
            (guild_id, min_askers, guild_id, limit),
        )
        misses = await self._rows(
            shown + "SELECT query, sum(missed) AS n FROM query_stats JOIN shown USING (query) WHERE guild_id = ? "
            "GROUP BY query HAVING sum(missed) > 0 ORDER BY n DESC, query LIMIT ?",
            (guild_id, min_askers, guild_id, limit),
        )
        counts = await self._rows(
            shown + "SELECT (SELECT count(*) FROM reports WHERE guild_id IS ? AND status = 'open') AS open_, "
            "(SELECT count(*) FROM reports WHERE guild_id IS ? AND status = 'resolved') AS resolved, "
            "(SELECT coalesce(sum(asked), 0) FROM query_stats WHERE guild_id = ?) AS total, "
            "(SELECT count(DISTINCT query) FROM query_stats WHERE guild_id = ? "
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
        async with self._db.transaction() as tx:
            deleted = await tx.execute("DELETE FROM query_stats WHERE day < ?", (first_kept,))
            deleted += await tx.execute("DELETE FROM query_askers WHERE day < ?", (first_kept,))
        if deleted:
            await self.checkpoint()
        return deleted

    async def forget_user(self, user_id: int) -> dict[str, int]:
        """A deletion request: what is stored about one member, removed; returns what was removed.

        Their reports (in every guild) and the audit entries that name them (as actor or in the detail)
        are deleted, they are unlinked from reports they resolved, and their asker hashes under the
        current key are deleted (hashes under replaced keys cannot be linked to anyone any more).
        """
        uid = str(int(user_id))
        removed: dict[str, int] = {}
        async with self._db.transaction() as tx:
            removed["reports filed"] = await tx.execute("DELETE FROM reports WHERE reporter_id = ?", (user_id,))
            removed["reports unlinked from their resolver"] = await tx.execute(
                "UPDATE reports SET resolved_by = NULL WHERE resolved_by = ?", (user_id,)
            )
            audit = await tx.rows("SELECT id, actor_id, detail FROM audit")
            mentions = [r["id"] for r in audit if r["actor_id"] == user_id or _mentions(json.loads(r["detail"]), uid)]
            for audit_id in mentions:
                await tx.execute("DELETE FROM audit WHERE id = ?", (audit_id,))
            removed["audit entries"] = len(mentions)
            keys = await tx.rows("SELECT generation, secret FROM state_keys WHERE name = 'asker'")
            hashes = 0
            if keys:
                generation, secret = int(keys[0]["generation"]), bytes(keys[0]["secret"])
                guilds = await tx.rows(
                    "SELECT DISTINCT guild_id FROM query_askers WHERE key_generation = ?", (generation,)
                )
                for row in guilds:
                    hashes += await tx.execute(
                        "DELETE FROM query_askers WHERE guild_id = ? AND key_generation = ? AND asker = ?",
                        (row["guild_id"], generation, _asker(secret, row["guild_id"], user_id)),
                    )
            removed["query asker hashes"] = hashes
        await self.checkpoint()
        return removed

    async def checkpoint(self) -> None:
        """Leave no copy of deleted rows behind where the engine allows it (SQLite: the WAL folded in, emptied)."""
        await self._db.scrub()


async def _asker_key(tx: Transaction, now: float) -> tuple[int, bytes]:
    """The current asker key (generation, secret): created when missing, replaced when too old.

    Runs inside the caller's write transaction, so two processes never both rotate it (SQLite: the
    write lock; PostgreSQL: the row lock the UPDATE takes, after which the other sees the new key).
    """
    await tx.execute(
        "INSERT INTO state_keys(name, generation, secret, created_at) VALUES ('asker', 1, ?, ?) ON CONFLICT DO NOTHING",
        (secrets.token_bytes(32), now),
    )
    await tx.execute(
        "UPDATE state_keys SET generation = generation + 1, secret = ?, created_at = ? "
        "WHERE name = 'asker' AND created_at <= ?",
        (secrets.token_bytes(32), now, now - ASKER_KEY_DAYS * DAY),
    )
    rows = await tx.rows("SELECT generation, secret FROM state_keys WHERE name = 'asker'")
    return int(rows[0]["generation"]), bytes(rows[0]["secret"])


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


def _report(row: Row) -> Report:
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
