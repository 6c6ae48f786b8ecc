"""`python -m bot search`: the raw ranking for one query, or for a file of queries in one process.

`--json` prints a list of `id`, `type`, `text`, `source`, `score` for one query; `--batch FILE --json`
prints one JSON object per line of FILE, in order: `{"query", "answered", "not_covered", "results"}`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bot.facts.store import FactStore
from bot.search.result import SearchResult
from bot.search.searcher import Searcher

MAX_LIMIT = 100


def hits_json(result: SearchResult) -> list[dict[str, Any]]:
    return [
        {"id": h.fact.id, "type": h.fact.type, "text": h.fact.text, "source": h.fact.source.title, "score": h.score}
        for h in result.hits
    ]


def print_text(result: SearchResult) -> None:
    if result.focus:
        print(f"Searched for the question: {result.focus}")
    if result.rewritten:
        print(f"Showing results for: {result.rewritten}")
    if not result.answered and result.hits:
        missing = ", ".join(result.not_covered) or "the question as asked"
        print(f"The store does not answer this directly (nothing on: {missing}). Closest facts:")
    if not result.hits:
        print("No matching facts." + (f" Did you mean: {', '.join(result.suggestions)}?" if result.suggestions else ""))
    for rank, hit in enumerate(result.hits, 1):
        print(f"{rank:>2}. [{hit.fact.id}] ({hit.fact.type}, {hit.score:.3f}) {hit.fact.text}")
        print(f"    — {hit.fact.source.title}, {hit.fact.source.publisher}")


async def run_search(store: FactStore, query: str | None, limit: int, as_json: bool, batch: Path | None) -> int:
    searcher = Searcher(store)
    limit = max(1, min(limit, MAX_LIMIT))
    if batch is None:
        result = await searcher.search(query or "", limit=limit)
        if as_json:
            print(json.dumps(hits_json(result), ensure_ascii=False, indent=2))
        else:
            print_text(result)
        return 0
    try:
        lines = batch.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read the batch file {batch}: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        if not line.strip():
            continue
        result = await searcher.search(line, limit=limit)
        if as_json:
            row = {"query": line, "answered": result.answered, "not_covered": result.not_covered}
            print(json.dumps({**row, "results": hits_json(result)}, ensure_ascii=False), flush=True)
        else:
            print(f"## {line}")
            print_text(result)
    return 0
