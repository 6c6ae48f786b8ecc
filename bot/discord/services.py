"""The bot's services in one object, built the same way for Discord and for the offline console."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.answers.answers import Answers
from bot.config import Settings
from bot.discord.delivery import Delivery
from bot.discord.views import buttons_for
from bot.facts.ingest import ensure_database
from bot.facts.store import FactStore
from bot.moderation.limits import Limits
from bot.moderation.state import ModerationStore
from bot.search.searcher import Searcher


@dataclass
class Services:
    settings: Settings
    store: FactStore
    answers: Answers
    moderation: ModerationStore
    delivery: Delivery
    started_at: float = field(default_factory=time.time)
    limits: Limits = field(default_factory=Limits)  # per-member limits and the moderator-log flood gate

    @classmethod
    async def open(cls, settings: Settings) -> Services:
        """Build the fact database if `data/` changed, open both databases, wire the answers."""
        ensure_database(settings.data_dir, settings.database_path)
        store = await FactStore.open(settings.database_path)
        moderation = await ModerationStore.open(settings.state_database_path)
        await moderation.prune(settings.stats_retention_days)  # retention, at start-up (and daily: cogs)
        answers = Answers(Searcher(store))
        return cls(
            settings, store, answers, moderation, Delivery(settings.notice_text, settings.crisis_text, buttons_for)
        )

    async def close(self) -> None:
        await self.store.close()
        await self.moderation.close()
