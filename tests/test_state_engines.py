"""Moderator state on both engines (issue 13): migrations, schema parity, and PostgreSQL shared by processes.

The behaviour tests of `tests/test_moderation.py` and `tests/test_privacy.py` run on both engines;
this file covers what is engine-specific: PostgreSQL's versioned migrations and their agreement with
SQLite's, two stores (as two bot processes would) writing to one server at once, and start-up faults
(an unreachable server, a missing database, a wrong URL) as one line that never shows the password.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from bot.facts.dbfaults import DatabaseFault
from bot.moderation.migrate import MigrationError, latest_version, steps
from bot.moderation.postgres_state import translate, where
from bot.moderation.state import ModerationStore
from tests.postgres_server import PostgresServer, free_port

GUILD = 111


def test_both_engines_know_the_same_schema_version() -> None:
    assert latest_version("sqlite") == latest_version("postgresql") == 2
    assert [name for _, name, _ in steps("postgresql")] == ["postgres_0002_per_guild.sql"]


def test_placeholders_are_rewritten_for_postgresql_outside_quotes() -> None:
    assert translate("SELECT * FROM r WHERE guild_id IS ? AND number = ? AND note = 'why?' LIMIT ?") == (
        "SELECT * FROM r WHERE guild_id IS NOT DISTINCT FROM $1 AND number = $2 AND note = 'why?' LIMIT $3"
    )
    assert where("postgresql://bot:s3cret@db.example:5433/state?sslmode=require") == (
        "postgresql://bot@db.example:5433/state"
    )


async def _columns_sqlite(path: Path) -> dict[str, set[str]]:
    store = await ModerationStore.open(path)
    try:
        tables = [r["name"] for r in await store._rows("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: {r["name"] for r in await store._rows(f"PRAGMA table_info({t})")} for t in tables}
    finally:
        await store.close()


async def test_postgresql_schema_has_the_tables_and_columns_of_sqlite(tmp_path: Path, postgres_url: str) -> None:
    store = await ModerationStore.open(tmp_path / "unused.sqlite3", url=postgres_url)
    try:
        rows = await store._rows(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        )
    finally:
        await store.close()
    postgres: dict[str, set[str]] = {}
    for row in rows:
        postgres.setdefault(row["table_name"], set()).add(row["column_name"])
    assert postgres.pop("schema_version") == {"version"}
    assert postgres == await _columns_sqlite(tmp_path / "state.sqlite3")
    assert not (tmp_path / "unused.sqlite3").exists(), "with a URL, no state file is made"


async def test_postgresql_migrates_once_even_when_two_processes_start_together(postgres_url: str) -> None:
    first, second = await asyncio.gather(
        ModerationStore.open(Path("unused"), url=postgres_url), ModerationStore.open(Path("unused"), url=postgres_url)
    )
    try:
        assert [tuple(r) for r in await first._rows("SELECT version FROM schema_version")] == [(2,)]
        assert first.engine == second.engine == "postgresql"
    finally:
        await first.close()
        await second.close()
    again = await ModerationStore.open(Path("unused"), url=postgres_url)
    await again._write("UPDATE schema_version SET version = 99")
    await again.close()
    with pytest.raises(MigrationError, match="schema version 99, newer than this bot"):
        await ModerationStore.open(Path("unused"), url=postgres_url)


async def test_two_processes_share_reports_claims_and_stats(postgres_url: str) -> None:
    one = await ModerationStore.open(Path("unused"), url=postgres_url)
    two = await ModerationStore.open(Path("unused"), url=postgres_url)
    try:
        numbers = await asyncio.gather(
            *(
                (one if n % 2 else two).add_report("k-5b8224", 1000 + n, GUILD if n < 16 else None, f"problem {n}")
                for n in range(20)
            )
        )
        assert sorted(numbers[:16]) == list(range(1, 17)), "numbered once each under the guild's lock"
        assert sorted(numbers[16:]) == [1, 2, 3, 4], "reports without a guild have their own numbers"
        assert len(await two.reports(GUILD, "all", limit=50)) == 16

        claims = await asyncio.gather(*(store.claim_thread(GUILD, 5000) for store in (one, two, one, two)))
        assert sorted(claims) == [False, False, False, True], "exactly one process auto-replies"

        await asyncio.gather(
            *(store.record_query(GUILD, u, "spravato", True) for u, store in enumerate((one, two, one)))
        )
        stats = await two.stats(GUILD)
        assert stats.top_queries == [("spravato", 3)] and stats.reports_open == 16
        assert len(await one._rows("SELECT * FROM state_keys")) == 1, "one asker key, however many writers"

        assert await one.resolve_report(GUILD, 3, 77, "checked")
        assert not await two.resolve_report(GUILD, 3, 78, "again"), "resolved through the other process"
        removed = await two.forget_user(1003)
        assert removed["reports filed"] == 1 and removed["reports unlinked from their resolver"] == 0
    finally:
        await one.close()
        await two.close()


async def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(DatabaseFault) as caught:
        await ModerationStore.open(Path("unused"), 0.5, url=f"postgresql://bot:hunter2@127.0.0.1:{port}/state")
    message = str(caught.value)
    assert time.monotonic() - started < 10
    assert message.startswith(f"moderation state at postgresql://bot@127.0.0.1:{port}/state cannot be reached")
    assert "hunter2" not in message and "\n" not in message and "still after 0.5 s" in message


async def test_a_missing_database_or_a_wrong_url_is_one_clear_line(postgres_server: PostgresServer) -> None:
    with pytest.raises(DatabaseFault, match="has no such database: create it"):
        await ModerationStore.open(Path("unused"), url=postgres_server.url("no_such_database"))
    with pytest.raises(DatabaseFault, match="must start with postgresql://"):
        await ModerationStore.open(Path("unused"), url="mysql://bot:pw@localhost/state")


async def test_the_test_server_is_real(postgres_server: PostgresServer) -> None:
    conn = await asyncpg.connect(postgres_server.url())
    try:
        assert int(await conn.fetchval("SHOW server_version_num")) >= 130000
    finally:
        await conn.close()
