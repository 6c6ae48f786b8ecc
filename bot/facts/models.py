"""Plain records the store hands out: no SQL rows and no discord objects leave the store."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SourceRecord:
    id: int
    title: str
    domain: str
    publisher: str
    authors: tuple[str, ...]
    date: str | None
    fact_count: int
    concept: str

    @property
    def url(self) -> str:
        """Sources carry a site domain, not a full URL: link the site."""
        return f"https://{self.domain}"

    @property
    def year(self) -> str | None:
        return self.date[-4:] if self.date else None


@dataclass(frozen=True)
class FactRecord:
    rowid: int
    id: str
    type: str
    text: str
    source: SourceRecord
    concept: str
    position: int


@dataclass(frozen=True)
class CitationRecord:
    section: str
    paragraph: int
    start: int
    end: int
    label: str
    fact_id: str
    glued: bool


@dataclass(frozen=True)
class PerspectiveRecord:
    model: str
    confidence: int
    definitive: bool
    text: str


@dataclass(frozen=True)
class ConceptRecord:
    id: int
    name: str
    overview: tuple[str, ...]
    citations: tuple[CitationRecord, ...]
    perspectives: tuple[PerspectiveRecord, ...]
    perspective_citations: tuple[CitationRecord, ...] = ()


@dataclass(frozen=True)
class PaperRecord:
    title: str
    authors: tuple[str, ...]
    journal: str
    year: int | None
    doi: str | None
    tags: tuple[str, ...]
    summary: str
    match: tuple[str, ...]

    @property
    def doi_url(self) -> str | None:
        return f"https://doi.org/{self.doi}" if self.doi else None


@dataclass(frozen=True)
class ProtocolStage:
    key: str
    title: str
    selectors: tuple[str, ...]  # FTS5-safe phrases; a fact must match one and the protocol's scope


@dataclass(frozen=True)
class ProtocolRecord:
    key: str
    name: str
    aliases: tuple[str, ...]
    description: str
    scope: tuple[str, ...]  # phrases that place a fact in this protocol (any of them)
    stages: tuple[ProtocolStage, ...]
    types: tuple[str, ...]
    fact_ids: tuple[str, ...] = field(default=())  # pinned facts, always included
