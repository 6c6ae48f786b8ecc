"""Two bot processes, as on two hosts, sharing one PostgreSQL moderator state (issue 13), end to end.

Each process is the real bot (`python -m bot run`) with its own working folder (its own fact
database, heartbeat and log: nothing local is shared) and the same STATE_DATABASE_URL, a database on
the test session's PostgreSQL server. Both connect to one fake Discord without sharding, so both
receive every gateway event of the guild, as two hosts would. Discord delivers each interaction to
one session; `via()` picks which process gets the next ones.

What must hold: a report filed through one process is listed by /reports on the other, /stats on
one counts the queries answered by the other, and a new forum post that both receive as
THREAD_CREATE gets exactly one auto-reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from e2e_support import BotProcess, custom_id_starting, is_ephemeral, message_text, modal_inputs
from fake_discord import FakeDiscord, InteractionRecord
from fake_discord.gateway import GatewaySession

from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAIT = 15.0
MODAL = 9
CHANNEL_MESSAGES = "/channels/{channel_id}/messages"
QUESTION = "esketamine nasal spray"


@dataclass
class Host:
    bot: BotProcess
    session: GatewaySession


@dataclass
class Hosts:
    fake: FakeDiscord
    one: Host
    two: Host
    url: str  # STATE_DATABASE_URL of both


@contextlib.contextmanager
def via(fake: FakeDiscord, host: Host) -> Iterator[None]:
    """Interactions sent inside the block go to `host`'s gateway session (the fake picks the first otherwise).

    Gateway events (THREAD_CREATE, MESSAGE_CREATE) still go to every session of the guild.
    """
    gateway = fake.gateway
    every = gateway.sessions_for

    def only(guild_id: int | None, shard: int | None = None) -> list[GatewaySession]:
        return [host.session] if host.session in every(guild_id, shard) else []

    gateway.sessions_for = only  # type: ignore[method-assign]
    try:
        yield
    finally:
        gateway.sessions_for = every  # type: ignore[method-assign]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hosts(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, built_db: Path
) -> AsyncIterator[Hosts]:
    url = await postgres_server.create_database()
    async with FakeDiscord() as fake:
        for key in ("member2", "member3"):
            fake.world.add_person(key, key)
        bots = []
        for n in (1, 2):
            workdir = tmp_path_factory.mktemp(f"host-{n}")
            # Each host its own fact database: a copy of the session's build of data/, so it starts in
            # seconds (a host whose data/ differs rebuilds its copy at start, as in production).
            shutil.copyfile(built_db, workdir / "facts.sqlite3")
            bots.append(BotProcess(fake, workdir, f"host-{n}", STATE_DATABASE_URL=url, COOLDOWN_USES=1000))
        try:
            started: list[Host] = []
            for bot in bots:  # one after the other, so each gateway session is known to be this process's
                known = {s.session_id for s in fake.gateway.live_sessions()}
                bot.start()
                await bot.wait_ready()
                (session,) = [s for s in fake.gateway.live_sessions() if s.session_id not in known]
                started.append(Host(bot, session))
            assert all(s.shard is None for s in fake.gateway.live_sessions()), "unsharded: both see the guild"
            yield Hosts(fake, *started, url)
        finally:
            for bot in bots:
                if bot.alive():
                    await bot.stop()
                bot.kill()
    await postgres_server.drop_database(url)


async def ask(
    fake: FakeDiscord, host: Host, name: str, options: dict[str, Any] | None = None, *, user: str
) -> tuple[InteractionRecord, dict[str, Any]]:
    with via(fake, host):
        rec = await fake.slash(name, options or {}, user=user)
    msg = await rec.wait_for_message(WAIT)
    assert not rec.violations, rec.describe()
    assert rec.payload["id"] in json.dumps(_events_to(fake, host, "INTERACTION_CREATE")), "sent to the other process"
    return rec, msg


async def _asked(url: str, query: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT coalesce(sum(asked), 0) FROM query_stats WHERE query = $1", query))
    finally:
        await conn.close()


def _events_to(fake: FakeDiscord, host: Host, event: str) -> list[dict[str, Any]]:
    return [data for name, data, targets in fake.dispatched if name == event and host.session.session_id in targets]


def bot_posts_in(fake: FakeDiscord, channel_id: int | str) -> list[Any]:
    return [r for r in fake.requests_to("POST", CHANNEL_MESSAGES) if r.params["channel_id"] == str(channel_id)]


def finish(fake: FakeDiscord, *bots: BotProcess) -> None:
    try:
        fake.assert_clean()
        for bot in bots:
            assert bot.alive(), bot.log_tail()
    finally:
        fake.violations.clear()
        fake.unhandled.clear()
        fake.fake_errors.clear()


async def test_a_report_filed_through_one_process_is_listed_by_the_other(hosts: Hosts) -> None:
    fake, one, two = hosts.fake, hosts.one, hosts.two
    _, answer = await ask(fake, one, "fact", {"query": "montreal model sessions"}, user="member")
    with via(fake, one):
        click = await fake.click(answer, custom_id_starting(answer, "factbot:report:"), user="member")
    await click.wait_for_response(WAIT)
    assert click.callback_type == MODAL and click.modal is not None, click.describe()
    with via(fake, one):
        submitted = await fake.submit_modal(
            click, {modal_inputs(click.modal)["What is wrong?"]: "filed on host one"}, user="member"
        )
    assert "sent to the moderators" in message_text(await submitted.wait_for_message(WAIT))

    _, listing = await ask(fake, two, "reports", {"status": "open"}, user="moderator")
    text = message_text(listing)
    assert is_ephemeral(listing) and "filed on host one" in text and "#1" in text, text

    _, resolved = await ask(fake, two, "reports", {"resolve": 1, "note": "fixed on host two"}, user="moderator")
    assert "Report #1 is resolved." in message_text(resolved)
    _, again = await ask(fake, one, "reports", {"resolve": 1, "note": "and again on one"}, user="moderator")
    assert "no open report #1" in message_text(again).lower(), "host one sees host two's resolution"
    finish(fake, one.bot, two.bot)


async def test_stats_on_one_process_count_the_queries_answered_by_the_other(hosts: Hosts) -> None:
    fake, one, two = hosts.fake, hosts.one, hosts.two
    for user in ("member", "member2", "member3"):
        _, msg = await ask(fake, two, "fact", {"query": QUESTION}, user=user)
        assert not is_ephemeral(msg)
    # A process counts a question right after sending its answer: wait until host two's counts are stored.
    started = time.monotonic()
    while (counted := await _asked(hosts.url, QUESTION)) < 3 and time.monotonic() - started < WAIT:
        await asyncio.sleep(0.05)
    assert counted == 3, f"host two stored {counted} of the 3 questions\n{two.bot.log_tail()}"
    _, stats = await ask(fake, one, "stats", user="moderator")
    text = message_text(stats)
    assert f"3× {QUESTION}" in text, text
    finish(fake, one.bot, two.bot)


async def test_a_new_forum_post_gets_exactly_one_auto_reply_from_two_processes(hosts: Hosts) -> None:
    fake, one, two = hosts.fake, hosts.one, hosts.two
    w = fake.world
    _, enabled = await ask(
        fake, one, "autoreply", {"action": "enable", "channel": w.forum_channel_id}, user="moderator"
    )
    assert "Auto-replies on" in message_text(enabled)
    _, status = await ask(fake, two, "autoreply", {"action": "status"}, user="moderator")
    assert f"<#{w.forum_channel_id}>" in message_text(status), "the setting is shared"

    threads = []
    for n in range(3):  # a few posts, so a race lost by chance once would still show
        thread, _ = await fake.user_forum_post(
            f"Spravato nasal spray for TRD? ({n})", "anyone tried it?", user="member"
        )
        threads.append(thread)
    for thread in threads:
        for host in (one, two):
            created = [d for d in _events_to(fake, host, "THREAD_CREATE") if d["id"] == thread["id"]]
            assert created, f"{host.bot.name} did not receive THREAD_CREATE for {thread['id']}"
        await fake.wait_until(lambda t=thread: bot_posts_in(fake, t["id"]), WAIT, f"the auto-reply in {thread['id']}")
    # One round trip through each process after the posts, so a late second reply would have arrived.
    for host in (one, two):
        await ask(fake, host, "autoreply", {"action": "status"}, user="moderator")
    assert [len(bot_posts_in(fake, t["id"])) for t in threads] == [1, 1, 1], "exactly one reply per post"
    finish(fake, one.bot, two.bot)
