"""Find sources (message context menu) and opt-in auto-replies to new forum posts."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.answers import Answers
from bot.answers.reply import Reply
from bot.discord.services import Services
from bot.moderation.replies import autoreply, find_sources
from cogs.common import services

log = logging.getLogger("factbot.forum")
STARTER_WAIT_SECONDS = 30.0


class Forum(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Find sources", callback=self.find_sources)
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def find_sources(self, interaction: discord.Interaction, message: discord.Message) -> None:
        async def produce(answers: Answers) -> Reply:
            reply = await find_sources(answers, message.content)
            reply.ephemeral = True
            return reply

        await services(interaction).backlog.answer(interaction, produce, ephemeral=True)

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        """Reply once to a new post in a forum where moderators enabled it; never to bots."""
        svc = services_of_bot(self.bot)
        if svc is None or thread.guild is None or thread.parent_id is None:
            return
        if not isinstance(thread.parent, discord.ForumChannel):
            return
        if thread.owner_id == getattr(self.bot.user, "id", None):
            return
        if not await svc.moderation.autoreply_enabled(thread.guild.id, thread.parent_id):
            return
        starter = await self._starter_message(thread)
        if starter is None or starter.author.bot:
            return
        # The opening message's text arrives only with the Message Content intent; the title always does.
        body = starter.content
        async with svc.backlog.slot() as answers:  # waits its turn behind members' questions
            reply = await autoreply(answers, thread.name, body, svc.settings.autoreply_threshold)
        if reply is None or not await svc.moderation.claim_thread(thread.guild.id, thread.id):
            return
        try:
            await svc.delivery.post(thread, reply)
        except discord.HTTPException:
            log.warning("could not auto-reply in thread %s", thread.id)

    async def _starter_message(self, thread: discord.Thread) -> discord.Message | None:
        """THREAD_CREATE comes before the post's first message (later still while files upload)."""
        if thread.starter_message is not None:
            return thread.starter_message
        try:
            message: discord.Message = await self.bot.wait_for(
                "message", check=lambda m: m.id == thread.id, timeout=STARTER_WAIT_SECONDS
            )
            return message
        except TimeoutError:
            try:
                return await thread.fetch_message(thread.id)
            except discord.HTTPException:
                return None


def services_of_bot(bot: commands.Bot) -> Services | None:
    return getattr(bot, "services", None)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Forum(bot))
