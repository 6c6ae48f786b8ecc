"""Moderator state: reports, per-channel settings, audit log, query statistics.

It lives in its own SQLite file (STATE_DATABASE_PATH), never in the fact database, so a re-ingest
or a restart loses none of it. WAL mode and a busy timeout let several bot processes on one host
(shards) share the file; `claim_thread` is a single INSERT so two processes can never both
auto-reply in the same thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite


@dataclass(frozen=True)
class Report:
    id: int
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


class ModerationStore:
    """Async access to the moderator-state database."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: Path) -> ModerationStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, timeout=10)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA busy_timeout = 10000")
        await conn.executescript(resources.files("bot.moderation").joinpath("state.sql").read_text(encoding="utf-8"))
        await conn.commit()
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    async def _write(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        await self._conn.commit()
        return cursor.rowcount if cursor.lastrowid is None else int(cursor.lastrowid)

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

    async def claim_thread(self, thread_id: int) -> bool:
        """True exactly once per thread, across restarts and processes: the auto-reply guard."""
        cursor = await self._conn.execute(
            "INSERT OR IGNORE INTO autoreplied_threads(thread_id, at) VALUES (?, ?)", (thread_id, time.time())
        )
        await self._conn.commit()
        return cursor.rowcount == 1

    # --- reports --------------------------------------------------------------------------------

    async def add_report(
        self, fact_id: str, reporter_id: int, guild_id: int | None, reason: str, suggested_source: str = ""
    ) -> int:
        return await self._write(
            "INSERT INTO reports(fact_id, reporter_id, guild_id, reason, suggested_source, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, 'open', ?)",
            (fact_id, reporter_id, guild_id, reason, suggested_source, time.time()),
        )

    async def reports(self, status: str = "open", limit: int = 10) -> list[Report]:
        where = "" if status == "all" else "WHERE status = ?"
        params: tuple[Any, ...] = (limit,) if status == "all" else (status, limit)
        rows = await self._rows(f"SELECT * FROM reports {where} ORDER BY id DESC LIMIT ?", params)
        return [_report(row) for row in rows]

    async def report(self, report_id: int) -> Report | None:
        rows = await self._rows("SELECT * FROM reports WHERE id = ?", (report_id,))
        return _report(rows[0]) if rows else None

    async def resolve_report(self, report_id: int, moderator_id: int, resolution: str) -> bool:
        cursor = await self._conn.execute(
            "UPDATE reports SET status = 'resolved', resolved_by = ?, resolved_at = ?, resolution = ? "
            "WHERE id = ? AND status = 'open'",
            (moderator_id, time.time(), resolution, report_id),
        )
        await self._conn.commit()
        return cursor.rowcount == 1

    # --- audit and statistics -------------------------------------------------------------------

    async def audit(self, guild_id: int | None, actor_id: int, action: str, **detail: object) -> None:
        await self._write(
            "INSERT INTO audit(at, guild_id, actor_id, action, detail) VALUES (?, ?, ?, ?, ?)",
            (time.time(), guild_id, actor_id, action, json.dumps(detail, sort_keys=True, default=str)),
        )

    async def audit_log(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self._rows("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        return [{**dict(row), "detail": json.loads(row["detail"])} for row in rows]

    async def record_query(self, query: str, found: bool) -> None:
        """Count a query (its text only: no user ids are ever stored)."""
        key = " ".join(query.lower().split())[:200]
        if not key:
            return
        await self._write(
            "INSERT INTO query_stats(query, asked, missed, last_at) VALUES (?, 1, ?, ?) "
            "ON CONFLICT(query) DO UPDATE SET asked = asked + 1, missed = missed + excluded.missed, "
            "last_at = excluded.last_at",
            (key, 0 if found else 1, time.time()),
        )

    async def stats(self, limit: int = 10) -> Stats:
        top = await self._rows("SELECT query, asked FROM query_stats ORDER BY asked DESC, query LIMIT ?", (limit,))
        misses = await self._rows(
            "SELECT query, missed FROM query_stats WHERE missed > 0 ORDER BY missed DESC, query LIMIT ?", (limit,)
        )
        counts = await self._rows(
            "SELECT (SELECT count(*) FROM reports WHERE status = 'open') AS open_, "
            "(SELECT count(*) FROM reports WHERE status = 'resolved') AS resolved, "
            "(SELECT coalesce(sum(asked), 0) FROM query_stats) AS total"
        )
        return Stats(
            top_queries=[(r["query"], r["asked"]) for r in top],
            top_misses=[(r["query"], r["missed"]) for r in misses],
            reports_open=counts[0]["open_"],
            reports_resolved=counts[0]["resolved"],
            queries_total=counts[0]["total"],
        )


def _report(row: sqlite3.Row) -> Report:
    return Report(
        id=row["id"],
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
