"""Plain records the store hands out: no SQL rows and no discord objects leave the store."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TierRecord:
    """A source tier (`data/tiers.toml`): higher `rank` is stronger evidence."""

    key: str
    rank: int
    badge: str
    label: str
    short: str
    meaning: str

    @property
    def tag(self) -> str:
        """`📄 Peer-reviewed paper`: what every fact line and source card shows."""
        return f"{self.badge} {self.label}"


UNRATED_TIER = TierRecord("unrated", 0, "❔", "Unrated source", "unrated", "No one has rated this kind of source yet.")


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
    tier: TierRecord = UNRATED_TIER
    link: str | None = None  # the page's own address, when it was imported from one

    @property
    def url(self) -> str | None:
        """The page's address when known, else its site (concept-page sources carry a domain only)."""
        if self.link:
            return self.link
        return f"https://{self.domain}" if self.domain else None

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
    section: str = ""  # an imported source's section ("Summary", "Abstract", "Text"); "" on concept pages


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
    source_id: int | None = None  # the imported paper card (`data/sources/`), when there is one

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
