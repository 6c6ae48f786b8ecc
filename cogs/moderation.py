"""Moderator commands (/summary, /autoreply, /reports, /stats, /reload) and /about."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TypeVar

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.answers.paper import matching_tags
from bot.answers.render import message_reply
from bot.answers.reply import Reply
from bot.discord.reload import ReloadResult
from bot.discord.views import ConfirmView
from bot.moderation.replies import (
    about_reply,
    autoreply_status,
    confirmation,
    paper_thread_for,
    reports_reply,
    stats_reply,
    summary_messages,
    unknown_concept,
    unknown_paper,
)
from cogs.common import FORUM, TEXT_OR_FORUM, services

log = logging.getLogger("factbot.moderation")
MODERATORS = discord.Permissions(manage_threads=True)
PostTarget = discord.ForumChannel | discord.TextChannel | discord.Thread


T = TypeVar("T")


def moderators_only(func: T) -> T:
    """Hidden from members by default, and refused at run time too (permissions can be overridden)."""
    func = app_commands.default_permissions(manage_threads=True)(func)
    func = app_commands.guild_only()(func)
    return app_commands.checks.has_permissions(manage_threads=True)(func)


async def own_guild(interaction: discord.Interaction) -> int | None:
    """The guild a moderator acts for; never a fallback (guild_only commands, but DMs answer plainly)."""
    if interaction.guild_id is None:
        reply = message_reply("Only in a server", "Moderator commands work inside a server, on its own state.")
        await services(interaction).delivery.respond(interaction, reply)
    return interaction.guild_id


class Moderation(commands.Cog):
    """Every command here acts on the moderator's own guild only (`interaction.guild_id`)."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self._signal_reloads: set[asyncio.Task[ReloadResult]] = set()

    async def cog_load(self) -> None:
        self.retention.start()
        # SIGHUP reloads data/ like /reload does (`docker compose kill -s HUP factbot`).
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._reload_on_signal)

    async def cog_unload(self) -> None:
        self.retention.cancel()
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    def _reload_on_signal(self) -> None:
        svc = self.bot.services  # type: ignore[attr-defined]
        task = asyncio.get_running_loop().create_task(svc.reloader.reload("SIGHUP"))
        self._signal_reloads.add(task)
        task.add_done_callback(self._signal_reloads.discard)

    @tasks.loop(hours=24)
    async def retention(self) -> None:
        """Delete query statistics older than STATS_RETENTION_DAYS, once a day (and at start-up)."""
        svc = self.bot.services  # type: ignore[attr-defined]
        days = svc.settings.stats_retention_days
        deleted = await svc.moderation.prune(days)
        log.info("retention: deleted %d query-statistics rows older than %d days", deleted, days)

    @app_commands.command(name="summary", description="Moderators: post a concept's cited summary")
    @app_commands.describe(
        concept="Concept page, e.g. ketamine",
        channel="Forum or text channel (default: here)",
        perspectives="Add the model-written perspectives, labelled as such",
        source="Instead of a concept: a paper (title, DOI or link) to post as a new thread",
    )
    @moderators_only
    async def summary(
        self,
        interaction: discord.Interaction,
        concept: str | None = None,
        channel: app_commands.Transform[discord.abc.GuildChannel, TEXT_OR_FORUM] | None = None,
        perspectives: bool = False,
        source: str | None = None,
    ) -> None:
        svc = services(interaction)
        if source is not None or not concept:
            await self._paper_summary(interaction, source or "", channel)
            return
        messages = await summary_messages(svc.store, concept, perspectives=perspectives)
        if messages is None:
            await svc.delivery.respond(interaction, unknown_concept(concept, await svc.store.concept_names()))
            return
        target = channel or interaction.channel
        if not isinstance(target, PostTarget):
            await svc.delivery.respond(interaction, message_reply("Pick a channel", "Choose a forum or text channel."))
            return
        kind = "a new post in the forum" if isinstance(target, discord.ForumChannel) else "messages in"
        preview = Reply([e for m in messages[:1] for e in m.embeds], ephemeral=True)
        preview.content = f"Preview: {len(messages)} message(s) as {kind} {target.mention}. Post it?"

        async def post(button_interaction: discord.Interaction) -> None:
            await button_interaction.response.defer()
            link = await self._post_summary(target, concept, messages)
            await svc.moderation.audit(
                interaction.guild_id,
                interaction.user.id,
                "summary.posted",
                concept=concept,
                channel=target.id,
                messages=len(messages),
                link=link,
            )
            await svc.delivery.edit(button_interaction, confirmation("Posted", f"The summary is live: {link}"))

        preview.view = ConfirmView(interaction.user.id, post)
        await svc.delivery.respond(interaction, preview)

    async def _post_summary(self, target: PostTarget, concept: str, messages: list[Reply]) -> str:
        svc = self.bot.services  # type: ignore[attr-defined]
        if isinstance(target, discord.ForumChannel):
            tags = [
                t
                for t in target.available_tags
                if t.name.lower() in concept.lower() or concept.lower() in t.name.lower()
            ]
            thread = await svc.delivery.create_forum_post(
                target, f"{concept.capitalize()} — cited summary", messages[0], tags[:1]
            )
            for reply in messages[1:]:
                await svc.delivery.post(thread, reply)
            return str(thread.jump_url)
        first = None
        for reply in messages:
            sent = await svc.delivery.post(target, reply)
            first = first or sent
        return first.jump_url if first else target.jump_url

    async def _paper_summary(
        self, interaction: discord.Interaction, source: str, channel: discord.abc.GuildChannel | None
    ) -> None:
        """`/summary source:` — a paper as a new forum thread, the way members post one (preview first)."""
        svc = services(interaction)
        thread = await paper_thread_for(svc.answers, source) if source.strip() else None
        if thread is None:
            titles = [p.title for p in await svc.store.papers()]
            reply = (
                unknown_paper(source, titles)
                if source.strip()
                else message_reply(
                    "Concept or paper", "Give `concept:` (a concept page) or `source:` (a paper's title, DOI or link)."
                )
            )
            await svc.delivery.respond(interaction, reply)
            return
        target = channel or interaction.channel
        if not isinstance(target, PostTarget):
            await svc.delivery.respond(interaction, message_reply("Pick a channel", "Choose a forum or text channel."))
            return
        tags = []
        if isinstance(target, discord.ForumChannel):
            tags = [
                target.available_tags[i] for i in matching_tags([t.name for t in target.available_tags], thread.topics)
            ]
        kind = f"a new thread “{thread.title}” in" if isinstance(target, discord.ForumChannel) else "messages in"
        tagged = f" with tags {', '.join(t.name for t in tags)}" if tags else ""
        preview = Reply([e for m in thread.messages[:1] for e in m.embeds], ephemeral=True)
        preview.content = f"Preview: {len(thread.messages)} message(s) as {kind} {target.mention}{tagged}. Post it?"

        async def post(button_interaction: discord.Interaction) -> None:
            await button_interaction.response.defer()
            if isinstance(target, discord.ForumChannel):
                created = await svc.delivery.create_forum_post(target, thread.title, thread.messages[0], tags)
                for reply in thread.messages[1:]:
                    await svc.delivery.post(created, reply)
                link = str(created.jump_url)
            else:
                sent = [await svc.delivery.post(target, reply) for reply in thread.messages]
                link = sent[0].jump_url if sent else target.jump_url
            await svc.moderation.audit(
                interaction.guild_id,
                interaction.user.id,
                "summary.posted",
                paper=thread.paper.title,
                channel=target.id,
                messages=len(thread.messages),
                link=link,
            )
            await svc.delivery.edit(button_interaction, confirmation("Posted", f"The paper is posted: {link}"))

        preview.view = ConfirmView(interaction.user.id, post)
        await svc.delivery.respond(interaction, preview)

    @summary.autocomplete("source")
    async def paper_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        titles = [p.title for p in await services(interaction).store.papers()]
        found = [t for t in titles if current.lower() in t.lower()]
        return [app_commands.Choice(name=t[:100], value=t[:100]) for t in found][:25]

    @summary.autocomplete("concept")
    async def concept_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = await services(interaction).store.concept_names()
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n.lower()][:25]

    @app_commands.command(name="autoreply", description="Moderators: sourced auto-replies to new posts in a forum")
    @app_commands.describe(action="enable, disable or status", channel="The forum channel")
    @app_commands.choices(action=[app_commands.Choice(name=a, value=a) for a in ("enable", "disable", "status")])
    @moderators_only
    async def autoreply(
        self,
        interaction: discord.Interaction,
        action: str,
        channel: app_commands.Transform[discord.abc.GuildChannel, FORUM] | None = None,
    ) -> None:
        svc = services(interaction)
        guild_id = await own_guild(interaction)
        if guild_id is None:
            return
        if action == "status" or channel is None:
            mentions = {c.id: c.mention for c in interaction.guild.channels} if interaction.guild else {}
            reply = await autoreply_status(svc.moderation, guild_id, mentions)
            if action != "status":
                reply = message_reply("Pick a forum", "Choose the forum channel to change.")
            await svc.delivery.respond(interaction, reply)
            return
        enabled = action == "enable"
        await svc.moderation.set_autoreply(guild_id, channel.id, enabled)
        await svc.moderation.audit(guild_id, interaction.user.id, f"autoreply.{action}", channel=channel.id)
        await svc.delivery.respond(
            interaction,
            confirmation(
                "Auto-replies " + ("on" if enabled else "off"),
                f"New posts in {channel.mention} will "
                + ("" if enabled else "no longer ")
                + "get a sourced reply when a fact clearly matches.",
            ),
        )

    @app_commands.command(name="reports", description="Moderators: list fact reports, or resolve one")
    @app_commands.describe(
        status="open (default), resolved or all",
        resolve="Number of the report to resolve",
        note="What you did about it",
    )
    @app_commands.choices(status=[app_commands.Choice(name=s, value=s) for s in ("open", "resolved", "all")])
    @moderators_only
    async def reports(
        self,
        interaction: discord.Interaction,
        status: str = "open",
        resolve: app_commands.Range[int, 1] | None = None,
        note: app_commands.Range[str, 1, 300] = "resolved",
    ) -> None:
        svc = services(interaction)
        guild_id = await own_guild(interaction)
        if guild_id is None:
            return
        if resolve is not None:
            done = await svc.moderation.resolve_report(guild_id, resolve, interaction.user.id, note)
            if done:
                await svc.moderation.audit(guild_id, interaction.user.id, "report.resolved", report=resolve, note=note)
                reply = confirmation("Resolved", f"Report #{resolve} is resolved.")
            else:
                reply = message_reply("No such report", f"There is no open report #{resolve} in this server.")
            await svc.delivery.respond(interaction, reply)
            return
        await svc.delivery.respond(interaction, reports_reply(await svc.moderation.reports(guild_id, status), status))

    @app_commands.command(name="stats", description="Moderators: top queries, top misses, reports, uptime")
    @moderators_only
    async def stats(self, interaction: discord.Interaction) -> None:
        svc = services(interaction)
        guild_id = await own_guild(interaction)
        if guild_id is None:
            return
        stats = await svc.moderation.stats(guild_id)
        await svc.delivery.respond(interaction, stats_reply(stats, svc.started_at, svc.settings.stats_retention_days))

    @app_commands.command(name="reload", description="Moderators: load edited data files without a restart")
    @moderators_only
    async def reload(self, interaction: discord.Interaction) -> None:
        """Rebuild from DATA_DIR to the side and swap the store in; a bad file keeps the current data."""
        svc = services(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)  # a rebuild takes seconds
        result = await svc.reloader.reload(f"/reload by {interaction.user.id}")
        await svc.moderation.audit(
            interaction.guild_id, interaction.user.id, "data.reload", ok=result.ok, facts=result.facts_after
        )
        if not result.ok:
            reply = message_reply("Data not reloaded", result.message, error=True)
        else:
            reply = confirmation("Data reloaded" if result.changed else "Nothing to reload", result.message)
        await svc.delivery.respond(interaction, reply)

    @app_commands.command(name="about", description="Version, data, counts, uptime and latency of this bot")
    async def about(self, interaction: discord.Interaction) -> None:
        svc = services(interaction)
        latency = self.bot.latency
        shard = f"{interaction.guild.shard_id if interaction.guild else 0} of {self.bot.shard_count or 1}"
        reply = await about_reply(svc.store, svc.started_at, None if latency != latency else latency * 1000, shard)
        await svc.delivery.respond(interaction, reply)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Moderation(bot))
