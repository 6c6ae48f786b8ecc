"""Discord unreachable: the real bot (`python -m bot run`) waits and retries with one line per attempt,
connects when Discord comes back, and stops within 3 s of SIGTERM whatever it is doing.

Small backoff settings (DISCORD_RETRY_MIN_SECONDS / _MAX_SECONDS) keep the module quick; the fake
Discord is started on a port chosen in advance, so the bot can be pointed at it before it exists.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import BotProcess, message_text
from fake_discord import FakeDiscord, InteractionRecord

pytestmark = pytest.mark.asyncio(loop_scope="function")

FAST: dict[str, object] = {"DISCORD_RETRY_MIN_SECONDS": 0.5, "DISCORD_RETRY_MAX_SECONDS": 2}


@pytest.fixture(autouse=True)
def _shared_fact_database(built_db: Path) -> None:
    """Bots read the session's built (current) fact database: no start-up spends seconds rebuilding."""
    FAST["DATABASE_PATH"] = built_db


STOP_WITHIN = 3.0
FACT_ID = re.compile(r"\bk-[0-9a-f]{6,}\b")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(predicate: Callable[[], bool], timeout: float, what: str, bot: BotProcess) -> None:
    """Poll (the fake may not be running, so its change events cannot be used)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if not bot.alive():
            raise AssertionError(f"{bot.name} exited with {bot.returncode} waiting for {what}\n{bot.log_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{bot.log_tail()}")
        await asyncio.sleep(0.1)


async def ask(fake: FakeDiscord, name: str, options: dict[str, str]) -> tuple[InteractionRecord, dict[str, object]]:
    rec = await fake.slash(name, options)
    msg = await rec.wait_for_message(15)
    assert not rec.violations, rec.describe()
    return rec, msg


def unreachable_lines(bot: BotProcess, where: str) -> list[str]:
    pattern = re.compile(rf"WARNING +factbot: Discord unreachable at {re.escape(where)}: (.+); retrying in [\d.]+ s$")
    return [m[1] for line in bot.log_text().splitlines() if (m := pattern.search(line))]


async def stop_quickly(bot: BotProcess, state: str) -> None:
    code = await bot.stop()
    print(f"SIGTERM while {state}: exit {code} after {bot.stop_seconds:.2f} s")  # shown with `pytest -s`
    assert code == 0, bot.log_tail()
    assert bot.stop_seconds is not None and bot.stop_seconds < STOP_WITHIN, f"SIGTERM took {bot.stop_seconds:.2f} s"
    assert "stopped cleanly" in bot.log_text() or "stopped by SIGTERM" in bot.log_text(), bot.log_tail()
    beat = bot.heartbeat()
    assert beat is None or beat["connected"] is False


def assert_no_traceback(bot: BotProcess) -> None:
    assert "Traceback" not in bot.log_text(), bot.log_tail(80)


async def test_unreachable_at_start_then_up_then_gone(tmp_path: Path) -> None:
    fake = FakeDiscord(port=free_port())
    bot = BotProcess(fake, tmp_path / "bot", "outage", **FAST).start()
    try:
        await asyncio.sleep(10)
        assert bot.alive(), bot.log_tail()
        reasons = unreachable_lines(bot, fake.api_base)
        assert len(reasons) >= 4 and set(reasons) == {"connection refused"}, bot.log_tail()
        assert_no_traceback(bot)
        code, line = await bot.health()
        assert code == 1 and "disconnected" in line, line

        await fake.start()  # Discord comes back: the bot connects and answers
        await bot.wait_ready(timeout=15)
        rec, msg = await ask(fake, "fact", {"query": "ketamine"})
        assert rec.callback_type == 4 and FACT_ID.search(message_text(msg))
        await until(bot.connected, 10, "a connected heartbeat", bot)

        await fake.close()  # and goes away again: discord.py's reconnect loop, in the bot's words
        await until(lambda: bool(unreachable_lines(bot, fake.gateway_url)), 15, "a reconnect line", bot)
        await until(lambda: not bot.connected(), 5, "a disconnected heartbeat", bot)
        code, line = await bot.health()
        assert code == 1 and "disconnected" in line, line
        assert_no_traceback(bot)
        await stop_quickly(bot, "reconnecting")
    finally:
        bot.kill()
        await fake.close()


async def test_sigterm_during_a_long_backoff(tmp_path: Path) -> None:
    fake = FakeDiscord(port=free_port())
    slow = {**FAST, "DISCORD_RETRY_MIN_SECONDS": 60, "DISCORD_RETRY_MAX_SECONDS": 60}
    bot = BotProcess(fake, tmp_path / "bot", "backoff", **slow)
    bot.start()
    try:
        await until(lambda: bool(unreachable_lines(bot, fake.api_base)), 15, "the first retry line", bot)
        await stop_quickly(bot, "sleeping in a 30-60 s backoff")
        assert_no_traceback(bot)
    finally:
        bot.kill()


async def test_sigterm_while_connecting_to_a_silent_server(tmp_path: Path) -> None:
    """Something listens but never answers (a stuck proxy): SIGTERM ends the wait at once."""
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fake = FakeDiscord(port=port)
    bot = BotProcess(fake, tmp_path / "bot", "silent", **FAST).start()
    try:
        await until(lambda: bool(accepted), 15, "the bot to connect", bot)
        await asyncio.sleep(0.5)
        await stop_quickly(bot, "connecting to a server that never answers")
        assert_no_traceback(bot)
    finally:
        bot.kill()
        server.close()
        for writer in accepted:
            writer.close()


async def test_5xx_from_gateway_bot_is_a_wait_then_it_connects(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        fake.fail_next("GET", "/gateway/bot", 503, times=2)
        fake.fail_next("GET", "/users/@me", 502, times=1)  # discord.py retries this one itself
        bot = BotProcess(fake, tmp_path / "bot", "flaky", **FAST).start()
        try:
            await bot.wait_ready(timeout=20)
            assert unreachable_lines(bot, fake.api_base) == ["HTTP 503", "HTTP 503"], bot.log_tail()
            rec, _ = await ask(fake, "fact", {"query": "ketamine"})
            assert rec.callback_type == 4
            assert_no_traceback(bot)
            await stop_quickly(bot, "connected")
        finally:
            bot.kill()


async def test_invalid_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        bot = BotProcess(fake, tmp_path / "bot", "badtoken", DISCORD_TOKEN="not-the-token", **FAST).start()
        try:
            assert bot.proc is not None
            started = time.monotonic()
            code = await asyncio.to_thread(bot.proc.wait, 15)
            assert code == 2, bot.log_tail()
            assert time.monotonic() - started < 10
            lines = [line for line in bot.log_text().splitlines() if line.strip()]
            assert lines == [
                "error: Discord rejected DISCORD_TOKEN (401 Unauthorized): check it in the developer portal "
                "(Bot → Reset Token); not retrying"
            ], bot.log_text()
            assert fake.requests_to("GET", "/gateway/bot"), "the token was checked against Discord"
        finally:
            bot.kill()
        fake.violations.clear()  # the fake records the bad Authorization header as a violation: expected


async def test_sigterm_mid_ingest(tmp_path: Path) -> None:
    """The fact database is being (re)built at start-up: SIGTERM stops it and leaves no half-built file."""
    fake = FakeDiscord(port=free_port())
    workdir = tmp_path / "bot"
    fresh = {k: v for k, v in FAST.items() if k != "DATABASE_PATH"}
    bot = BotProcess(fake, workdir, "ingest", **fresh).start()  # a fresh folder: a full build, vectors too
    try:
        await until(lambda: "rebuilding" in bot.log_text(), 15, "the rebuild to start", bot)
        await asyncio.sleep(0.3)
        await stop_quickly(bot, "building the fact database")
        assert_no_traceback(bot)
        assert not list(workdir.glob(".facts.sqlite3.*.tmp")), "the half-built database must be removed"
    finally:
        bot.kill()
