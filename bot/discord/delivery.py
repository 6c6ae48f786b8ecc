"""Sending: every message the bot sends goes through `Delivery`, which finalizes the `Reply` first.

Finalizing attaches the deployment's notice (and crisis line), applies Discord's limits and sets
`allowed_mentions=AllowedMentions.none()`, so no path can ping anyone or be rejected for size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import discord

from bot.answers.reply import Reply
from bot.discord.faults import SEND_TIMEOUT

T = TypeVar("T")


class Delivery:
    def __init__(self, notice_text: str, crisis_text: str, buttons: Callable[[Reply], discord.ui.View | None]) -> None:
        self.notice_text = notice_text
        self.crisis_text = crisis_text
        self.buttons = buttons  # the views under an answer that shows facts (`bot.discord.views`)

    def prepare(self, reply: Reply) -> Reply:
        """Notice, crisis line, limits; and the Report (or Share) buttons under any answer that shows facts."""
        ready = reply.finalize(self.notice_text, self.crisis_text)
        if ready.view is None and ready.fact_ids:
            ready.view = self.buttons(ready)
        return ready

    async def respond(self, interaction: discord.Interaction, reply: Reply) -> None:
        """Answer an interaction: the initial response, or a follow-up once it was deferred or answered."""
        ready = self.prepare(reply)
        kwargs = ready.send_kwargs()
        if interaction.response.is_done():
            await bounded(interaction.followup.send(**kwargs, ephemeral=ready.ephemeral, wait=False))
        else:
            await bounded(interaction.response.send_message(**kwargs, ephemeral=ready.ephemeral))

    async def edit(self, interaction: discord.Interaction, reply: Reply) -> None:
        """Replace the message a component belongs to (paging, preview buttons)."""
        ready = self.prepare(reply)
        kwargs = ready.send_kwargs()
        kwargs.setdefault("view", None)
        if interaction.response.is_done():
            await bounded(interaction.edit_original_response(**kwargs))
        else:
            await bounded(interaction.response.edit_message(**kwargs))

    async def post(self, channel: discord.abc.Messageable, reply: Reply) -> discord.Message:
        """A plain message in a channel or thread (summaries, auto-replies, the moderator log)."""
        ready = self.prepare(reply)
        return await bounded(channel.send(**ready.send_kwargs()))

    async def create_forum_post(
        self, forum: discord.ForumChannel, title: str, reply: Reply, tags: list[discord.ForumTag]
    ) -> discord.Thread:
        ready = self.prepare(reply)
        created = await bounded(forum.create_thread(name=title[:100], applied_tags=tags[:5], **ready.send_kwargs()))
        return created.thread


async def bounded(send: Awaitable[T]) -> T:
    """A send that Discord has not answered within `SEND_TIMEOUT` raises `TimeoutError` instead of hanging.

    (discord.py's session has no read timeout of its own; its 429 waits and 5xx retries fit inside.)
    """
    return await asyncio.wait_for(send, SEND_TIMEOUT)
