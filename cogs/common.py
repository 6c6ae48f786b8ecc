"""Small helpers every cog uses: per-user cooldowns, timing logs, choices."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import discord
from discord import app_commands

from bot.answers.answers import Answers
from bot.answers.base import Choice
from bot.answers.reply import Reply
from bot.discord.faults import is_storage_error, log_fault, reference
from bot.discord.services import Services

log = logging.getLogger("factbot.commands")


def services(interaction: discord.Interaction) -> Services:
    return interaction.client.services  # type: ignore[attr-defined,no-any-return]


def user_cooldown(interaction: discord.Interaction) -> app_commands.Cooldown | None:
    """COOLDOWN_USES commands per COOLDOWN_SECONDS per user (read at call time, so .env applies)."""
    settings = services(interaction).settings
    return app_commands.Cooldown(settings.cooldown_uses, settings.cooldown_seconds)


def to_choices(choices: Sequence[Choice]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=c.name, value=c.value) for c in choices][:25]


async def answer(
    interaction: discord.Interaction, produce: Callable[[Answers], Awaitable[Reply]], *, private: bool
) -> Reply | None:
    """Ask the domain for a reply in a backlog slot, send it through the one delivery path, log the timing.

    The backlog (`bot.discord.backlog`) acknowledges first when the answer is slow to come and sends a
    private "busy" notice when too many are waiting; then this returns None.
    """
    started = time.perf_counter()
    reply = await services(interaction).backlog.answer(interaction, produce, ephemeral=private)
    if reply is not None:
        log_command(interaction, started, len(reply.fact_ids) or len(reply.embeds))
    return reply


async def record_query(interaction: discord.Interaction, reply: Reply, *, found: bool) -> None:
    """Count a searched query for the guild's /stats, only when it may be: in a guild, answered publicly.

    A `private:true` question, anything answered ephemerally and anything asked outside a guild is
    never stored. The member is passed so the store can count distinct askers (as a keyed hash).
    """
    if reply.searched is None or reply.ephemeral or interaction.guild_id is None:
        return
    try:
        await services(interaction).moderation.record_query(
            interaction.guild_id, interaction.user.id, reply.searched, found
        )
    except Exception as exc:  # the answer went out; a count the state could not take is only logged
        if not is_storage_error(exc):
            raise
        log_fault("counting a query for /stats", exc, reference(), guild_id=interaction.guild_id)


def log_command(interaction: discord.Interaction, started: float, results: int) -> None:
    """Command, latency and result count: never the text of the question."""
    command = interaction.command.qualified_name if interaction.command else "?"
    latency = round((time.perf_counter() - started) * 1000, 1)
    log.info(
        "%s answered in %.1f ms (%d results)",
        command,
        latency,
        results,
        extra={"command": command, "latency_ms": latency, "results": results, "guild_id": interaction.guild_id},
    )


class ChannelOfTypes(app_commands.Transformer):
    """A channel option limited to exact types (discord.py adds media channels to forums, which Discord's
    published schema does not list), resolved to the cached channel object."""

    def __init__(self, *types: discord.ChannelType) -> None:
        self._types = list(types)

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return self._types

    async def transform(self, interaction: discord.Interaction, value: object) -> object:
        resolve = getattr(value, "resolve", None)
        channel = resolve() if callable(resolve) else None
        if channel is None and interaction.guild is not None:
            channel = interaction.guild.get_channel(getattr(value, "id", 0))
        return channel or value


TEXT_OR_FORUM = ChannelOfTypes(discord.ChannelType.text, discord.ChannelType.forum)
FORUM = ChannelOfTypes(discord.ChannelType.forum)
