"""The bot's services in one object, built the same way for Discord and for the offline console."""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field

from bot.answers.answers import Answers
from bot.config import Settings
from bot.discord.backlog import Backlog
from bot.discord.delivery import Delivery
from bot.discord.reload import Reloader
from bot.discord.views import buttons_for
from bot.facts.dbfaults import reported
from bot.facts.ingest import ensure_database
from bot.facts.store import FactStore
from bot.moderation.limits import Limits
from bot.moderation.state import ModerationStore
from bot.search.searcher import Searcher
from bot.search.warm import warm_up

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: FactStore
    answers: Answers
    moderation: ModerationStore
    delivery: Delivery
    started_at: float = field(default_factory=time.time)
    limits: Limits = field(default_factory=Limits)  # per-member limits and the moderator-log flood gate
    backlog: Backlog = field(init=False)  # bounded answering: defer early, "busy" past the limit
    reloader: Reloader = field(init=False)  # /reload and SIGHUP: a new store swapped in live

    def __post_init__(self) -> None:
        s = self.settings
        self.backlog = Backlog(
            self.delivery,
            lambda: self.answers,
            workers=s.answer_workers,
            limit=s.answer_backlog,
            defer_after=s.answer_defer_ms / 1000,
        )
        self.reloader = Reloader(self)

    @classmethod
    async def open(cls, settings: Settings, *, build: bool = True) -> Services:
        """Build the fact database if `data/` changed, open both databases, wire the answers.

        A file that cannot be used raises `DatabaseFault` (one line), after closing whatever was
        already open: an open aiosqlite connection would keep the process alive.
        """
        # Moderator state first: its faults (damaged, locked, unwritable) are the likely ones, and the
        # fact store takes a while to load; a fault is reported before that work, not after it.
        moderation = await ModerationStore.open(
            settings.state_database_path, lock_timeout=settings.state_lock_timeout_seconds, url=settings.state_url
        )
        try:
            if build:
                ensure_fact_database(settings)
            store = await FactStore.open(settings.database_path)
        except BaseException:
            await moderation.close()
            raise
        try:
            await moderation.prune(settings.stats_retention_days)  # retention, at start-up (and daily: cogs)
        except sqlite3.Error as exc:  # it took writes a moment ago: a passing lock; the daily run retries
            log.warning("could not prune query statistics at start-up: %s", exc)
        searcher = Searcher(store)
        await warm_up(searcher)  # the first question is then as quick as the rest
        answers = Answers(searcher)
        return cls(
            settings, store, answers, moderation, Delivery(settings.notice_text, settings.crisis_text, buttons_for)
        )

    async def close(self) -> None:
        self.backlog.close()
        try:
            await self.reloader.close()
            await self.store.close()
        finally:
            await self.moderation.close()


def ensure_fact_database(settings: Settings) -> None:
    """Rebuild the fact database when `data/` changed; a full or read-only volume is a `DatabaseFault`."""
    with reported("fact database", settings.database_path, "the previous database (if any) was kept"):
        ensure_database(settings.data_dir, settings.database_path)
