"""Load what the first search needs before anyone asks, so the first member does not wait for it."""

from __future__ import annotations

import asyncio

from bot.search import lexicon
from bot.search.searcher import Searcher


async def warm_up(searcher: Searcher) -> None:
    """One search with every part (the model and its first run, the English word lists, WordNet's
    tables: about a second of CPU, in a worker thread and on the store's own connection), then ready."""
    await asyncio.to_thread(lexicon.warm_up)
    await searcher.search("is a newborn's shut-eye affected by ketamine")
