"""Read access to the fact database (aiosqlite, read-only): every SQL query the bot runs is here.

The database file is replaced wholesale by `bot.facts.ingest`; the store opens it read-only, so a running
bot keeps serving the file it opened even while a rebuild swaps in a new one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite
import numpy as np
import numpy.typing as npt

from bot.facts import embedding, vector_index
from bot.facts.models import (
    CitationRecord,
    ConceptRecord,
    FactRecord,
    PaperRecord,
    PerspectiveRecord,
    ProtocolRecord,
    ProtocolStage,
    SourceRecord,
    TierRecord,
)
from bot.facts.rows import fact_record, source_record
from bot.facts.vector_index import MEMORY_VECTORS

_FACT_COLUMNS = """
    f.rowid, f.id, f.type, f.text, f.position, f.section, c.name AS concept,
    s.id AS source_id, s.title, s.domain, s.publisher, s.authors, s.date, s.declared_count, s.url, {tier}
"""
_TIER_COLUMNS = "s.tier, t.rank AS tier_rank, t.badge, t.label AS tier_label, t.short AS tier_short, t.meaning"
_TIER_JOIN = "JOIN tiers t ON t.key = s.tier"
_FACT_COLUMNS = _FACT_COLUMNS.format(tier=_TIER_COLUMNS)
_FACT_FROM = f"facts f JOIN sources s ON s.id = f.source_id JOIN concepts c ON c.id = f.concept_id {_TIER_JOIN}"
_SOURCE_COLUMNS = (
    "s.id AS source_id, s.title, s.domain, s.publisher, s.authors, s.date, s.declared_count, s.url, c.name AS concept, "
    + _TIER_COLUMNS
)
# SQLite limits bound parameters per statement; long IN lists go in chunks of this size.
_IN_CHUNK = 500

RowidRange = tuple[int, int]  # inclusive (first, last) fact rowid


class FactText(NamedTuple):
    """A candidate fact as search's rerank sees it: no source record, no concept."""

    rowid: int
    type: str
    text: str
    title: str
    tier_rank: int = 0  # the source's tier (`data/tiers.toml`): 50 paper … 10 community post


class StoreError(RuntimeError):
    """The database is missing or unreadable; the message says how to build it."""


class FactStore:
    """An open, read-only fact database plus the small lookup tables search keeps in memory."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.aliases: dict[str, list[str]] = {}
        self.intents: dict[str, list[str]] = {}
        self.related: dict[str, list[str]] = {}  # neighbouring topics: they rank, they do not answer
        self.meta: dict[str, str] = {}
        self.fact_count = 0
        self.vocabulary: dict[str, int] = {}
        self.concept_ranges: dict[str, RowidRange] = {}
        self.vector_rowids: npt.NDArray[np.int64] | None = None
        self.vectors: embedding.Vectors | None = None
        self.vector_index: Any = None  # usearch index view on large stores (`bot.facts.vector_index`)
        # Questions per fact (`bot.facts.questions`), in memory at any store size: curated, so few.
        self.question_owners: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # fact rowid of each row
        self.question_vectors: embedding.Vectors = embedding.from_blobs([])

    @classmethod
    async def open(cls, path: Path) -> FactStore:
        if not path.exists():
            raise StoreError(f"fact database {path} does not exist: run `python -m bot ingest`")
        try:
            conn = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise StoreError(f"fact database {path} cannot be read ({exc}): run `python -m bot ingest`") from exc
        try:
            conn.row_factory = sqlite3.Row
            store = cls(conn, path)
            await store._load()
        except BaseException as exc:
            await conn.close()  # never leave the database thread running after a failed open
            if isinstance(exc, sqlite3.Error | OSError | RuntimeError):
                reason = f"fact database {path} cannot be read ({exc}): run `python -m bot ingest`"
                raise StoreError(reason) from exc
            raise
        return store

    async def close(self) -> None:
        await self._conn.close()

    async def _load(self) -> None:
        tables = {"alias": self.aliases, "related": self.related, "intent": self.intents}
        for row in await self._rows("SELECT alias, canonical, kind FROM aliases ORDER BY rowid"):
            tables.get(row["kind"], self.intents).setdefault(row["alias"], []).append(row["canonical"])
        self.meta = {row["key"]: row["value"] for row in await self._rows("SELECT key, value FROM meta")}
        self.fact_count = int(self.meta.get("fact_count", "0"))
        self.compare_config: dict[str, Any] = json.loads(self.meta.get("compare", "{}"))
        self.vocabulary = {row["word"]: row["docs"] for row in await self._rows("SELECT word, docs FROM words")}
        self.concept_ranges = await self._concept_ranges()
        await self._load_vectors()

    async def _load_vectors(self) -> None:
        """Fact vectors in memory (row i is fact `vector_rowids[i]`) for exact cosine search, and the
        vectors of the questions per fact (row i asks for fact `question_owners[i]`).

        Stores above `MEMORY_VECTORS` facts keep theirs on disk and open their approximate index instead.
        """
        if self.meta.get("embedding_model") != embedding.MODEL_ID:
            return
        rows = await self._rows(
            "SELECT q.fact_rowid, v.vector FROM fact_questions q JOIN question_vectors v USING (rowid) ORDER BY rowid"
        )
        self.question_owners = np.array([r["fact_rowid"] for r in rows], dtype=np.int64)
        self.question_vectors = embedding.from_blobs([r["vector"] for r in rows])
        if self.fact_count > MEMORY_VECTORS:
            name = self.meta.get("vector_index")
            if name and (self.path.parent / name).exists():
                self.vector_index = vector_index.open_view(self.path.parent / name)
            return
        rows = await self._rows("SELECT rowid, vector FROM fact_vectors ORDER BY rowid")
        self.vector_rowids = np.array([r["rowid"] for r in rows], dtype=np.int64)
        self.vectors = embedding.from_blobs([r["vector"] for r in rows])

    async def _concept_ranges(self) -> dict[str, RowidRange]:
        """Each concept's facts as one rowid range, for concepts whose facts are contiguous.

        The ingest inserts a page's facts one after another, so a concept usually owns a gap-free
        run of rowids; FTS5 can then restrict a match to it (`rowid BETWEEN`) by seeking, which lets
        search look inside the concept a query names without an index or column for it. A concept
        whose span holds foreign rowids is left out (its range would not mean "this concept").
        Aggregated per source over the covering `facts_source` index (one pass, no table scan), then
        per concept here: a few thousand rows at 1M facts.
        """
        spans: dict[str, list[int]] = {}
        rows = await self._rows(
            "SELECT c.name AS name, min(f.rowid) AS lo, max(f.rowid) AS hi, count(*) AS n "
            "FROM facts f JOIN sources s ON s.id = f.source_id JOIN concepts c ON c.id = s.concept_id "
            "GROUP BY f.source_id"
        )
        for row in rows:
            span = spans.setdefault(row["name"], [row["lo"], row["hi"], 0])
            span[0], span[1], span[2] = min(span[0], row["lo"]), max(span[1], row["hi"]), span[2] + row["n"]
        return {name: (lo, hi) for name, (lo, hi, n) in spans.items() if hi - lo + 1 == n}

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _rows_in(self, sql: str, values: Sequence[Any]) -> list[sqlite3.Row]:
        """`sql` with its `{marks}` placeholder filled for every value, run in bounded chunks."""
        out: list[sqlite3.Row] = []
        for start in range(0, len(values), _IN_CHUNK):
            chunk = list(values[start : start + _IN_CHUNK])
            out += await self._rows(sql.format(marks=",".join("?" * len(chunk))), chunk)
        return out

    # --- search primitives (queries are built by bot.search.searcher; every user word arrives quoted) ---

    async def term_docs(self, stems: Iterable[str]) -> dict[str, int]:
        """Document frequency of porter stems, from the table copied out of fts5vocab at build."""
        stems = sorted(set(stems))
        if not stems:
            return {}
        rows = await self._rows(
            f"SELECT term, docs FROM term_stats WHERE term IN ({','.join('?' * len(stems))})", stems
        )
        return {row["term"]: row["docs"] for row in rows}

    async def ranked_candidates(
        self, match: str, limit: int, within: RowidRange | None = None
    ) -> list[tuple[int, float]]:
        """(rowid, bm25) for the best `limit` facts matching an FTS5 expression, best first.

        Costly when a phrase is common: FTS5's bm25 counts every document of every phrase (over the
        whole index, whatever `within` says) before it ranks. Use it for rare terms only.
        """
        where, params = _within(within)
        rows = await self._rows(
            "SELECT rowid, bm25(facts_fts, 1.0, 0.2) AS rank FROM facts_fts WHERE facts_fts MATCH ?"
            f"{where} ORDER BY rank LIMIT ?",
            (match, *params, limit),
        )
        return [(row["rowid"], -float(row["rank"])) for row in rows]

    async def unranked_candidates(self, match: str, limit: int, within: RowidRange | None = None) -> list[int]:
        """Rowids matching an expression, in rowid order, without ranking: stops after `limit`.

        Cheap whatever the words (FTS5 walks posting lists only until `limit` rows are found, and
        seeks straight to `within` when given), so this is the fetch for common words.
        """
        where, params = _within(within)
        rows = await self._rows(
            f"SELECT rowid FROM facts_fts WHERE facts_fts MATCH ?{where} LIMIT ?", (match, *params, limit)
        )
        return [row["rowid"] for row in rows]

    async def matches_any(self, match: str) -> bool:
        """Whether any fact matches an expression: one unranked row, never a ranking of all matches."""
        return bool(await self.unranked_candidates(match, 1))

    async def fact_texts(self, rowids: Sequence[int]) -> list[FactText]:
        """Just what a rerank reads (text, source title, type) for many candidates.

        Full `FactRecord`s (three-way join, JSON authors) are built only for the few results shown.
        """
        rows = await self._rows_in(
            "SELECT f.rowid, f.type, f.text, s.title, t.rank FROM facts f JOIN sources s ON s.id = f.source_id "
            f"{_TIER_JOIN} WHERE f.rowid IN ({{marks}})",
            rowids,
        )
        return [FactText(row["rowid"], row["type"], row["text"], row["title"], row["rank"]) for row in rows]

    async def facts_by_rowid(self, rowids: Sequence[int]) -> dict[int, FactRecord]:
        rows = await self._rows_in(f"SELECT {_FACT_COLUMNS} FROM {_FACT_FROM} WHERE f.rowid IN ({{marks}})", rowids)
        return {row["rowid"]: fact_record(row) for row in rows}

    async def vectors_of(self, rowids: Sequence[int]) -> dict[int, embedding.Vectors]:
        """Stored vectors of some facts (large stores, where they are not all in memory)."""
        rows = await self._rows_in("SELECT rowid, vector FROM fact_vectors WHERE rowid IN ({marks})", list(rowids))
        return {r["rowid"]: embedding.from_blobs([r["vector"]])[0] for r in rows}

    async def fact(self, fact_id: str) -> FactRecord | None:
        rows = await self._rows(f"SELECT {_FACT_COLUMNS} FROM {_FACT_FROM} WHERE f.id = ?", (fact_id.strip().lower(),))
        return fact_record(rows[0]) if rows else None

    async def fact_ids_like(self, prefix: str, limit: int = 25) -> list[str]:
        """Fact ids starting with `prefix` (for autocomplete of `/fact id:`)."""
        escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await self._rows(
            "SELECT id FROM facts WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?", (escaped + "%", limit)
        )
        return [row["id"] for row in rows]

    async def facts_of_source(self, source_id: int) -> list[FactRecord]:
        rows = await self._rows(
            f"SELECT {_FACT_COLUMNS} FROM {_FACT_FROM} WHERE f.source_id = ? ORDER BY f.position", (source_id,)
        )
        return [fact_record(row) for row in rows]

    async def source_type_mix(self, source_id: int) -> dict[str, int]:
        rows = await self._rows(
            "SELECT type, count(*) AS n FROM facts WHERE source_id = ? GROUP BY type ORDER BY n DESC, type",
            (source_id,),
        )
        return {row["type"]: row["n"] for row in rows}

    async def citing_neighbours(self, fact_id: str) -> list[str]:
        """Ids of the facts cited next to this one in the same overview paragraph."""
        rows = await self._rows(
            "SELECT DISTINCT other.fact_id FROM citations mine JOIN citations other "
            "ON other.concept_id = mine.concept_id AND other.section = mine.section "
            "AND other.paragraph = mine.paragraph AND other.fact_id != mine.fact_id "
            "WHERE mine.fact_id = ? AND mine.section = 'overview' ORDER BY other.fact_id",
            (fact_id,),
        )
        return [row["fact_id"] for row in rows]

    async def search_sources(self, match: str, limit: int) -> list[SourceRecord]:
        rows = await self._rows(
            f"SELECT {_SOURCE_COLUMNS} FROM sources_fts JOIN sources s ON s.id = sources_fts.rowid "
            f"JOIN concepts c ON c.id = s.concept_id {_TIER_JOIN} WHERE sources_fts MATCH ? "
            "ORDER BY bm25(sources_fts, 4.0, 1.0, 1.0, 1.0), s.declared_count DESC LIMIT ?",
            (match, limit),
        )
        return [source_record(row) for row in rows]

    async def sources(self, limit: int | None = None) -> list[SourceRecord]:
        rows = await self._rows(
            f"SELECT {_SOURCE_COLUMNS} FROM sources s JOIN concepts c ON c.id = s.concept_id {_TIER_JOIN} "
            "ORDER BY s.declared_count DESC, s.id LIMIT ?",
            (limit if limit is not None else -1,),
        )
        return [source_record(row) for row in rows]

    async def concept_names(self) -> list[str]:
        return [row["name"] for row in await self._rows("SELECT name FROM concepts ORDER BY name")]

    async def concept(self, name: str) -> ConceptRecord | None:
        rows = await self._rows("SELECT id, name, overview FROM concepts WHERE name = ?", (name.strip(),))
        if not rows:
            return None
        concept_id = rows[0]["id"]
        citations = [
            CitationRecord(
                r["section"], r["paragraph"], r["start"], r["end"], r["label"], r["fact_id"], r["exporter_id"] is None
            )
            for r in await self._rows(
                "SELECT * FROM citations WHERE concept_id = ? ORDER BY section, paragraph, start", (concept_id,)
            )
        ]
        perspectives = [
            PerspectiveRecord(r["model"], r["confidence"], bool(r["definitive"]), r["text"])
            for r in await self._rows(
                "SELECT * FROM perspectives WHERE concept_id = ? ORDER BY position", (concept_id,)
            )
        ]
        return ConceptRecord(
            id=concept_id,
            name=rows[0]["name"],
            overview=tuple(json.loads(rows[0]["overview"])),
            citations=tuple(c for c in citations if c.section == "overview"),
            perspectives=tuple(perspectives),
            perspective_citations=tuple(c for c in citations if c.section == "perspective"),
        )

    async def facts(self, fact_ids: Sequence[str]) -> dict[str, FactRecord]:
        ids = list(dict.fromkeys(fact_ids))
        rows = await self._rows_in(f"SELECT {_FACT_COLUMNS} FROM {_FACT_FROM} WHERE f.id IN ({{marks}})", ids)
        return {row["id"]: fact_record(row) for row in rows}

    async def papers(self) -> list[PaperRecord]:
        return [
            PaperRecord(
                title=r["title"],
                authors=tuple(json.loads(r["authors"])),
                journal=r["journal"],
                year=r["year"],
                doi=r["doi"],
                tags=tuple(json.loads(r["tags"])),
                summary=r["summary"],
                match=tuple(json.loads(r["match"])),
                source_id=r["source_id"],
            )
            for r in await self._rows("SELECT * FROM papers ORDER BY id")
        ]

    async def protocols(self) -> list[ProtocolRecord]:
        out = []
        for r in await self._rows("SELECT * FROM protocols ORDER BY id"):
            definition = json.loads(r["definition"])
            out.append(
                ProtocolRecord(
                    key=r["key"],
                    name=r["name"],
                    aliases=tuple(json.loads(r["aliases"])),
                    description=r["description"],
                    scope=tuple(definition["scope"]),
                    stages=tuple(
                        ProtocolStage(stage, stage, tuple(phrases)) for stage, phrases in definition["stages"].items()
                    ),
                    types=tuple(definition["types"]),
                    fact_ids=tuple(definition["fact_ids"]),
                )
            )
        return out

    async def tiers(self) -> list[TierRecord]:
        """Every tier, strongest first (what `/source` explains)."""
        rows = await self._rows("SELECT * FROM tiers ORDER BY rank DESC, key")
        return [TierRecord(r["key"], r["rank"], r["badge"], r["label"], r["short"], r["meaning"]) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self._rows(
            "SELECT (SELECT count(*) FROM facts) AS facts, (SELECT count(*) FROM sources) AS sources, "
            "(SELECT count(*) FROM concepts) AS concepts"
        )
        return dict(rows[0])


def _within(span: RowidRange | None) -> tuple[str, tuple[int, ...]]:
    """The SQL (and parameters) that keep an FTS5 match inside a rowid range."""
    return (" AND rowid BETWEEN ? AND ?", span) if span else ("", ())
