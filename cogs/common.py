"""Small helpers every cog uses: per-user cooldowns, timing logs, choices."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import discord
from discord import app_commands

from bot.answers import Choice
from bot.services import Services

log = logging.getLogger("factbot.commands")


def services(interaction: discord.Interaction) -> Services:
    return interaction.client.services  # type: ignore[attr-defined,no-any-return]


def user_cooldown(interaction: discord.Interaction) -> app_commands.Cooldown | None:
    """COOLDOWN_USES commands per COOLDOWN_SECONDS per user (read at call time, so .env applies)."""
    settings = services(interaction).settings
    return app_commands.Cooldown(settings.cooldown_uses, settings.cooldown_seconds)


def to_choices(choices: Sequence[Choice]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=c.name, value=c.value) for c in choices][:25]


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
