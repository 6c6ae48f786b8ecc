"""What a search returns: the facts found, how the query was read, and the verdict on it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.facts.models import FactRecord


@dataclass(frozen=True)
class Hit:
    fact: FactRecord
    score: float
    coverage: float  # share of the query's ideas the fact contains (lexical evidence)
    similarity: float = 0.0  # cosine of the query's and the fact's sentence embeddings


@dataclass
class SearchResult:
    query: str
    hits: list[Hit] = field(default_factory=list)
    expanded: dict[str, list[str]] = field(default_factory=dict)
    corrected: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    display: list[str] = field(default_factory=list)  # the query as searched, word by word
    focus: str | None = None  # what was searched when a long text was reduced to its question
    answered: bool = False  # whether the store directly answers this (see `bot.search.verdict`)
    not_covered: list[str] = field(default_factory=list)  # key ideas of the query no top fact speaks to

    @property
    def rewritten(self) -> str | None:
        """The query as searched, when aliases or typo correction changed it ("showing results for …")."""
        if not self.expanded and not self.corrected:
            return None
        return " ".join(self.display)
