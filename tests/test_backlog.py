"""The 3-second rule under load (issue 13): bounded work, an early defer, "busy" instead of silence.

Unit tests drive `bot.discord.backlog.Backlog` with spec'd mock interactions; one end-to-end run of
the load benchmark (`python -m bench load`, tiny) sends a burst at a bot with one worker and a
backlog of three, so the fake Discord checks the defer, the follow-up and the busy notice for real.
"""

from __future__ import annotations

import asyncio
import datetime
import shutil
import sys
from pathlib import Path

import discord
import pytest

from bench.load import percentile, run_load, summarize
from bot.answers.answers import Answers
from bot.answers.render import message_reply
from bot.answers.reply import Reply
from bot.discord.backlog import BUSY_TITLE, LAG_HIGH, Backlog
from bot.discord.services import Services
from tests.helpers import mock_interaction, sent, text_of

ROOT = Path(__file__).resolve().parents[1]


def backlog(services: Services, **options: float) -> Backlog:
    settings: dict[str, float] = {"workers": 1, "limit": 1, "defer_after": 0.05, **options}
    return Backlog(
        services.delivery,
        lambda: services.answers,
        workers=int(settings["workers"]),
        limit=int(settings["limit"]),
        defer_after=settings["defer_after"],
    )


def answer_after(seconds: float, gate: asyncio.Event | None = None) -> object:
    async def produce(answers: Answers) -> Reply:
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(seconds)
        return message_reply("Done", f"answered on {id(answers)}", ephemeral=False)

    return produce


async def test_a_quick_answer_is_the_first_response(services: Services) -> None:
    interaction = mock_interaction(services)
    reply = await backlog(services).answer(interaction, answer_after(0), ephemeral=False)  # type: ignore[arg-type]
    assert reply is not None
    interaction.response.defer.assert_not_called()
    assert "Done" in text_of(sent(interaction))
    assert interaction.response.send_message.call_args.kwargs["ephemeral"] is False


async def test_a_slow_answer_is_deferred_then_followed_up(services: Services) -> None:
    interaction = mock_interaction(services)
    await backlog(services).answer(interaction, answer_after(0.2), ephemeral=True)  # type: ignore[arg-type]
    interaction.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    interaction.followup.send.assert_awaited_once()
    assert "Done" in text_of(sent(interaction))


async def test_a_slow_page_turn_is_a_deferred_update_then_an_edit(services: Services) -> None:
    interaction = mock_interaction(services)
    await backlog(services).answer(interaction, answer_after(0.2), ephemeral=True, update=True)  # type: ignore[arg-type]
    interaction.response.defer.assert_awaited_once_with()  # type 6: the message is updated later
    interaction.edit_original_response.assert_awaited_once()
    interaction.response.edit_message.assert_not_called()


async def test_past_the_backlog_a_private_busy_notice_at_once(services: Services) -> None:
    gate = asyncio.Event()
    queue = backlog(services, workers=1, limit=1, defer_after=5)
    running = asyncio.create_task(queue.answer(mock_interaction(services), answer_after(0, gate), ephemeral=False))  # type: ignore[arg-type]
    waiting = asyncio.create_task(queue.answer(mock_interaction(services), answer_after(0), ephemeral=False))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert queue.running == 1 and queue.waiting == 1
    turned_away = mock_interaction(services)
    called = False

    async def never(answers: Answers) -> Reply:
        nonlocal called
        called = True
        raise AssertionError("no work past the backlog")

    assert await queue.answer(turned_away, never, ephemeral=False) is None
    notice = sent(turned_away)
    assert notice["ephemeral"] is True and BUSY_TITLE in text_of(notice) and "try again in a minute" in text_of(notice)
    assert not called
    gate.set()
    assert (await running) is not None and (await waiting) is not None
    assert queue.running == 0 and queue.counts["busy"] == 1


async def test_a_burst_in_one_loop_turn_is_bounded_too(services: Services) -> None:
    """Questions that arrive together count as waiting before their tasks have run."""
    gate = asyncio.Event()
    queue = backlog(services, workers=1, limit=3, defer_after=5)
    interactions = [mock_interaction(services) for _ in range(10)]
    burst = [
        asyncio.create_task(queue.answer(i, answer_after(0, gate), ephemeral=False))  # type: ignore[arg-type]
        for i in interactions
    ]
    await asyncio.sleep(0.01)
    assert queue.running == 1 and queue.waiting == 3 and queue.counts["busy"] == 6
    gate.set()
    replies = await asyncio.gather(*burst)
    assert sum(r is not None for r in replies) == 4 and queue.running == queue.pending == 0


async def test_a_long_queue_is_acknowledged_at_once(services: Services) -> None:
    gate = asyncio.Event()
    queue = backlog(services, workers=1, limit=10, defer_after=0.5)
    queue.service = 1.0  # answers have been taking a second each: nobody behind the first can be on time
    first = asyncio.create_task(queue.answer(mock_interaction(services), answer_after(0, gate), ephemeral=False))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    behind = mock_interaction(services)
    second = asyncio.create_task(queue.answer(behind, answer_after(0), ephemeral=False))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)  # far less than defer_after
    behind.response.defer.assert_awaited_once_with(ephemeral=False, thinking=True)
    gate.set()
    await asyncio.gather(first, second)
    behind.followup.send.assert_awaited_once()


async def test_an_interaction_that_waited_past_the_deadline_here_is_dropped(services: Services) -> None:
    queue = backlog(services, defer_after=5)
    fresh = mock_interaction(services)
    fresh.created_at = discord.utils.utcnow() - datetime.timedelta(seconds=0.3)  # network + a clock off a bit
    assert await queue.answer(fresh, answer_after(0), ephemeral=False) is not None  # type: ignore[arg-type]
    stale = mock_interaction(services)
    stale.created_at = discord.utils.utcnow() - datetime.timedelta(seconds=4)
    assert await queue.answer(stale, answer_after(0), ephemeral=False) is None  # type: ignore[arg-type]
    stale.response.send_message.assert_not_called()
    stale.response.defer.assert_not_called()
    assert queue.counts["expired"] == 1


async def test_autocomplete_only_with_a_free_slot_and_lag_narrows_the_slots(services: Services) -> None:
    gate = asyncio.Event()
    queue = backlog(services, workers=2, limit=5, defer_after=5)

    async def choices(answers: Answers) -> list[str]:
        return ["ketamine"]

    assert await queue.quick(choices, []) == ["ketamine"]
    busy = [
        asyncio.create_task(queue.answer(mock_interaction(services), answer_after(0, gate), ephemeral=False))  # type: ignore[arg-type]
        for _ in range(2)
    ]
    await asyncio.sleep(0.01)
    assert await queue.quick(choices, []) == [], "no slot free: no choices rather than a late answer"
    assert queue.in_flight(services.answers) == 2
    queue.lag = LAG_HIGH * 2  # the loop is late: one answer at a time
    third = asyncio.create_task(queue.answer(mock_interaction(services), answer_after(0), ephemeral=False))  # type: ignore[arg-type]
    gate.set()
    await asyncio.gather(*busy, third)
    assert queue.running == 0 and queue.in_flight(services.answers) == 0


def test_percentiles_and_outcomes_of_the_load_report() -> None:
    assert percentile([], 50) is None
    assert percentile([float(v) for v in range(1, 101)], 99) == 99.0
    summary = summarize([], 10, 1, 1.0)
    assert summary["sent"] == 0 and summary["over_3s"] == 0


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for the bot's CPU time")
async def test_load_benchmark_smoke_defers_and_turns_away_without_breaking_the_rule(
    tmp_path: Path, built_db: Path
) -> None:
    """`python -m bench load` in miniature: 30 /fact in 0.05 s at a bot with one worker and a backlog
    of 3 and no grace before deferring: every interaction is acknowledged in time, every one is
    finished (answered after a defer, or told "busy"), and the fake Discord saw no broken rule.
    (At 30 in 0.5 s a fast machine answers each before the next arrives and nothing is turned away.)"""
    workdir = tmp_path / "bot"
    workdir.mkdir()
    shutil.copy(built_db, workdir / "facts.sqlite3")  # current: the bot starts without rebuilding
    report = await run_load(
        600,
        0.05,
        workdir=workdir,
        settings={"ANSWER_WORKERS": 1, "ANSWER_BACKLOG": 3, "ANSWER_DEFER_MS": 0},
        validate_every=1,
        warmup=2,
    )
    assert report["sent"] == 30
    assert report["over_3s"] == 0 and report["not_completed_within_30s"] == 0, report
    assert report["violation_count"] == 0, report["violations"]
    assert report["outcomes"].get("deferred", 0) >= 1 and report["outcomes"].get("busy", 0) >= 1, report["outcomes"]
    assert set(report["outcomes"]) <= {"answered", "deferred", "busy"}, report["outcomes"]
    assert report["bot_exit"] == 0 and report["bot_log"]["tracebacks"] == 0
