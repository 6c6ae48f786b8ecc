"""What every command's answer shares: the open store and searcher, cached static data, helpers.

Each command's answer lives in its own module as a mixin of `AnswerBase`; `bot.answers.answers.Answers`
combines them, so cogs, buttons and the console call one object and an answer is built one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.answers.render import (
    answer_embed,
    fact_field,
)
from bot.answers.reply import Reply
from bot.facts.models import FactRecord, ProtocolRecord, SourceRecord
from bot.search.result import SearchResult
from bot.search.searcher import SMALL_STORE, Searcher

PAGE_SIZE = 5
MAX_RESULTS = 25


@dataclass
class FactPage:
    """What the pager needs to show another page of the same `/fact` answer."""

    query: str
    page: int
    pages: int
    fact_ids: list[str] = field(default_factory=list)


@dataclass
class Choice:
    """An autocomplete choice; both parts at most 100 characters (Discord's rule)."""

    name: str
    value: str


class AnswerBase:
    """The open store, its searcher and the static data worked out once per store."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.store = searcher.store
        # Protocols and the facts of their stages are static data of the open store (a rebuild
        # opens a new store and a new `Answers`), so each is worked out once, not per request.
        self._protocols: list[ProtocolRecord] | None = None
        self._protocol_stages: dict[str, dict[str, list[FactRecord]]] = {}
        self._sources: list[SourceRecord] | None = None

    @property
    def _large(self) -> bool:
        """Whether ranking every FTS5 match is too costly here (see `bot.search.SMALL_STORE`)."""
        return self.store.fact_count > SMALL_STORE

    async def _top_sources(self) -> list[SourceRecord]:
        """The 2 000 largest sources, the pool fuzzy title matching chooses from.

        Read once per store: it is re-read on every keystroke of `/source` autocomplete otherwise
        (a join, a sort and 2 000 JSON author lists: 15 ms at a million facts).
        """
        if self._sources is None:
            self._sources = await self.store.sources(limit=2000)
        return self._sources

    async def _all_protocols(self) -> list[ProtocolRecord]:
        if self._protocols is None:
            self._protocols = await self.store.protocols()
        return self._protocols

    # --- helpers shared by moderator features ---------------------------------------------------

    async def related_facts(self, text: str, limit: int = 3, subject: str = "") -> SearchResult:
        """Facts that best relate to free text (a message, a forum post under the title `subject`)."""
        return await self.searcher.search(text, limit=limit, subject=subject)

    def facts_reply(
        self, title: str, facts: Sequence[FactRecord], note: str | None = None, *, private: bool = True
    ) -> Reply:
        embed = answer_embed(title, note)
        for rank, fact in enumerate(facts[:PAGE_SIZE], 1):
            name, value = fact_field(fact, rank, text_limit=600)
            embed.add_field(name=name, value=value, inline=False)
        return Reply([embed], ephemeral=private, fact_ids=[f.id for f in facts[:PAGE_SIZE]])


def in_text(expression: str) -> str:
    """Restrict an FTS5 expression to the fact text (not the source title column)."""
    return f"{{text}} : ({expression})"


def choices_json(choices: Sequence[Choice]) -> list[dict[str, str]]:
    return [{"name": c.name, "value": c.value} for c in choices]
