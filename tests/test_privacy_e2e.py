"""Privacy end to end (issue 18): one real bot process serving two guilds of the fake Discord.

A moderator of one guild sees and changes nothing of the other's (stats, reports, resolve, audit,
the moderator log), private questions appear in no moderator view and are not in the state file,
and the per-member report limit answers with a polite private note. `World.add_guild()` gives the
fake its second guild; the bot syncs its commands to both (GUILD_IDS).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from e2e_support import BotProcess, custom_id_starting, is_ephemeral, message_text, modal_inputs
from fake_discord import FakeDiscord, InteractionRecord

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAIT = 15.0
MODAL = 9
PRIVATE_QUESTION = "can ketamine help me tonight, I feel suicidal"
PUBLIC_QUESTION = "esketamine nasal spray"
CHANNEL_MESSAGES = "/channels/{channel_id}/messages"


@dataclass
class Two:
    fake: FakeDiscord
    bot: BotProcess
    guild_b: int
    text_b: int

    @property
    def state_path(self) -> Path:
        return Path(self.bot.env["STATE_DATABASE_PATH"])


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def two(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Two]:
    async with FakeDiscord() as fake:
        w = fake.world
        guild_b = w.add_guild()
        for key in ("member2", "member3"):
            w.add_person(key, key)
        bot = BotProcess(
            fake,
            tmp_path_factory.mktemp("bot-two-guilds"),
            "two-guilds",
            GUILD_IDS=f"{w.guild_id},{guild_b}",
            COOLDOWN_USES=1000,
            MOD_LOG_CHANNEL_ID=w.text_channel_id,  # guild A's channel: guild B's reports must not land here
        )
        try:
            bot.start()
            await bot.wait_ready()
            await fake.wait_for_commands(guild_id=guild_b, timeout=WAIT)
            yield Two(fake, bot, guild_b, w.extra_guilds[guild_b]["text_channel_id"])
        finally:
            if bot.alive():
                await bot.stop()
            bot.kill()


async def ask(
    fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, *, user: str, channel_id: int | None = None
) -> tuple[InteractionRecord, dict[str, Any]]:
    rec = await fake.slash(name, options or {}, user=user, channel_id=channel_id)
    msg = await rec.wait_for_message(WAIT)
    assert not rec.violations, rec.describe()
    return rec, msg


async def file_report(fake: FakeDiscord, *, user: str, channel_id: int, problem: str) -> InteractionRecord:
    """Ask publicly, press 🚩 Report on the answer, submit the form; returns the click's record."""
    _, answer = await ask(fake, "fact", {"query": "montreal model sessions"}, user=user, channel_id=channel_id)
    click = await fake.click(answer, custom_id_starting(answer, "factbot:report:"), user=user)
    await click.wait_for_response(WAIT)
    if click.callback_type != MODAL or click.modal is None:
        return click
    inputs = modal_inputs(click.modal)
    submitted = await fake.submit_modal(click, {inputs["What is wrong?"]: problem}, user=user)
    thanks = await submitted.wait_for_message(WAIT)
    assert "sent to the moderators" in message_text(thanks), message_text(thanks)
    return click


def bot_posts_in(fake: FakeDiscord, channel_id: int) -> list[Any]:
    return [r for r in fake.requests_to("POST", CHANNEL_MESSAGES) if r.params["channel_id"] == str(channel_id)]


def finish(fake: FakeDiscord) -> None:
    try:
        fake.assert_clean()
    finally:
        fake.violations.clear()
        fake.unhandled.clear()
        fake.fake_errors.clear()


async def test_one_bot_serves_both_guilds(two: Two) -> None:
    fake, w = two.fake, two.fake.world
    a, b = w.guild_payload(), w.guild_payload(guild_id=two.guild_b)
    assert [c["id"] for c in b["channels"]] == [str(two.text_b)] and str(two.text_b) not in str(a["channels"])
    b_people = {m["user"]["username"] for m in b["members"]}
    assert b_people == {"mod_b", "member_b", "FactBot"}
    assert b_people & {m["user"]["username"] for m in a["members"]} == {"FactBot"}, "only the bot is in both"
    assert {c["name"] for c in fake.commands[two.guild_b]} >= {"fact", "stats", "reports"}
    _, msg = await ask(fake, "fact", {"query": PUBLIC_QUESTION}, user="member_b", channel_id=two.text_b)
    assert not is_ephemeral(msg) and msg["channel_id"] == str(two.text_b)
    finish(fake)


async def test_stats_are_per_guild_and_private_questions_appear_nowhere(two: Two) -> None:
    fake, w = two.fake, two.fake.world
    for user in ("member", "member2", "member3"):
        await ask(fake, "fact", {"query": PUBLIC_QUESTION}, user=user)
        _, private = await ask(fake, "fact", {"query": PRIVATE_QUESTION, "private": True}, user=user)
        assert is_ephemeral(private)
    await ask(fake, "fact", {"query": "a question only one member asked"}, user="member")

    _, stats_a = await ask(fake, "stats", user="moderator")
    text_a = message_text(stats_a)
    assert f"3× {PUBLIC_QUESTION}" in text_a, text_a
    assert "only one member asked" not in text_a and "(1 not shown yet)" in text_a
    assert "at least 3 different members" in text_a
    _, stats_b = await ask(fake, "stats", user="moderator_b", channel_id=two.text_b)
    text_b = message_text(stats_b)
    assert PUBLIC_QUESTION not in text_b, "guild B must not see guild A's queries"
    for text in (text_a, text_b):
        assert "suicidal" not in text and str(w.member_id) not in text

    _, reports = await ask(fake, "reports", {"status": "all"}, user="moderator")
    assert "suicidal" not in message_text(reports)
    conn = sqlite3.connect(two.state_path)
    try:
        queries = {row[0] for row in conn.execute("SELECT query FROM query_stats")}
    finally:
        conn.close()
    assert PUBLIC_QUESTION in queries and not any("suicidal" in q for q in queries)
    raw = b"".join(p.read_bytes() for p in two.state_path.parent.glob(two.state_path.name + "*"))
    assert b"suicidal" not in raw, "the private question is nowhere in the state files"
    finish(fake)


async def test_reports_resolve_audit_and_log_are_per_guild(two: Two) -> None:
    fake, w = two.fake, two.fake.world
    log_before = len(bot_posts_in(fake, w.text_channel_id))
    await file_report(fake, user="member", channel_id=w.text_channel_id, problem="guild A: the year is wrong")
    await file_report(fake, user="member2", channel_id=w.text_channel_id, problem="guild A: the dose is per kg")
    await fake.wait_until(lambda: len(bot_posts_in(fake, w.text_channel_id)) >= log_before + 2, WAIT, "A's log")
    await file_report(fake, user="member_b", channel_id=two.text_b, problem="guild B: outdated source")

    _, listing_b = await ask(fake, "reports", {"status": "all"}, user="moderator_b", channel_id=two.text_b)
    text_b = message_text(listing_b)
    assert "guild B: outdated source" in text_b and "#1" in text_b and "guild A" not in text_b, text_b
    assert str(w.member_id) not in text_b

    _, foreign = await ask(fake, "reports", {"resolve": 2, "note": "from B"}, user="moderator_b", channel_id=two.text_b)
    assert "No such report" in message_text(foreign) and "#2 in this server" in message_text(foreign)
    _, own = await ask(fake, "reports", {"resolve": 1, "note": "checked"}, user="moderator_b", channel_id=two.text_b)
    assert "Report #1 is resolved." in message_text(own)

    _, listing_a = await ask(fake, "reports", {"status": "open"}, user="moderator")
    text_a = message_text(listing_a)
    assert "guild A: the year is wrong" in text_a and "guild A: the dose is per kg" in text_a, text_a
    assert "guild B" not in text_a

    conn = sqlite3.connect(two.state_path)
    try:
        audit = [(g, a, json.loads(d)) for g, a, d in conn.execute("SELECT guild_id, action, detail FROM audit")]
    finally:
        conn.close()
    assert audit == [(two.guild_b, "report.resolved", {"note": "checked", "report": 1})]

    log_a = json.dumps([r.json for r in bot_posts_in(fake, w.text_channel_id)], ensure_ascii=False)
    assert "guild A: the year is wrong" in log_a and "guild B" not in log_a, "B's report never reaches A's log"
    finish(fake)


async def test_a_member_past_five_reports_an_hour_gets_a_polite_note(two: Two) -> None:
    fake, w = two.fake, two.fake.world
    for n in range(5):  # member3 has filed none yet: up to the limit
        await file_report(fake, user="member3", channel_id=w.text_channel_id, problem=f"problem number {n}")
    click = await file_report(fake, user="member3", channel_id=w.text_channel_id, problem="one too many")
    assert click.callback_type == 4, "no form past the limit"
    note = click.callback["data"] if click.callback else {}
    assert int(note.get("flags") or 0) & 64, "the note is private"
    assert "You sent 5 reports in the last hour" in message_text(note)
    finish(fake)
