"""End to end: the real bot (`python -m bot run`, a subprocess) against the fake Discord.

One long-lived bot process serves most tests (module-scoped fixture, module-scoped event loop);
restart/sync, sharding and SIGTERM get their own processes and their own fake. The fake validates
every request body against Discord's OpenAPI spec and enforces the interaction rules (3 s ack,
acknowledge once), and every test ends with ``fake.assert_clean()``.

The median interaction round trip (dispatch -> callback, measured by the fake) over the whole run is
printed at the end and written to ``<pytest basetemp>/e2e_rtt.json``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from e2e_support import (
    RTT,
    BotProcess,
    custom_id_starting,
    is_ephemeral,
    message_text,
    modal_inputs,
)
from fake_discord import FakeDiscord, InteractionRecord
from fake_discord.world import Person, fixed_snowflake, user_payload

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAIT = 15.0  # generous: a loaded CI machine must not make these flaky
FACT_ID = re.compile(r"\bk-[0-9a-f]{6,}\b")
EPHEMERAL = 64
MANAGE_THREADS = 1 << 34
EXPECTED_COMMANDS = {
    (1, "fact"),
    (1, "source"),
    (1, "protocol"),
    (1, "compare"),
    (1, "summary"),
    (1, "autoreply"),
    (1, "reports"),
    (1, "stats"),
    (1, "about"),
    (1, "reload"),
    (3, "Find sources"),
}
GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"
CHANNEL_MESSAGES = "/channels/{channel_id}/messages"
THREADS = "/channels/{channel_id}/threads"


# ------------------------------------------------------------------------------------------ fixtures


class _RttSummary:
    """Prints the median round trip in pytest's terminal summary (after all tests, never captured)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        summary = RTT.summary()
        terminalreporter.write_line(
            f"e2e: median interaction round trip {summary['median_ms']} ms over {summary['interactions']} "
            f"interactions (p90 {summary['p90_ms']} ms, max {summary['max_ms']} ms); samples in {self.path}"
        )


@pytest.fixture(scope="session", autouse=True)
def rtt_report(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[None]:
    """At the end: write all round-trip samples to e2e_rtt.json and print the median."""
    path = tmp_path_factory.getbasetemp() / "e2e_rtt.json"
    request.config.pluginmanager.register(_RttSummary(path), "factbot-e2e-rtt")
    yield
    path.write_text(json.dumps(RTT.summary(), indent=2), encoding="utf-8")


@dataclass
class Live:
    fake: FakeDiscord
    bot: BotProcess


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    """One fake Discord and one real bot process for the module."""
    async with FakeDiscord() as fake:
        bot = BotProcess(
            fake,
            tmp_path_factory.mktemp("bot-main"),
            "main",
            COOLDOWN_USES=1000,  # the tests ask far more than a person would in 30 s
            MOD_LOG_CHANNEL_ID=fake.world.text_channel_id,
        )
        try:
            bot.start()
            await bot.wait_ready()
            yield Live(fake, bot)
        finally:
            if bot.alive():
                await bot.stop()
            bot.kill()


# ------------------------------------------------------------------------------------------ helpers


def _label(rec: InteractionRecord) -> str:
    data = rec.payload.get("data") or {}
    if rec.type == 2:
        return f"/{data.get('name')}" if data.get("type", 1) == 1 else f"menu {data.get('name')}"
    if rec.type == 3:
        return "button " + ":".join(str(data.get("custom_id", "")).split(":")[:2])
    if rec.type == 4:
        return f"autocomplete /{data.get('name')}"
    return "modal submit" if rec.type == 5 else f"type {rec.type}"


_logged: set[int] = set()


def log_round_trips(fake: FakeDiscord) -> None:
    for rec in fake.interactions.values():
        if rec.id not in _logged and rec.rtt_ms is not None:
            _logged.add(rec.id)
            RTT.add(_label(rec), rec)


def finish(fake: FakeDiscord) -> None:
    """End of a test: log round trips, check nobody could be pinged, then ``assert_clean`` (and reset).

    The reset keeps one test's rule break from failing every later test on the shared fake.
    """
    log_round_trips(fake)
    try:
        assert_no_pings(fake)
        fake.assert_clean()
    finally:
        fake.violations.clear()
        fake.unhandled.clear()
        fake.fake_errors.clear()


@pytest.fixture(autouse=True)
def _leftover_problems(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test on the shared bot that failed before its own ``finish()``: report (and clear) its rule breaks."""
    yield
    live = request.node.funcargs.get("live")
    if isinstance(live, Live):
        log_round_trips(live.fake)
        if live.fake.problems():
            finish(live.fake)


def _message_bodies(fake: FakeDiscord) -> Iterator[tuple[str, dict[str, Any]]]:
    for req in fake.requests:
        body = req.json if isinstance(req.json, dict) else None
        if body is None or req.template is None:
            continue
        if req.template.endswith("/callback") and body.get("type") in (4, 7):
            yield req.route, body.get("data") or {}
        elif req.template.startswith("/webhooks/") or req.template == CHANNEL_MESSAGES:
            yield req.route, body
        elif req.template == THREADS and isinstance(body.get("message"), dict):
            yield req.route, body["message"]


def assert_no_pings(fake: FakeDiscord) -> None:
    """README: `allowed_mentions` is empty on every message the bot sends."""
    for route, body in _message_bodies(fake):
        if not ({"content", "embeds"} & body.keys()):
            continue  # e.g. an edit of the buttons only
        mentions = body.get("allowed_mentions")
        assert mentions is not None and mentions.get("parse") == [], f"{route} may ping: {body}"
        assert not mentions.get("users") and not mentions.get("roles") and not mentions.get("replied_user"), route


async def ask(
    fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, *, user: str = "member"
) -> tuple[InteractionRecord, dict[str, Any]]:
    """Run a slash command and return its record and the finished reply."""
    rec = await fake.slash(name, options or {}, user=user)
    msg = await rec.wait_for_message(WAIT)
    assert not rec.violations, rec.describe()
    return rec, msg


def stored(fake: FakeDiscord, message: dict[str, Any]) -> dict[str, Any]:
    return fake.messages[int(message["id"])]


def bot_posts_in(fake: FakeDiscord, channel_id: int | str) -> list[Any]:
    """The bot's messages that Discord accepted in a channel or thread."""
    return [
        r
        for r in fake.requests_to("POST", CHANNEL_MESSAGES)
        if r.params["channel_id"] == str(channel_id) and r.status == 200
    ]


# ------------------------------------------------------------------------------------------ 1. startup


async def test_startup_syncs_commands_to_the_guild(live: Live) -> None:
    fake, w = live.fake, live.fake.world
    commands = await fake.wait_for_commands(guild_id=w.guild_id, timeout=WAIT)
    assert {(c["type"], c["name"]) for c in commands} == EXPECTED_COMMANDS
    assert not fake.commands.get(None), "GUILD_IDS is set: nothing should be synced globally"
    assert fake.sync_puts == 1
    (put,) = fake.requests_to("PUT", GUILD_COMMANDS)
    assert put.status == 200 and put.params["guild_id"] == str(w.guild_id)
    gets = fake.requests_to("GET", GUILD_COMMANDS)
    assert gets and gets[0].at <= put.at, "sync-if-different compares with a GET first"
    by_name = {c["name"]: c for c in commands}
    for name in ("summary", "autoreply", "reports", "stats"):
        assert by_name[name]["default_member_permissions"] == str(MANAGE_THREADS), name
    for name in ("fact", "source", "protocol", "compare", "about"):
        assert by_name[name]["default_member_permissions"] is None, name
    beat = await live.bot.wait_heartbeat()
    assert beat["connected"] is True and beat["shards"] is None
    code, said = await live.bot.health()
    assert code == 0 and said.startswith("ok"), said
    assert [i.get("shard") for i in fake.identifies] == [None]
    finish(fake)


# ------------------------------------------------------------------------------------------ 2. commands


async def test_fact_query_public_private_and_by_id(live: Live) -> None:
    fake = live.fake
    rec, msg = await ask(fake, "fact", {"query": "how long is a session"})
    assert rec.callback_type == 4 and not is_ephemeral(msg)
    text = message_text(msg)
    assert "Facts for" in text and "Not medical advice" in text
    ids = FACT_ID.findall(text)
    assert ids, text

    rec, msg = await ask(fake, "fact", {"query": "benzos and ketamine", "private": True})
    assert int(msg["flags"]) & EPHEMERAL, "private:true must answer ephemerally (flag 64)"
    assert int((rec.callback or {})["data"]["flags"]) & EPHEMERAL
    assert "benzodiazepine" in message_text(msg).lower()

    rec, msg = await ask(fake, "fact", {"id": ids[0]})
    assert not is_ephemeral(msg)
    assert ids[0] in message_text(msg)
    finish(fake)


async def test_source_protocol_compare_and_about(live: Live) -> None:
    fake = live.fake
    _, msg = await ask(fake, "source", {"query": "montreal model"})
    assert "montreal model" in message_text(msg).lower()

    _, msg = await ask(fake, "protocol", {"name": "montreal"})
    assert "0.5 mg/kg infused over 40 minutes" in message_text(msg)
    assert FACT_ID.search(message_text(msg)), "every protocol line carries its fact id"

    _, msg = await ask(fake, "compare", {"first": "ketamine", "second": "psilocybin"})
    assert "disembodiment" in message_text(msg)

    _, msg = await ask(fake, "about")
    text = message_text(msg)
    assert is_ephemeral(msg) and "About this bot" in text and "facts" in text and "Shard" in text
    finish(fake)


async def test_hostile_query_answers_and_pings_nobody(live: Live) -> None:
    fake = live.fake
    rec, msg = await ask(fake, "fact", {"query": '"@everyone NEAR( *'})
    assert rec.callback_type == 4 and message_text(msg)
    assert msg["mentions"] == [] and msg["mention_roles"] == [] and not msg["mention_everyone"]
    assert (rec.callback or {})["data"]["allowed_mentions"]["parse"] == []
    assert "went wrong" not in message_text(msg).lower(), message_text(msg)
    finish(fake)


# ------------------------------------------------------------------------------------------ 3. autocomplete


async def test_autocomplete_fact_and_protocol(live: Live) -> None:
    fake = live.fake
    rec = await fake.autocomplete("fact", {"query": "ket"}, focused="query")
    await rec.wait_for_response(WAIT)
    assert rec.callback_type == 8 and 1 <= len(rec.choices) <= 25
    assert any("ketamine" in c["name"].lower() for c in rec.choices), rec.choices
    assert all(1 <= len(c["name"]) <= 100 and 1 <= len(str(c["value"])) <= 100 for c in rec.choices)

    rec = await fake.autocomplete("protocol", {"name": "mont"}, focused="name")
    await rec.wait_for_response(WAIT)
    assert rec.callback_type == 8 and 1 <= len(rec.choices) <= 25
    assert any("montreal" in c["name"].lower() for c in rec.choices), rec.choices

    rec = await fake.autocomplete("protocol", {"name": ""}, focused="name")
    await rec.wait_for_response(WAIT)
    assert rec.callback_type == 8 and len(rec.choices) <= 25
    finish(fake)


# ------------------------------------------------------------------------------------------ 4. paging


async def test_paging_only_for_the_asker(live: Live) -> None:
    fake = live.fake
    _, msg = await ask(fake, "fact", {"query": "ketamine"})
    assert "Page 1/" in message_text(msg)

    turn = await fake.click(msg, custom_id_starting(msg, "factbot:page:next:"), user="member")
    await turn.wait_for_response(WAIT)
    assert turn.callback_type == 7, turn.describe()  # the message itself is updated
    page2 = stored(fake, msg)
    assert "Page 2/" in message_text(page2)
    prev = next(
        c
        for row in page2["components"]
        for c in row["components"]
        if c.get("custom_id", "").startswith("factbot:page:prev:")
    )
    assert prev["disabled"] is False
    before = copy.deepcopy(page2)

    other = await fake.click(msg, custom_id_starting(page2, "factbot:page:next:"), user="moderator")
    refusal = await other.wait_for_message(WAIT)
    assert other.callback_type == 4 and is_ephemeral(refusal)
    assert "Not your answer" in message_text(refusal)
    assert stored(fake, msg) == before, "someone else's click must not change the answer"

    back = await fake.click(msg, prev["custom_id"], user="member")
    await back.wait_for_response(WAIT)
    assert back.callback_type == 7 and "Page 1/" in message_text(stored(fake, msg))
    finish(fake)


# ------------------------------------------------------------------------------------------ 5. Find sources


async def test_find_sources_menu_then_share(live: Live) -> None:
    fake = live.fake
    posted = await fake.post_user_message("do benzos weaken ketamine?")
    rec = await fake.message_command("Find sources", posted, user="member")
    answer = await rec.wait_for_message(WAIT)
    assert is_ephemeral(answer), "Find sources answers privately"
    assert FACT_ID.search(message_text(answer))
    share_id = custom_id_starting(answer, "factbot:share:")

    share = await fake.click(answer, share_id, user="member")
    shared = await share.wait_for_message(WAIT)
    assert share.callback_type == 4 and not is_ephemeral(shared), "Share posts publicly"
    assert shared["channel_id"] == str(fake.world.text_channel_id)
    shared_ids = set(FACT_ID.findall(message_text(shared)))
    assert shared_ids and shared_ids <= set(FACT_ID.findall(message_text(answer)))
    custom_id_starting(shared, "factbot:report:")  # the public copy can be reported too
    finish(fake)


# ------------------------------------------------------------------------------------------ 6. reports


async def test_report_modal_then_reports_for_moderators(live: Live) -> None:
    fake, w = live.fake, live.fake.world
    _, msg = await ask(fake, "fact", {"query": "esketamine nasal spray"})
    report_id = custom_id_starting(msg, "factbot:report:")
    first_fact = report_id.split(":")[2].split(",")[0]

    opened = await fake.click(msg, report_id, user="member")
    await opened.wait_for_response(WAIT)
    assert opened.callback_type == 9 and opened.modal is not None, opened.describe()
    inputs = modal_inputs(opened.modal)
    assert set(inputs) == {"Fact id", "What is wrong?", "A better source (optional)"}, inputs
    log_posts_before = len(bot_posts_in(fake, w.text_channel_id))

    submitted = await fake.submit_modal(
        opened,
        {
            inputs["Fact id"]: first_fact,
            inputs["What is wrong?"]: "The year in this fact does not match the paper.",
            inputs["A better source (optional)"]: "doi:10.1000/example",
        },
        user="member",
    )
    thanks = await submitted.wait_for_message(WAIT)
    assert is_ephemeral(thanks)
    text = message_text(thanks)
    assert "Report #1" in text and first_fact in text and "sent to the moderators" in text, text

    # the moderator log channel (MOD_LOG_CHANNEL_ID) gets the report
    await fake.wait_until(
        lambda: len(bot_posts_in(fake, w.text_channel_id)) > log_posts_before, WAIT, "report in the moderator log"
    )
    logged = bot_posts_in(fake, w.text_channel_id)[-1]
    assert logged.status == 200 and "Report #1" in json.dumps(logged.json, ensure_ascii=False)

    _, listing = await ask(fake, "reports", user="moderator")
    listed = message_text(listing)
    assert is_ephemeral(listing) and "#1" in listed and first_fact in listed, listed
    finish(fake)


# ------------------------------------------------------------------------------------------ 7. summary


async def test_summary_preview_then_post_to_forum(live: Live) -> None:
    fake, w = live.fake, live.fake.world
    _, preview = await ask(fake, "summary", {"concept": "ketamine", "channel": w.forum_channel_id}, user="moderator")
    assert is_ephemeral(preview)
    match = re.search(r"Preview: (\d+) message", preview["content"])
    assert match, preview["content"]
    count = int(match[1])
    threads_before = len(fake.requests_to("POST", THREADS))

    post = await fake.click(preview, "factbot:preview:post", user="moderator")
    done = await post.wait_for_message(WAIT)
    assert "live" in message_text(done), post.describe()

    create = await fake.wait_for_request("POST", THREADS, count=threads_before + 1, timeout=WAIT)
    assert create.status == 201 and create.params["channel_id"] == str(w.forum_channel_id)
    assert create.json["applied_tags"] == [str(w.tag_ids["ketamine"])]
    assert "ketamine" in create.json["name"].lower()
    thread_id = create.response["id"]
    await fake.wait_until(lambda: len(bot_posts_in(fake, thread_id)) >= count - 1, WAIT, "the rest of the summary")
    rest = bot_posts_in(fake, thread_id)
    assert len(rest) == count - 1 and all(r.status == 200 for r in rest)
    assert thread_id in message_text(done), "the confirmation links the new post"
    finish(fake)


async def test_summary_cancel_posts_nothing(live: Live) -> None:
    fake, w = live.fake, live.fake.world
    _, preview = await ask(fake, "summary", {"concept": "ketamine", "channel": w.text_channel_id}, user="moderator")
    posts_before = len(fake.requests_to("POST", CHANNEL_MESSAGES))
    cancel = await fake.click(preview, "factbot:preview:cancel", user="moderator")
    await cancel.wait_for_response(WAIT)
    assert cancel.callback_type == 7 and "Cancelled" in message_text(stored(fake, preview))
    assert len(fake.requests_to("POST", CHANNEL_MESSAGES)) == posts_before
    finish(fake)


# ------------------------------------------------------------------------------------------ 8. auto-reply


async def test_autoreply_once_to_members_never_to_bots(live: Live) -> None:
    fake, w = live.fake, live.fake.world
    _, msg = await ask(fake, "autoreply", {"action": "enable", "channel": w.forum_channel_id}, user="moderator")
    assert is_ephemeral(msg) and "Auto-replies on" in message_text(msg)

    other_bot = Person("helper_bot", user_payload(fixed_snowflake(60), "helper_bot", bot=True), [], msg["timestamp"])
    w.people[other_bot.key] = other_bot
    own, _ = await fake.user_forum_post("Spravato nasal spray for TRD?", "what the studies say", user="bot")
    bots, _ = await fake.user_forum_post(
        "Spravato nasal spray for TRD?", "automated digest", tags=["ketamine"], user=other_bot.key
    )
    thread, _ = await fake.user_forum_post(
        "Spravato nasal spray for TRD?", "Has anyone here tried it?", tags=["question"], user="member"
    )
    await fake.wait_until(lambda: bot_posts_in(fake, thread["id"]), WAIT, "the auto-reply in the member's post")
    # a round trip through the bot after the three posts, so a late (duplicate or bot) reply would show
    _, status = await ask(fake, "autoreply", {"action": "status"}, user="moderator")
    assert f"<#{w.forum_channel_id}>" in message_text(status)

    (reply,) = bot_posts_in(fake, thread["id"])
    assert reply.status == 200 and FACT_ID.search(json.dumps(reply.json))
    assert not bot_posts_in(fake, own["id"]), "the bot must not answer its own post"
    assert not bot_posts_in(fake, bots["id"]), "the bot must not answer another bot's post"
    finish(fake)


async def test_autoreply_uses_the_starter_message_even_when_it_comes_late(tmp_path: Path) -> None:
    """Discord sends a forum post's THREAD_CREATE before its starter message (later still while images
    upload). README: with the Message Content intent the auto-reply reads the post's text, not only its
    title; and the bot cannot post before the starter message exists (403/40058: the reply would be lost)."""
    async with FakeDiscord() as fake:
        w = fake.world
        bot = BotProcess(fake, tmp_path / "bot", "content", MESSAGE_CONTENT_INTENT="true")
        try:
            bot.start()
            await bot.wait_ready()
            assert fake.identifies[0]["intents"] & (1 << 15), "MESSAGE_CONTENT_INTENT=true must request the intent"
            await ask(fake, "autoreply", {"action": "enable", "channel": w.forum_channel_id}, user="moderator")
            # The title alone matches nothing (`python -m bot ask autoreply "Hello everyone"`); the text does.
            vague, _ = await fake.user_forum_post(
                "Hello everyone",
                "Has anyone tried Spravato esketamine nasal spray for treatment-resistant depression?",
                message_delay=1.0,
            )
            clear, _ = await fake.user_forum_post(
                "Spravato nasal spray for TRD?", "Any experiences?", message_delay=1.0
            )
            posts = {"text": vague, "title": clear}
            with contextlib.suppress(TimeoutError):
                await fake.wait_until(lambda: all(bot_posts_in(fake, t["id"]) for t in posts.values()), 8, "replies")
            replies = {why: len(bot_posts_in(fake, t["id"])) for why, t in posts.items()}
            assert replies == {"text": 1, "title": 1}, (
                f"auto-replies to posts whose starter message came 1 s late (matching on the text / the title): "
                f"{replies}; {fake.problems()}"
            )
            assert await bot.stop() == 0, bot.log_tail()
        finally:
            bot.kill()
        finish(fake)


# ------------------------------------------------------------------------------------------ 9. permissions


@pytest.mark.parametrize(
    ("command", "options"),
    [("stats", {}), ("summary", {"concept": "ketamine"}), ("reports", {}), ("autoreply", {"action": "status"})],
)
async def test_moderator_commands_refuse_members(live: Live, command: str, options: dict[str, Any]) -> None:
    fake = live.fake
    _, msg = await ask(fake, command, options, user="member")
    assert is_ephemeral(msg)
    text = message_text(msg)
    assert "Moderators only" in text and "Manage Threads" in text, text
    finish(fake)


async def test_stats_for_moderators(live: Live) -> None:
    fake = live.fake
    _, msg = await ask(fake, "stats", user="moderator")
    text = message_text(msg)
    assert is_ephemeral(msg) and "Bot statistics" in text and "Top queries" in text
    assert str(fake.world.member_id) not in text, "stats never record who asked"
    finish(fake)


# ------------------------------------------------------------------------------------------ 10. gateway


async def test_gateway_close_and_reconnect_resume(live: Live) -> None:
    fake, bot = live.fake, live.bot
    identifies = len(fake.identifies)
    resumed = sum(r["ok"] for r in fake.resumes)

    assert await fake.close_gateway(4000) == 1
    await fake.wait_for_resume(resumed + 1, timeout=WAIT)
    rec, msg = await ask(fake, "fact", {"query": "ketamine dose"})
    assert rec.callback_type == 4 and FACT_ID.search(message_text(msg))

    assert await fake.send_reconnect() == 1
    await fake.wait_for_resume(resumed + 2, timeout=WAIT)
    rec, msg = await ask(fake, "protocol", {"name": "montreal"})
    assert "0.5 mg/kg" in message_text(msg)

    assert len(fake.identifies) == identifies, "a resumable drop must RESUME, not IDENTIFY again"
    assert all(r["path"] == "/gateway-resume" for r in fake.resumes if r["ok"])
    await fake.wait_until(bot.connected, WAIT, "heartbeat file connected again after the resume")
    finish(fake)


# ------------------------------------------------------------------------------------------ 12. SIGTERM (main bot)


async def test_sigterm_stops_the_long_lived_bot_cleanly(live: Live) -> None:
    """Last test on the module's bot: after every feature ran (databases, threads), SIGTERM exits 0 fast."""
    code = await live.bot.stop()
    assert code == 0, live.bot.log_tail()
    assert live.bot.stop_seconds is not None and live.bot.stop_seconds < 10
    assert "stopped cleanly" in live.bot.log_text()
    beat = live.bot.heartbeat()
    assert beat is not None and beat["connected"] is False
    assert "Traceback" not in live.bot.log_text(), f"the bot logged an error during the run\n{live.bot.log_tail(80)}"
    finish(live.fake)


# ------------------------------------------------------------------------------------------ 1 + 12. restart


async def test_restart_does_not_sync_again_and_sigterm_exits_cleanly(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        first = BotProcess(fake, tmp_path / "bot", "first")
        second = BotProcess(fake, tmp_path / "bot", "second")  # same folder: a restart, state kept
        try:
            first.start()
            await first.wait_ready()
            assert fake.sync_puts == 1
            _, old_answer = await ask(fake, "fact", {"query": "ketamine session"})
            assert "Page 1/" in message_text(old_answer)
            assert await first.stop() == 0, first.log_tail()
            assert first.stop_seconds is not None and first.stop_seconds < 10
            assert "stopped cleanly" in first.log_text()

            second.start()
            await second.wait_ready()
            assert len(fake.identifies) == 2
            assert fake.sync_puts == 1, "the second start must not PUT commands Discord already has"
            assert len(fake.requests_to("GET", GUILD_COMMANDS)) == 2
            assert "commands unchanged" in second.log_text()
            rec, msg = await ask(fake, "fact", {"query": "ketamine"})
            assert rec.callback_type == 4 and FACT_ID.search(message_text(msg))
            # ▶ on an answer the first process sent: the button's state is in its custom id (issue 13)
            turn = await fake.click(old_answer, custom_id_starting(old_answer, "factbot:page:next:"), user="member")
            await turn.wait_for_response(WAIT)
            assert turn.callback_type == 7, turn.describe()
            assert "Page 2/" in message_text(stored(fake, old_answer)), message_text(stored(fake, old_answer))

            assert await second.stop() == 0, second.log_tail()
            assert second.stop_seconds is not None and second.stop_seconds < 10
            assert "stopped cleanly" in second.log_text()
        finally:
            first.kill()
            second.kill()
        finish(fake)


# ------------------------------------------------------------------------------------------ 11. sharding


async def test_two_shard_processes(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        owner = fake.shard_for_guild(2)
        shards = [BotProcess(fake, tmp_path / f"shard{i}", f"shard{i}", SHARD_COUNT=2, SHARD_IDS=i) for i in (0, 1)]
        try:
            for bot in shards:
                bot.start()
            for bot in shards:
                await bot.wait_ready()
            assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
            sessions = fake.gateway.live_sessions()
            assert sorted(s.shard for s in sessions if s.connected) == [(0, 2), (1, 2)]
            assert [s.shard for s in fake.gateway.sessions_for(fake.world.guild_id)] == [(owner, 2)]

            _, msg = await ask(fake, "about")
            assert f"{owner} of 2" in message_text(msg), message_text(msg)
            _, msg = await ask(fake, "fact", {"query": "ketamine"})
            assert FACT_ID.search(message_text(msg))

            # Docker's HEALTHCHECK (`python -m bot health`) must pass for every shard process.
            beats = [await bot.wait_heartbeat() for bot in shards]
            health = [await bot.health() for bot in shards]
            codes = [await bot.stop() for bot in shards]
            assert codes == [0, 0], "\n".join(bot.log_tail() for bot in shards)
        finally:
            for bot in shards:
                bot.kill()
        assert [b["shards"] for b in beats] == [[0], [1]]
        assert [b["connected"] for b in beats] == [True, True], f"sharded heartbeats say disconnected: {beats}"
        assert [code for code, _ in health] == [0, 0], health
        finish(fake)
