"""Moderator features: summaries and their footnotes, auto-reply rules, stats, audit, safety line."""

from __future__ import annotations

import re
from pathlib import Path
from unittest.mock import MagicMock, create_autospec

import discord
from discord.ext import commands

from bot.config import DEFAULT_CRISIS_TEXT
from bot.discord.services import Services
from bot.moderation.replies import autoreply, summary_messages
from cogs.forum import Forum
from cogs.moderation import Moderation
from tests.helpers import mock_interaction, sent, text_of
from tests.postgres_server import on_both_engines

FORUM_ID, GUILD_ID, BOT_ID = 900, 111, 4242


async def test_summary_footnotes_all_resolve_and_no_raw_citation_survives(services: Services) -> None:
    messages = await summary_messages(services.store, "ketamine")
    assert messages is not None
    text = "\n".join(e.description or "" for m in messages for e in m.embeds)
    assert "[fact:" not in text
    for label in (
        "Neuroplasticity as a convergent mechanism",
        "Research has diverged into two bodies",
        "Antidepressant benefits typically fade",
        "Montreal model integrates ketamine into therapy",
    ):
        assert label not in text
    markers = {int(n) for n in re.findall(r"\[(\d+)\](?! )", text.split("Sources for the numbered")[0])}
    markers |= {int(n) for n in re.findall(r"\[(\d+)\]", text.split("\n[1] ")[0])}
    footnotes = re.findall(r"^\[(\d+)\] .+ — `(k-[0-9a-f]{6})` · .+$", text, flags=re.M)
    assert [int(n) for n, _ in footnotes] == list(range(1, 21))
    assert markers == set(range(1, 21))
    for _, fact_id in footnotes:
        assert await services.store.fact(fact_id) is not None
    assert (
        "[6] Neuroplasticity is proposed as a convergent mechanism of action for both ketamine and classical "
        "psychedelics. — `k-1eb7b5` · Nature, 2023" in text
    )


async def test_perspectives_only_when_asked_and_labelled(services: Services) -> None:
    plain = await summary_messages(services.store, "ketamine")
    with_models = await summary_messages(services.store, "ketamine", perspectives=True)
    assert plain is not None and with_models is not None
    titles = [e.title or "" for m in with_models for e in m.embeds]
    assert not any("Machine-written" in (e.title or "") for m in plain for e in m.embeds)
    labelled = [t for t in titles if t.startswith("🤖 Machine-written perspective")]
    assert len(labelled) == 7
    assert "· openrouter/x-ai/grok-4.1-fast · stated confidence 90%" in labelled[-1]
    for message in with_models:
        assert sum(len(e) for e in message.embeds) <= 6000 and len(message.embeds) <= 10


def _forum(guild: MagicMock) -> MagicMock:
    forum = create_autospec(discord.ForumChannel, instance=True)
    forum.id = FORUM_ID
    forum.guild = guild
    forum.available_tags = [discord.ForumTag(name="Ketamine"), discord.ForumTag(name="question")]
    thread = create_autospec(discord.Thread, instance=True)
    thread.jump_url = "https://discord.com/channels/111/901"
    created = MagicMock(spec=discord.channel.ThreadWithMessage)
    created.thread = thread
    forum.create_thread.return_value = created
    forum.mention = f"<#{FORUM_ID}>"
    return forum


@on_both_engines
async def test_summary_preview_then_post_creates_a_tagged_forum_thread(services: Services) -> None:
    bot = MagicMock(spec=commands.Bot)
    bot.services = services
    cog = Moderation(bot)
    interaction = mock_interaction(services, manage_threads=True)
    forum = _forum(MagicMock(spec=discord.Guild))
    await cog.summary.callback(cog, interaction, concept="ketamine", channel=forum, perspectives=False)
    preview = sent(interaction)
    assert preview["ephemeral"] is True
    assert preview["content"].startswith("Preview: 2 message(s) as a new post in the forum <#900>.")
    click = mock_interaction(services, manage_threads=True)
    await preview["view"].post.callback(click)
    kwargs = forum.create_thread.call_args.kwargs
    assert kwargs["name"] == "Ketamine — cited summary"
    assert [t.name for t in kwargs["applied_tags"]] == ["Ketamine"]
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    thread = forum.create_thread.return_value.thread
    assert thread.send.await_count == 1
    audit = await services.moderation.audit_log(GUILD_ID)
    assert audit[0]["action"] == "summary.posted" and audit[0]["actor_id"] == 1001


def _thread(
    services: Services,
    *,
    owner_bot: bool = False,
    name: str = "Spravato nasal spray for TRD?",
    thread_id: int = 5000,
    parent_is_forum: bool = True,
) -> MagicMock:
    guild = MagicMock(spec=discord.Guild)
    guild.id = GUILD_ID
    thread = create_autospec(discord.Thread, instance=True)
    thread.id = thread_id
    thread.name = name
    thread.guild = guild
    thread.parent_id = FORUM_ID
    thread.parent = _forum(guild) if parent_is_forum else MagicMock(spec=discord.TextChannel)
    owner = MagicMock(spec=discord.Member)
    owner.bot = owner_bot
    thread.owner = owner
    thread.owner_id = 77
    starter = create_autospec(discord.Message, instance=True)
    starter.id = thread_id
    starter.content = ""
    starter.author = owner
    thread.starter_message = starter
    return thread


def _forum_cog(services: Services) -> Forum:
    bot = MagicMock(spec=commands.Bot)
    bot.services = services
    bot.user = MagicMock(spec=discord.ClientUser)
    bot.user.id = BOT_ID
    bot.tree = MagicMock()
    return Forum(bot)


@on_both_engines
async def test_autoreply_fires_once_only_in_enabled_forums_never_for_bots(services: Services) -> None:
    cog = _forum_cog(services)
    quiet = _thread(services)
    await cog.on_thread_create(quiet)
    quiet.send.assert_not_called()  # not enabled yet
    await services.moderation.set_autoreply(GUILD_ID, FORUM_ID, True)
    first = _thread(services)
    await cog.on_thread_create(first)
    assert first.send.await_count == 1
    kwargs = first.send.call_args.kwargs
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    assert "Intranasal esketamine" in text_of(kwargs)
    again = _thread(services)
    await cog.on_thread_create(again)  # the same thread, e.g. a second process or a replayed event
    again.send.assert_not_called()
    from_bot = _thread(services, owner_bot=True, thread_id=5001)
    await cog.on_thread_create(from_bot)
    from_bot.send.assert_not_called()
    off_topic = _thread(services, name="Anyone watching the football tonight?", thread_id=5002)
    await cog.on_thread_create(off_topic)
    off_topic.send.assert_not_called()


async def test_autoreply_threshold(services: Services) -> None:
    strong = await autoreply(services.answers, "Spravato nasal spray", "", 0.55)
    weak = await autoreply(services.answers, "weekend plans and nasal", "", 0.9)
    assert strong is not None and weak is None


@on_both_engines
async def test_autoreply_settings_persist_across_restart(services: Services, tmp_path: Path) -> None:
    await services.moderation.set_autoreply(GUILD_ID, FORUM_ID, True)
    await services.moderation.close()
    reopened = await Services.open(services.settings)
    assert await reopened.moderation.autoreply_channels(GUILD_ID) == [FORUM_ID]
    services.moderation = reopened.moderation
    await reopened.store.close()


@on_both_engines
async def test_misses_are_counted_without_user_ids(services: Services) -> None:
    for user in (1, 2, 3):
        await services.moderation.record_query(GUILD_ID, user, "xyzzy qwerty", False)
        await services.moderation.record_query(GUILD_ID, user, "spravato", True)
    stats = await services.moderation.stats(GUILD_ID)
    assert stats.top_misses == [("xyzzy qwerty", 3)]
    assert ("spravato", 3) in stats.top_queries
    rows = await services.moderation._rows("SELECT * FROM query_stats")
    assert set(rows[0].keys()) == {"guild_id", "query", "day", "asked", "missed"}
    askers = await services.moderation._rows("SELECT * FROM query_askers")
    assert {len(r["asker"]) for r in askers} == {32} and not {"1", "2", "3"} & {r["asker"] for r in askers}


async def test_crisis_line_is_added_and_the_question_still_answered(services: Services) -> None:
    reply, page = await services.answers.fact("can ketamine help if I feel suicidal")
    ready = services.delivery.prepare(reply)
    assert ready.content == DEFAULT_CRISIS_TEXT
    assert page is not None and len(page.fact_ids) == 5
    calm, _ = await services.answers.fact("ketamine music")
    assert services.delivery.prepare(calm).content is None


@on_both_engines
async def test_resolving_a_report_is_audited(services: Services) -> None:
    bot = MagicMock(spec=commands.Bot)
    bot.services = services
    cog = Moderation(bot)
    report_id = await services.moderation.add_report("k-5b8224", 5, GUILD_ID, "wrong dose")
    assert report_id == 1, "reports are numbered per guild"
    interaction = mock_interaction(services, manage_threads=True)
    await cog.reports.callback(cog, interaction, status="open", resolve=report_id, note="checked the paper")
    assert f"Report #{report_id} is resolved." in text_of(sent(interaction))
    assert (await services.moderation.report(GUILD_ID, report_id)).status == "resolved"  # type: ignore[union-attr]
    audit = await services.moderation.audit_log(GUILD_ID)
    assert (audit[0]["action"], audit[0]["detail"]) == (
        "report.resolved",
        {"note": "checked the paper", "report": report_id},
    )
    again = mock_interaction(services, manage_threads=True)
    await cog.reports.callback(cog, again, status="open", resolve=report_id, note="x")
    assert f"There is no open report #{report_id} in this server." in text_of(sent(again))
