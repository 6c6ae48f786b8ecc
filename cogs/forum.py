"""Find sources (message context menu) and opt-in auto-replies to new forum posts."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.admin import autoreply, find_sources
from cogs.common import services

log = logging.getLogger("factbot.forum")


class Forum(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Find sources", callback=self.find_sources)
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def find_sources(self, interaction: discord.Interaction, message: discord.Message) -> None:
        svc = services(interaction)
        reply = await find_sources(svc.answers, message.content)
        reply.ephemeral = True
        await svc.delivery.respond(interaction, reply)

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        """Reply once to a new post in a forum where moderators enabled it; never to bots."""
        svc = services_of_bot(self.bot)
        if svc is None or thread.guild is None or thread.parent_id is None:
            return
        if not isinstance(thread.parent, discord.ForumChannel):
            return
        owner = thread.owner or thread.guild.get_member(thread.owner_id or 0)
        if thread.owner_id == getattr(self.bot.user, "id", None) or (owner is not None and owner.bot):
            return
        if not await svc.moderation.autoreply_enabled(thread.guild.id, thread.parent_id):
            return
        # The opening message's text arrives only with the Message Content intent; the title always does.
        body = thread.starter_message.content if thread.starter_message else ""
        reply = await autoreply(svc.answers, thread.name, body, svc.settings.autoreply_threshold)
        if reply is None or not await svc.moderation.claim_thread(thread.id):
            return
        try:
            await svc.delivery.post(thread, reply)
        except discord.HTTPException:
            log.warning("could not auto-reply in thread %s", thread.id)


def services_of_bot(bot: commands.Bot):  # type: ignore[no-untyped-def]
    return getattr(bot, "services", None)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Forum(bot))
