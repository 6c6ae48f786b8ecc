"""Spec'd mocks of discord.py objects: a test fails when the real API no longer has what we call.

Modelled on python-discord/bot's helpers: `MagicMock(spec=...)` rejects attributes the real class
lacks, and coroutine methods are `AsyncMock`s with the real signature (`autospec`), so a wrong
keyword argument fails the test the way it would fail against Discord.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock, create_autospec

import discord
from discord.ext import commands

from bot.discord.services import Services


def mock_member(user_id: int = 1001, *, bot: bool = False, manage_threads: bool = False) -> MagicMock:
    member = MagicMock(spec=discord.Member)
    member.id = user_id
    member.bot = bot
    member.display_name = f"user{user_id}"
    member.mention = f"<@{user_id}>"
    member.guild_permissions = discord.Permissions(manage_threads=manage_threads)
    return member


def mock_client(services: Services) -> MagicMock:
    client = MagicMock(spec=commands.Bot)
    client.services = services
    client.latency = 0.042
    client.shard_count = None
    client.get_channel.return_value = None
    return client


def mock_interaction(
    services: Services,
    *,
    user_id: int = 1001,
    manage_threads: bool = False,
    guild_id: int | None = 111,
    custom_id: str | None = None,
) -> MagicMock:
    interaction = MagicMock(spec=discord.Interaction)
    interaction.id = 555
    interaction.user = mock_member(user_id, manage_threads=manage_threads)
    interaction.guild_id = guild_id
    interaction.guild = None
    interaction.channel = None
    interaction.client = mock_client(services)
    interaction.permissions = discord.Permissions(manage_threads=manage_threads, send_messages=True)
    interaction.data = {"custom_id": custom_id} if custom_id else {}
    interaction.command = None
    response = create_autospec(discord.InteractionResponse, instance=True)
    response.is_done.return_value = False
    for name in ("send_message", "edit_message", "defer", "send_modal"):
        getattr(response, name).side_effect = _done(response)
    interaction.response = response
    interaction.followup = create_autospec(discord.Webhook, instance=True)
    interaction.edit_original_response = create_autospec(
        discord.Interaction(data=_MINIMAL_INTERACTION, state=MagicMock()).edit_original_response
    )
    return interaction


_MINIMAL_INTERACTION: Any = {
    "id": "1",
    "application_id": "2",
    "type": 2,
    "token": "t",
    "version": 1,
    "attachment_size_limit": 1,
}


def tree_for_tests() -> MagicMock:
    """A client good enough to construct a `CommandTree` around."""
    client = MagicMock(spec=discord.Client)
    client.http = MagicMock()
    client._connection = MagicMock()
    client._connection._command_tree = None
    return client


def _done(response: MagicMock) -> Any:
    async def mark(*args: Any, **kwargs: Any) -> None:
        response.is_done.return_value = True

    return mark


def sent(interaction: MagicMock) -> dict[str, Any]:
    """Keyword arguments of the one initial response (or follow-up) the interaction got."""
    calls = interaction.response.send_message.call_args_list + interaction.followup.send.call_args_list
    assert len(calls) == 1, f"expected one message, got {len(calls)}"
    return dict(calls[0].kwargs)


def text_of(kwargs: dict[str, Any]) -> str:
    """Everything a person would read in a sent message (content, titles, descriptions, fields, footer)."""
    parts = [kwargs.get("content") or ""]
    for embed in kwargs.get("embeds", []):
        parts += [embed.title or "", embed.description or "", embed.footer.text or ""]
        parts += [f"{f.name}\n{f.value}" for f in embed.fields]
    return "\n".join(parts)


def assert_safe(kwargs: dict[str, Any], notice: str) -> None:
    """Nobody is pinged, and the notice is there."""
    mentions = kwargs["allowed_mentions"]
    assert isinstance(mentions, discord.AllowedMentions)
    assert mentions.to_dict() == {"parse": []}
    assert notice in text_of(kwargs)


def page_button(view: discord.ui.View, step: str) -> Any:
    """The ◀ (`prev`) or ▶ (`next`) button of a `/fact` answer's view."""
    from bot.discord.views import PageButton

    return next(c for c in view.children if isinstance(c, PageButton) and c.step == step)


async def click(services: Services, custom_id: str, *, user_id: int = 1001, title: str | None = None) -> MagicMock:
    """Press a `DynamicItem` button the way discord.py dispatches it in a process that never saw the
    message (after a restart): the item is rebuilt from the custom id alone (and the message's title)."""
    from bot.discord.views import DYNAMIC_ITEMS

    interaction = mock_interaction(services, user_id=user_id, custom_id=custom_id)
    interaction.message = MagicMock(spec=discord.Message)
    interaction.message.embeds = [discord.Embed(title=title)] if title is not None else []
    for cls in DYNAMIC_ITEMS:
        match = cls.__discord_ui_compiled_template__.fullmatch(custom_id)
        if match:
            item = await cls.from_custom_id(interaction, MagicMock(spec=discord.ui.Button), match)
            await item.callback(interaction)
            return interaction
    raise AssertionError(f"no dynamic item matches {custom_id!r}")


def mock_channel(channel_id: int = 777, cls: type = discord.TextChannel) -> MagicMock:
    channel = create_autospec(cls, instance=True)
    channel.id = channel_id
    return channel


__all__ = ["assert_safe", "click", "mock_channel", "mock_client", "mock_interaction", "page_button", "sent", "text_of"]
