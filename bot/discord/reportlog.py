"""The moderator log: where a member's report is announced to the moderators of its own guild.

A report goes to its guild's log channel (the guild's stored `mod_log_channel`, else
MOD_LOG_CHANNEL_ID) only when that channel belongs to the very same guild, so one deployment serving
several servers never shows one server's reports in another. Reports filed outside a server are
announced nowhere (only the operator's command line lists them). While reports flood in (more than
`LOG_BURST` in `LOG_WINDOW`), the rest of the window's reports are gathered into one summary message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

import discord

from bot.answers.reply import Reply
from bot.config import Settings
from bot.discord.delivery import Delivery
from bot.discord.faults import DELIVERY_ERRORS, describe
from bot.moderation.limits import Limits, minutes_text
from bot.moderation.state import ModerationStore

log = logging.getLogger(__name__)
_SUMMARIES: set[asyncio.Task[None]] = set()  # pending summaries (a task needs a strong reference)


class LogServices(Protocol):
    """What the moderator log uses of `bot.discord.services.Services`."""

    settings: Settings
    moderation: ModerationStore
    delivery: Delivery
    limits: Limits


@dataclass(frozen=True)
class LoggedReport:
    number: int
    fact_id: str
    problem: str
    source: str
    reporter: discord.abc.User


async def log_channel(services: LogServices, client: discord.Client, guild_id: int) -> discord.abc.Messageable | None:
    """The guild's moderator log channel, or None (not set, not visible, or not in this guild)."""
    stored = await services.moderation.setting(guild_id, "mod_log_channel")
    channel_id = int(stored) if stored else services.settings.mod_log_channel_id
    channel = client.get_channel(channel_id) if channel_id else None
    owner = getattr(getattr(channel, "guild", None), "id", None)
    return channel if isinstance(channel, discord.abc.Messageable) and owner == guild_id else None


async def post_report_to_log(
    services: LogServices, client: discord.Client, guild_id: int | None, report: LoggedReport
) -> None:
    """One message per report, or, while reports flood in, one summary at the end of the window."""
    if guild_id is None:
        return
    channel = await log_channel(services, client, guild_id)
    if channel is None:
        return
    admitted = services.limits.report_log.admit(guild_id, f"#{report.number} on `{report.fact_id}`")
    if admitted is False:  # the first report held back in this window: its summary is due at the end
        task = asyncio.get_running_loop().create_task(_post_summary_later(services, channel, guild_id))
        _SUMMARIES.add(task)
        task.add_done_callback(_SUMMARIES.discard)
    if admitted is not True:
        return
    embed = discord.Embed(title=f"🚩 Report #{report.number} on {report.fact_id}", colour=discord.Colour.orange())
    embed.add_field(name="What is wrong", value=report.problem[:1024], inline=False)
    if report.source.strip():
        embed.add_field(name="Suggested source", value=report.source[:1024], inline=False)
    embed.add_field(name="Reported by", value=f"{report.reporter} ({report.reporter.id})", inline=False)
    embed.set_footer(text="Resolve with /reports resolve:<number>")
    await _post(services, channel, Reply([embed], notice=False), guild_id)


async def _post_summary_later(services: LogServices, channel: discord.abc.Messageable, guild_id: int) -> None:
    flood = services.limits.report_log
    await asyncio.sleep(flood.window)
    held = flood.take_held(guild_id)
    if held:
        await _post(services, channel, summary_reply(held, flood.window), guild_id)


def summary_reply(held: list[str], window: float) -> Reply:
    """The one message standing for every report held back during a flood window."""
    shown = "\n".join(held[:40]) + (f"\n… and {len(held) - 40} more" if len(held) > 40 else "")
    embed = discord.Embed(
        title=f"🚩 {len(held)} more report{'s' if len(held) != 1 else ''} in the last {minutes_text(window)}",
        description=shown,
        colour=discord.Colour.orange(),
    )
    embed.set_footer(text="Many reports came in at once, so they are gathered here. /reports lists them all.")
    return Reply([embed], notice=False)


async def _post(services: LogServices, channel: discord.abc.Messageable, reply: Reply, guild_id: int) -> None:
    try:
        await services.delivery.post(channel, reply)
    except DELIVERY_ERRORS as exc:  # after discord.py's retries, a long 429 or SEND_TIMEOUT
        log.warning("could not post to the moderator log of guild %s: %s", guild_id, describe(exc))
