"""Faults while serving: a write or a send that fails is told to the member and logged; the bot serves on.

A moderator-state write can fail (disk full, read-only volume, a lock held past the 2 s busy timeout):
the member gets a short private "could not save your …, please try again" with an error reference, the
log gets one line with the same reference, and nothing already stored is touched (the engine rolled the
write back). Discord can fail a send: discord.py already waits out a 429 (`retry_after`) and retries
500/502/504 a few times; what still fails — or is rate limited for longer than `MAX_RATE_LIMIT_WAIT`,
or does not answer within `SEND_TIMEOUT` — is logged with a reference and, where someone waits for it,
told to them.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid

import aiohttp
import discord

from bot.answers.render import message_reply
from bot.answers.reply import Reply
from bot.facts.dbfaults import DatabaseFault

log = logging.getLogger("factbot.faults")
SEND_TIMEOUT = 30.0  # a follow-up or a post that Discord has not accepted by then is reported, not awaited
MAX_RATE_LIMIT_WAIT = 30.0  # discord.py waits out shorter 429s; a longer one is reported (`RateLimited`)
DELIVERY_ERRORS: tuple[type[BaseException], ...] = (
    discord.HTTPException,
    discord.RateLimited,
    TimeoutError,
    aiohttp.ClientError,
)


def reference() -> str:
    return uuid.uuid4().hex[:8]


def is_storage_error(exc: BaseException) -> bool:
    """A database that could not take a read or a write (SQLite, the file system, or PostgreSQL's driver)."""
    if isinstance(exc, sqlite3.Error | DatabaseFault):
        return True
    if isinstance(exc, OSError) and not isinstance(exc, TimeoutError | ConnectionError):
        return True
    return type(exc).__module__.split(".")[0] == "asyncpg"


def describe(exc: BaseException) -> str:
    """A few words for the log line, no traceback."""
    if isinstance(exc, discord.RateLimited):
        return f"Discord rate limited it for {exc.retry_after:.0f} s"
    if isinstance(exc, discord.HTTPException):
        return f"Discord answered {exc.status} ({exc.text[:80] or exc.__class__.__name__})"
    if isinstance(exc, TimeoutError):
        return f"Discord did not answer within {SEND_TIMEOUT:.0f} s"
    if isinstance(exc, sqlite3.Error | OSError):
        return f"moderator state: {exc}"
    return f"{type(exc).__name__}: {exc}"


def log_fault(what: str, exc: BaseException, ref: str, **extra: object) -> None:
    """One line: what failed, why, and the reference the member was given."""
    log.error("%s failed (error ref %s): %s", what, ref, describe(exc), extra={"error_ref": ref, **extra})


def not_saved(what: str, ref: str) -> Reply:
    return message_reply(
        "Not saved",
        f"Sorry, could not save your {what}, please try again in a moment (error ref `{ref}`).",
        error=True,
    )


def not_sent(what: str, exc: BaseException, ref: str) -> Reply:
    wait = f" Discord asked to wait {exc.retry_after:.0f} s." if isinstance(exc, discord.RateLimited) else ""
    return message_reply(
        "Not posted",
        f"Sorry, Discord did not accept the {what}.{wait} Nothing more was posted; please try again "
        f"(error ref `{ref}`).",
        error=True,
    )
