"""Search quality on a query set: recall@1 and @5 per query style, and the answerability rates.

A query set is TOML: `[[query]]` with `q`, `kind` and `expect` (verbatim prefixes of the facts that
answer it; empty for a question the store cannot answer, `kind = "unanswerable"`). Used by the tests
(which assert the floors) and by `python -m bench quality FILE…` (which prints the table).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

UNANSWERABLE = "unanswerable"


class _Hit(Protocol):
    @property
    def fact(self) -> Any: ...


class _Result(Protocol):
    @property
    def hits(self) -> Sequence[_Hit]: ...

    @property
    def answered(self) -> bool: ...


class _Searcher(Protocol):
    async def search(self, query: str, limit: int = 25) -> Any: ...


@dataclass
class Quality:
    """Per kind: [hits@1, hits@5, queries]; answerability: answered counts on both sides."""

    by_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    answered_when_answerable: int = 0
    answerable: int = 0
    refused_when_unanswerable: int = 0
    unanswerable: int = 0
    misses: list[tuple[str, str]] = field(default_factory=list)

    def recall(self, kind: str | None = None) -> tuple[float, float]:
        rows = [v for k, v in self.by_kind.items() if kind in (None, k)]
        total = sum(r[2] for r in rows) or 1
        return sum(r[0] for r in rows) / total, sum(r[1] for r in rows) / total

    @property
    def false_refusals(self) -> float:
        """Share of answerable questions that got `answered: false`."""
        return 1 - self.answered_when_answerable / (self.answerable or 1)

    @property
    def true_refusals(self) -> float:
        """Share of unanswerable questions that got `answered: false`."""
        return self.refused_when_unanswerable / (self.unanswerable or 1)

    def table(self) -> str:
        lines = ["| style | n | recall@1 | recall@5 |", "|---|---|---|---|"]
        for kind in sorted(self.by_kind):
            r1, r5 = self.recall(kind)
            lines.append(f"| {kind} | {self.by_kind[kind][2]} | {r1:.2f} | {r5:.2f} |")
        r1, r5 = self.recall()
        lines.append(f"| **all** | {sum(v[2] for v in self.by_kind.values())} | {r1:.2f} | {r5:.2f} |")
        lines.append("")
        lines.append(
            f"answered: false on {self.true_refusals:.0%} of {self.unanswerable} unanswerable and "
            f"{self.false_refusals:.0%} of {self.answerable} answerable questions"
        )
        return "\n".join(lines)


def load(path: Path) -> list[dict[str, Any]]:
    return list(tomllib.loads(path.read_text(encoding="utf-8"))["query"])


def rank_of(texts: Sequence[str], expected: Sequence[str]) -> int | None:
    return next((i for i, text in enumerate(texts) if any(text.startswith(e) for e in expected)), None)


async def evaluate(searcher: _Searcher, queries: Sequence[dict[str, Any]]) -> Quality:
    quality = Quality()
    for query in queries:
        result = await searcher.search(str(query["q"]), limit=5)
        answered = bool(getattr(result, "answered", bool(result.hits)))
        if query["kind"] == UNANSWERABLE:
            quality.unanswerable += 1
            quality.refused_when_unanswerable += not answered
            continue
        quality.answerable += 1
        quality.answered_when_answerable += answered
        rank = rank_of([h.fact.text for h in result.hits], query["expect"])
        row = quality.by_kind[str(query["kind"])]
        row[0] += rank == 0
        row[1] += rank is not None
        row[2] += 1
        if rank is None:
            quality.misses.append((str(query["kind"]), str(query["q"])))
    return quality
