"""Privacy between communities and members (issue 18), below Discord: the state store, the cogs, the CLI.

Per-guild moderator state and its migration, private questions never stored, the 3-asker rule,
retention, `forget-user`, and the abuse limits. Every test that uses `services` runs with the state
in SQLite and again in PostgreSQL (issue 13). The same rules end to end, through the fake Discord
with two guilds, are in `tests/test_privacy_e2e.py`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from unittest.mock import MagicMock

import discord
import pytest
from discord.ext import commands

from bot.config import Settings
from bot.discord.reportlog import LoggedReport, post_report_to_log
from bot.discord.services import Services
from bot.discord.views import ReportButton, ReportModal, ShareButton
from bot.moderation.limits import LogFlood, SlidingWindow, retry_after
from bot.moderation.migrate import MigrationError, latest_version, statements, steps
from bot.moderation.replies import find_sources, stats_reply
from bot.moderation.state import ASKER_KEY_DAYS, DAY, MIN_ASKERS, ModerationStore
from cogs.facts import Facts
from cogs.moderation import Moderation
from tests.helpers import click, mock_channel, mock_interaction, page_button, sent, text_of
from tests.postgres_server import ENGINES

GUILD_A, GUILD_B = 111, 222
SETTING_NAMES = {name.upper() for name in Settings.model_fields}
SECRET_QUESTION = "ketamine if i feel suicidal tonight"


# ------------------------------------------------------------------------------------------ helpers


@pytest.fixture(params=ENGINES)
def state_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _cog(services: Services) -> Moderation:
    bot = MagicMock(spec=commands.Bot)
    bot.services = services
    return Moderation(bot)


def _mod(services: Services, guild_id: int, user_id: int = 1001) -> MagicMock:
    return mock_interaction(services, guild_id=guild_id, user_id=user_id, manage_threads=True)


async def _every_text_in(path: Path) -> str:
    """Every value of every table, plus the raw bytes of the database and its WAL, as one string (SQLite)."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        values = [str(v) for t in tables for row in conn.execute(f"SELECT * FROM {t}") for v in row]
    finally:
        conn.close()
    raw = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    return "\n".join(values) + raw.decode("latin-1")


async def _every_value_in(services: Services) -> str:
    """Every value of every table of the moderator state, as one string; for SQLite also its raw bytes."""
    if services.moderation.engine == "sqlite":
        return await _every_text_in(services.settings.state_database_path)
    tables = await services.moderation._rows(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    rows = [row for t in tables for row in await services.moderation._rows(f"SELECT * FROM {t['table_name']}")]
    return "\n".join(str(value) for row in rows for value in row)


async def _ask(services: Services, query: str, *, user_id: int, guild_id: int = GUILD_A, private: bool) -> None:
    cog = Facts(MagicMock(spec=commands.Bot))
    interaction = mock_interaction(services, user_id=user_id, guild_id=guild_id)
    await cog.fact.callback(cog, interaction, query=query, id=None, private=private)


# ------------------------------------------------------------------------------------------ migrations


OLD_ROWS = """
INSERT INTO reports(id, fact_id, reporter_id, guild_id, reason, status, created_at) VALUES
    (1, 'k-5b8224', 10, 111, 'a1', 'open', 1.0), (2, 'k-5b8224', 11, 222, 'b1', 'open', 2.0),
    (3, 'k-5b8224', 12, 111, 'a2', 'resolved', 3.0), (4, 'k-5b8224', 13, NULL, 'dm', 'open', 4.0);
INSERT INTO audit(at, guild_id, actor_id, action, detail) VALUES (1.0, NULL, 7, 'report.resolved', '{}');
INSERT INTO query_stats(query, asked, missed, last_at) VALUES ('a private question', 4, 0, 1.0);
INSERT INTO autoreplied_threads(thread_id, at) VALUES (5000, 1.0);
INSERT INTO settings(guild_id, key, value) VALUES (111, 'autoreply:900', 'on');
"""


async def test_a_database_from_before_versioned_migrations_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(steps()[0][2] + OLD_ROWS)  # the schema as first shipped, user_version 0
    conn.close()
    store = await ModerationStore.open(path)
    try:
        version = (await store._rows("PRAGMA user_version"))[0][0]
        assert version == latest_version() == 2
        assert [(r.number, r.reason) for r in await store.reports(GUILD_A, "all")] == [(2, "a2"), (1, "a1")]
        assert [(r.number, r.reason) for r in await store.reports(GUILD_B, "all")] == [(1, "b1")]
        assert [r.reason for r in await store.reports(None, "all")] == ["dm"], "no guild: the operator's CLI only"
        assert [a["actor_id"] for a in await store.audit_log(None)] == [7]
        assert await store.audit_log(GUILD_A) == []
        assert await store._rows("SELECT * FROM query_stats") == [], "old counts may hold private questions"
        assert "a private question" not in await _every_text_in(path), "not even in freed pages or the WAL"
        assert await store.autoreply_enabled(GUILD_A, 900)
        assert not await store.claim_thread(GUILD_A, 5000), "old claims still guard their threads"
        assert await store.add_report("k-5b8224", 14, GUILD_B, "b2") == 2, "numbering continues per guild"
    finally:
        await store.close()
    again = await ModerationStore.open(path)  # a second open applies nothing twice
    assert len(await again.reports(GUILD_B, "all")) == 2
    await again.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(MigrationError, match="schema version 99, newer than this bot"):
        await ModerationStore.open(path)


def test_migration_steps_are_numbered_plain_sql() -> None:
    found = steps()
    assert [n for n, _, _ in found] == list(range(1, len(found) + 1))
    assert [name for _, name, _ in found] == ["state_0001_initial.sql", "state_0002_per_guild.sql"]
    split = statements("-- a comment\nCREATE TABLE t (a TEXT DEFAULT ';');\nINSERT INTO t VALUES ('x;y');\n-- end\n")
    assert split == ["-- a comment\nCREATE TABLE t (a TEXT DEFAULT ';');", "INSERT INTO t VALUES ('x;y');"]
    with pytest.raises(MigrationError, match="incomplete"):
        statements("CREATE TABLE t (a TEXT")


async def test_two_processes_opening_at_once_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "race.sqlite3"
    first, second = await asyncio.gather(ModerationStore.open(path), ModerationStore.open(path))
    assert (await first._rows("PRAGMA user_version"))[0][0] == latest_version()
    await first.close()
    await second.close()


# ------------------------------------------------------------------------------------------ isolation


async def test_reports_stats_resolve_and_audit_are_per_guild(services: Services) -> None:
    store, cog = services.moderation, _cog(services)
    a1 = await store.add_report("k-5b8224", 5, GUILD_A, "guild A: wrong dose")
    b1 = await store.add_report("k-e29aee", 6, GUILD_B, "guild B: outdated")
    a2 = await store.add_report("k-e29aee", 7, GUILD_A, "guild A: second")
    assert (a1, b1, a2) == (1, 1, 2)

    listing = _mod(services, GUILD_B)
    await cog.reports.callback(cog, listing, status="all", resolve=None, note="resolved")
    text = text_of(sent(listing))
    assert "guild B: outdated" in text and "guild A" not in text

    foreign = _mod(services, GUILD_B)
    await cog.reports.callback(cog, foreign, status="open", resolve=a2, note="closing A's report from B")
    assert "There is no open report #2 in this server." in text_of(sent(foreign))
    assert (await store.report(GUILD_A, a2)).status == "open"  # type: ignore[union-attr]

    own = _mod(services, GUILD_B)
    await cog.reports.callback(cog, own, status="open", resolve=b1, note="fixed")
    assert "Report #1 is resolved." in text_of(sent(own))
    assert (await store.report(GUILD_A, a1)).status == "open", "B's #1 is not A's #1"  # type: ignore[union-attr]
    assert [e["action"] for e in await store.audit_log(GUILD_B)] == ["report.resolved"]
    assert await store.audit_log(GUILD_A) == []

    stats_b = await store.stats(GUILD_B)
    assert (stats_b.reports_open, stats_b.reports_resolved) == (0, 1)


async def test_stats_of_one_guild_never_list_another_guilds_queries(services: Services) -> None:
    for user in (1, 2, 3):
        await _ask(services, "spravato nasal spray", user_id=user, guild_id=GUILD_A, private=False)
    interaction = _mod(services, GUILD_B)
    cog = _cog(services)
    await cog.stats.callback(cog, interaction)
    text = text_of(sent(interaction))
    assert "spravato" not in text and "0 queries counted" in text
    own = _mod(services, GUILD_A)
    await cog.stats.callback(cog, own)
    assert "3× spravato nasal spray" in text_of(sent(own))


async def test_autoreply_claims_carry_their_guild(services: Services) -> None:
    assert await services.moderation.claim_thread(GUILD_A, 42)
    assert not await services.moderation.claim_thread(GUILD_A, 42)
    rows = await services.moderation._rows("SELECT guild_id FROM autoreplied_threads WHERE thread_id = 42")
    assert rows[0]["guild_id"] == GUILD_A


# ------------------------------------------------------------------------------------------ private questions


async def test_private_and_ephemeral_questions_are_never_stored(services: Services) -> None:
    for user in range(1, 6):
        await _ask(services, SECRET_QUESTION, user_id=user, private=True)
    await find_sources(services.answers, SECRET_QUESTION)  # the message menu answers ephemerally
    dm = mock_interaction(services, user_id=9, guild_id=None)
    cog = Facts(MagicMock(spec=commands.Bot))
    await cog.fact.callback(cog, dm, query=SECRET_QUESTION, id=None, private=False)  # outside a guild
    stored = await _every_value_in(services)
    assert "suicidal" not in stored
    assert await services.moderation._rows("SELECT * FROM query_stats") == []
    stats = await services.moderation.stats(GUILD_A)
    assert stats.queries_total == 0 and stats.top_queries == [] and stats.queries_hidden == 0


async def test_paging_does_not_count_the_question_again(services: Services) -> None:
    cog = Facts(MagicMock(spec=commands.Bot))
    asker = mock_interaction(services, user_id=1)
    await cog.fact.callback(cog, asker, query="ketamine", id=None, private=False)
    turned = await click(services, page_button(sent(asker)["view"], "next").custom_id, user_id=1)
    # the page is replaced at once, or after a defer when computing it took over `defer_after` (a loaded machine)
    assert turned.response.edit_message.called or turned.edit_original_response.called
    assert (await services.moderation.stats(GUILD_A)).queries_total == 1


async def test_a_public_miss_is_answered_publicly_and_counted(services: Services) -> None:
    for user in (1, 2, 3):
        interaction = mock_interaction(services, user_id=user)
        cog = Facts(MagicMock(spec=commands.Bot))
        await cog.fact.callback(cog, interaction, query="xyzzy qwerty", id=None, private=False)
        assert sent(interaction)["ephemeral"] is False, "stored only because it was answered publicly"
    assert (await services.moderation.stats(GUILD_A)).top_misses == [("xyzzy qwerty", 3)]


# ------------------------------------------------------------------------------------------ 3 askers


async def test_a_query_is_shown_only_once_three_members_asked_it(services: Services) -> None:
    store = services.moderation
    for _ in range(5):
        await store.record_query(GUILD_A, 1, "rare question", True)  # one member, five times
    await store.record_query(GUILD_A, 2, "rare question", True)
    stats = await store.stats(GUILD_A)
    assert stats.top_queries == [] and stats.queries_hidden == 1 and stats.queries_total == 6
    await store.record_query(GUILD_A, 3, "rare question", True)
    assert (await store.stats(GUILD_A)).top_queries == [("rare question", 7)]
    await store.record_query(GUILD_B, 4, "rare question", True)
    assert (await store.stats(GUILD_B)).top_queries == [], "askers are counted per guild"


async def test_askers_are_keyed_hashes_and_the_key_rotates(services: Services) -> None:
    store = services.moderation
    start = time.time()
    await store.record_query(GUILD_A, 424242424242, "rotating", True, now=start)
    key1 = (await store._rows("SELECT generation, secret FROM state_keys"))[0]
    for period in (1, 2):  # the same member in the next two key periods: a new hash each time…
        await store.record_query(GUILD_A, 424242424242, "rotating", True, now=start + period * ASKER_KEY_DAYS * DAY)
    key3 = (await store._rows("SELECT generation, secret FROM state_keys"))[0]
    assert (key1["generation"], key3["generation"]) == (1, 3) and key1["secret"] != key3["secret"]
    askers = await store._rows("SELECT asker, key_generation FROM query_askers")
    assert len({r["asker"] for r in askers}) == 3 and "424242424242" not in str([tuple(r) for r in askers])
    # …but distinct askers are counted under one key, so one member alone never makes a query visible.
    assert (await store.stats(GUILD_A)).top_queries == []


async def test_stats_say_what_is_counted_and_for_how_long(services: Services) -> None:
    reply = stats_reply(await services.moderation.stats(GUILD_A), time.time(), 90)
    text = "\n".join(f.value or "" for f in reply.embeds[0].fields)
    assert f"at least {MIN_ASKERS} different members" in text
    assert "`private:true` questions" in text and "never stored" in text
    assert "never as a user id" in text and "deleted after 90 days" in text


# ------------------------------------------------------------------------------------------ retention


async def test_statistics_older_than_the_retention_are_deleted(services: Services) -> None:
    store, now = services.moderation, time.time()
    for user in (1, 2, 3):
        await store.record_query(GUILD_A, user, "old question", True, now=now - 91 * DAY)
        await store.record_query(GUILD_A, user, "new question", True, now=now - 89 * DAY)
    assert await store.prune(90, now=now) == 1 + 3  # one day-row of counts, three asker hashes
    assert (await store.stats(GUILD_A)).top_queries == [("new question", 3)]


async def test_retention_runs_at_start_up_and_in_the_daily_task(services: Services) -> None:
    for user in (1, 2, 3):
        await services.moderation.record_query(GUILD_A, user, "stale", True, now=time.time() - 200 * DAY)
    await services.moderation.close()
    reopened = await Services.open(services.settings)  # start-up
    services.moderation = reopened.moderation
    await reopened.store.close()
    assert await services.moderation._rows("SELECT * FROM query_stats") == []
    for user in (1, 2, 3):
        await services.moderation.record_query(GUILD_A, user, "stale", True, now=time.time() - 200 * DAY)
    cog = _cog(services)
    assert cog.retention.hours == 24
    await cog.retention()  # one run of the daily loop
    assert await services.moderation._rows("SELECT * FROM query_askers") == []


# ------------------------------------------------------------------------------------------ forget-user


async def test_forget_user_removes_reports_and_audit_mentions(services: Services, tmp_path: Path) -> None:
    store, member, moderator = services.moderation, 123456789012345678, 876543210987654321
    await store.add_report("k-5b8224", member, GUILD_A, "mine in A")
    await store.add_report("k-5b8224", member, GUILD_B, "mine in B")
    other = await store.add_report("k-5b8224", 555, GUILD_A, "someone else's")
    await store.resolve_report(GUILD_A, other, member, "resolved by the member, who is also a moderator")
    await store.audit(GUILD_A, member, "report.resolved", report=other)
    await store.audit(GUILD_A, moderator, "note", note=f"talked to <@{member}>")
    await store.audit(GUILD_A, moderator, "summary.posted", concept="ketamine")
    for user in (member, 2, 3):
        await store.record_query(GUILD_A, user, "spravato", True)
    await store.close()

    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    env["STATE_DATABASE_PATH"] = str(services.settings.state_database_path)
    if services.settings.state_url:
        env["STATE_DATABASE_URL"] = services.settings.state_url
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "forget-user", str(member)],
        cwd=tmp_path,  # no developer .env applies
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for line in ("2  reports filed", "1  reports unlinked from their resolver", "2  audit entries", "1  query asker"):
        assert line in out, out

    path = services.settings.state_database_path
    if not services.settings.state_url:
        raw = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
        assert str(member).encode() not in raw and member.to_bytes(8, "big") not in raw, (
            "no trace, not even freed pages"
        )
        assert b"mine in A" not in raw and b"talked to" not in raw
    services.moderation = await ModerationStore.open(path, url=services.settings.state_url)
    stored = await _every_value_in(services)
    assert str(member) not in stored and "mine in A" not in stored and "talked to" not in stored
    reports = await services.moderation.reports(GUILD_A, "all")
    assert [(r.reason, r.resolved_by) for r in reports] == [("someone else's", None)]
    assert [e["action"] for e in await services.moderation.audit_log(GUILD_A)] == ["summary.posted"]
    assert (await services.moderation.stats(GUILD_A)).top_queries == [], "two askers left: below the rule"


# ------------------------------------------------------------------------------------------ abuse limits


async def test_reports_are_limited_to_five_an_hour_per_member(services: Services) -> None:
    for n in range(5):
        await services.moderation.add_report("k-5b8224", 4242, GUILD_A if n % 2 else GUILD_B, "a real problem")
    click = mock_interaction(services, user_id=4242, custom_id="factbot:report:k-5b8224")
    await ReportButton(["k-5b8224"]).callback(click)
    click.response.send_modal.assert_not_called()
    note = sent(click)
    assert note["ephemeral"] is True
    assert "You sent 5 reports in the last hour" in text_of(note) and "You can send another in about" in text_of(note)

    modal = ReportModal(["k-5b8224"])  # a form opened before the limit was reached
    modal.fact_id._value, modal.problem._value, modal.source._value = "k-5b8224", "one more problem", ""
    submit = mock_interaction(services, user_id=4242)
    await modal.on_submit(submit)
    assert "You sent 5 reports" in text_of(sent(submit))
    assert (
        len(await services.moderation.reports(GUILD_A, "all")) + len(await services.moderation.reports(GUILD_B, "all"))
        == 5
    )

    other = mock_interaction(services, user_id=1, custom_id="factbot:report:k-5b8224")
    await ReportButton(["k-5b8224"]).callback(other)
    other.response.send_modal.assert_called_once()


async def test_share_is_limited_to_ten_an_hour_per_member(services: Services) -> None:
    for _ in range(10):
        click = mock_interaction(services, user_id=77)
        await ShareButton(["k-5b8224"]).callback(click)
        assert sent(click)["ephemeral"] is False
    eleventh = mock_interaction(services, user_id=77)
    await ShareButton(["k-5b8224"]).callback(eleventh)
    note = sent(eleventh)
    assert note["ephemeral"] is True and "You shared sources 10 times in the last hour" in text_of(note)
    someone_else = mock_interaction(services, user_id=78)
    await ShareButton(["k-5b8224"]).callback(someone_else)
    assert sent(someone_else)["ephemeral"] is False


def test_limit_arithmetic() -> None:
    clock = [1000.0]
    window = SlidingWindow(2, window=60, clock=lambda: clock[0])
    assert window.take(1) is None and window.take(1) is None
    assert window.take(1) == pytest.approx(60)
    clock[0] += 61
    assert window.take(1) is None
    assert retry_after([0.0, 10.0, 20.0], 3, now=30.0, window=60) == pytest.approx(30)
    assert retry_after([0.0, 10.0], 3, now=30.0, window=60) is None


def _log_client(channel: MagicMock) -> MagicMock:
    client = MagicMock(spec=discord.Client)
    client.get_channel.return_value = channel
    return client


def _log_channel(guild_id: int) -> MagicMock:
    channel = mock_channel(777)
    channel.guild = MagicMock(spec=discord.Guild)
    channel.guild.id = guild_id
    return channel


async def test_a_report_flood_gets_one_summary_in_the_log(services: Services) -> None:
    services.settings.mod_log_channel_id = 777
    services.limits.report_log = LogFlood(burst=3, window=0.2)
    channel = _log_channel(GUILD_A)
    client = _log_client(channel)
    for number in range(1, 9):
        report = LoggedReport(number, "k-5b8224", "problem", "", MagicMock(spec=discord.Member, id=number))
        await post_report_to_log(services, client, GUILD_A, report)
    assert channel.send.await_count == 3, "the first three one by one, the rest held"
    await asyncio.sleep(0.4)
    assert channel.send.await_count == 4, "then exactly one summary"
    summary = channel.send.call_args.kwargs["embeds"][0]
    assert summary.title.startswith("🚩 5 more reports in the last")
    assert "#4 on `k-5b8224`" in summary.description and "#8 on `k-5b8224`" in summary.description
    assert channel.send.call_args.kwargs["allowed_mentions"].to_dict() == {"parse": []}


async def test_a_report_never_reaches_another_guilds_log(services: Services) -> None:
    services.settings.mod_log_channel_id = 777  # one deployment, the log channel is in guild A
    channel = _log_channel(GUILD_A)
    report = LoggedReport(1, "k-5b8224", "problem", "", MagicMock(spec=discord.Member, id=5))
    await post_report_to_log(services, _log_client(channel), GUILD_B, report)
    await post_report_to_log(services, _log_client(channel), None, report)  # filed outside a guild
    channel.send.assert_not_called()
    await post_report_to_log(services, _log_client(channel), GUILD_A, report)
    assert channel.send.await_count == 1
