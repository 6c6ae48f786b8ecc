"""A faithful, strict fake of Discord (REST v10 + gateway) for tests. See ``server.FakeDiscord``.

Usage::

    from fake_discord import FakeDiscord

    async with FakeDiscord() as fake:
        env = fake.bot_env()          # DISCORD_TOKEN / DISCORD_API_BASE / DISCORD_GATEWAY_URL
        ...                           # start the bot, await fake.wait_for_ready()
        rec = await fake.slash("fact", {"query": "ketamine"})
        await rec.wait_for_response(timeout=5)
        fake.assert_clean()
"""

from .interactions import InteractionRecord, ResponseEvent
from .schema import FieldError
from .server import DiscordHTTPError, FakeDiscord, InjectedFault, RecordedRequest, Violation, json_response
from .world import World

__all__ = [
    "DiscordHTTPError",
    "FakeDiscord",
    "FieldError",
    "InjectedFault",
    "InteractionRecord",
    "RecordedRequest",
    "ResponseEvent",
    "Violation",
    "World",
    "json_response",
]
