"""When Discord cannot be reached: wait and retry with one clear line per attempt, never a traceback.

At start-up the bot probes `GET /gateway/bot` (it needs the token, so a wrong token is told apart at
once: `discord.LoginFailure`, exit 2, no retry) before logging in; DNS failures, refused connections,
timeouts and 5xx answers are waits with capped exponential backoff and jitter
(DISCORD_RETRY_MIN_SECONDS … DISCORD_RETRY_MAX_SECONDS). Once connected, discord.py's own reconnect
loop takes over; `install()` gives it the same capped backoff and turns its traceback per attempt
into the same one line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord
import discord.client
import discord.shard

from bot.config import Settings

log = logging.getLogger("factbot")
PROBE_TIMEOUT_SECONDS = 10.0
#: What "cannot reach Discord" looks like: a wait, not a crash.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, DNS (aiohttp's connector errors are OSErrors), TimeoutError
    aiohttp.ClientError,
    discord.DiscordServerError,
    discord.GatewayNotFound,
    discord.ConnectionClosed,
)


class Unreachable(Exception):
    """Discord answered, but not usefully (a 5xx, a 429, an HTML error page from a proxy)."""


RETRIED: tuple[type[BaseException], ...] = (*UNREACHABLE, Unreachable)


class Backoff:
    """Capped exponential backoff with jitter: each delay lies in [d/2, d], d = min(cap, first · 2ⁿ)."""

    def __init__(self, first: float, cap: float) -> None:
        self.first = first
        self.cap = max(first, cap)
        self.attempts = 0

    def delay(self) -> float:
        ceiling = min(self.cap, self.first * 2**self.attempts)
        self.attempts += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0


def reason(exc: BaseException) -> str:
    """A few words for a log line: what failed, never a traceback."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"DNS lookup failed for {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        code = exc.os_error.errno
        return os.strerror(code).lower() if code else str(exc.os_error).lower()
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}"
    if isinstance(exc, aiohttp.WSServerHandshakeError | aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    if isinstance(exc, discord.ConnectionClosed):
        return f"gateway closed the connection ({exc.code})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    text = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return text or type(exc).__name__


def seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


async def probe(api_base: str, token: str) -> None:
    """`GET /gateway/bot`: returns when Discord answers 200; 401 is `LoginFailure`; else it raises."""
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_SECONDS)
    headers = {"Authorization": f"Bot {token}", "User-Agent": "DiscordBot (factbot) reachability probe"}
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{api_base}/gateway/bot", headers=headers) as response,
    ):
        if response.status == 401:
            raise discord.LoginFailure("Improper token has been passed.")
        if response.status != 200:
            raise Unreachable(f"HTTP {response.status}")


async def until_reachable(
    settings: Settings, token: str, attempt: Callable[[], Awaitable[None]], on_wait: Callable[[], Awaitable[None]]
) -> None:
    """Probe, then run `attempt` (the login); on "unreachable", log one line, wait and try again."""
    backoff = Backoff(settings.discord_retry_min_seconds, settings.discord_retry_max_seconds)
    while True:
        try:
            await probe(settings.discord_api_base, token)
            await attempt()
            return
        except discord.LoginFailure:
            raise
        except RETRIED as exc:
            delay = backoff.delay()
            log.warning(
                "Discord unreachable at %s: %s; retrying in %s", settings.discord_api_base, reason(exc), seconds(delay)
            )
            await on_wait()
            await asyncio.sleep(delay)


class _ReconnectLines(logging.Filter):
    """discord.py logs a full traceback per reconnect attempt; make it the bot's one line."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if not message.startswith(("Attempting a reconnect", "Failed to connect for shard_id")):
            return True
        exc = record.exc_info[1] if record.exc_info else None
        delay = record.args[-1] if isinstance(record.args, tuple) and message.startswith("Attempting") else 5.0
        record.msg = "Discord unreachable at %s: %s; retrying in %s"
        record.args = (self.where, reason(exc) if exc else "disconnected", seconds(float(delay)))  # type: ignore[arg-type]
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.name = log.name  # the bot's line now, the same as at start-up
        return True


def install(settings: Settings) -> None:
    """discord.py's reconnect loops: the bot's capped backoff, and one line per attempt."""

    def backoff(*_: Any, **__: Any) -> Backoff:
        return Backoff(settings.discord_retry_min_seconds, settings.discord_retry_max_seconds)

    discord.client.ExponentialBackoff = backoff  # type: ignore[attr-defined,assignment]
    discord.shard.ExponentialBackoff = backoff  # type: ignore[attr-defined,assignment]
    for name in ("discord.client", "discord.shard"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ReconnectLines) for f in logger.filters):
            logger.addFilter(_ReconnectLines(settings.discord_gateway_url))
