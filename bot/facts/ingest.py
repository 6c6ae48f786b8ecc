"""Build the fact database from `data/`, atomically.

The database is written to a temporary file beside the target and swapped in with `os.replace`
only after everything parsed and committed; on any error the previous database is untouched, and
a running bot (which holds the old file open) keeps serving it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bot.facts import embedding
from bot.facts import vectors as vectors_module
from bot.facts.citations import resolve_citations
from bot.facts.concept_page import ConceptPage, parse_file
from bot.facts.datafiles import load_aliases, load_compare, load_papers, load_protocols
from bot.facts.errors import ParseError
from bot.facts.imported import insert_tiers, load_source_pages, merge_papers, paper_values, unclaimed, with_sources
from bot.facts.questions import insert_question_vectors, insert_questions, load_questions
from bot.facts.tiers import load_tiers
from bot.facts.vector_index import MEMORY_VECTORS, ensure_index, remove_stale

# Bump when the schema or the derived tables change, so existing databases get rebuilt.
BUILD_VERSION = "8"  # 8: questions per fact (an older store is rebuilt, never read with it)
# Above this many facts, the typo-correction vocabulary is built from an even sample of facts.
VOCABULARY_SAMPLE_LIMIT = 200_000
_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


@dataclass
class BuildReport:
    """What a build produced, for `python -m bot ingest` and for logs."""

    data_hash: str
    built_at: str
    seconds: float
    facts_by_concept: dict[str, int] = field(default_factory=dict)
    facts_by_source: list[tuple[str, str, int]] = field(default_factory=list)
    facts_by_type: dict[str, int] = field(default_factory=dict)
    citations: int = 0
    perspectives: int = 0
    aliases: int = 0
    protocols: int = 0
    papers: int = 0
    embedded: int = 0  # facts embedded by this build
    embeddings_cached: int = 0  # facts whose vector came from the cache
    questions: int = 0  # questions per fact (data/questions.toml) stored
    questions_embedded: int = 0
    questions_orphaned: list[str] = field(default_factory=list)  # ids in questions.toml no fact has

    @property
    def total_facts(self) -> int:
        return sum(self.facts_by_concept.values())


def schema_sql() -> str:
    return resources.files("bot.facts").joinpath("schema.sql").read_text(encoding="utf-8")


def concept_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "concepts").glob("*.txt"))


def data_hash(data_dir: Path) -> str:
    """Hash of every file under `data/` plus the schema, so any edit triggers a rebuild."""
    digest = hashlib.sha256(f"{BUILD_VERSION}\n{embedding.MODEL_ID}".encode())
    digest.update(schema_sql().encode())
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(data_dir)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def stored_hash(db_path: Path) -> str | None:
    """The data hash recorded in an existing database, or None when there is none or it is unreadable."""
    if not db_path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'data_hash'").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def fact_id_prefix(concept: str) -> str:
    letters = re.sub(r"[^a-z]", "", concept.lower())
    return letters[:1] or "f"


def fact_digest(concept: str, source_title: str, text: str) -> str:
    """What a fact id is derived from: its concept, its source and its text."""
    return hashlib.sha1(f"{concept}\n{source_title}\n{text}".encode()).hexdigest()


def _assign_fact_ids(conn: sqlite3.Connection) -> None:
    """Replace the full-digest placeholders with short stable ids (`k-3f9a2c`).

    Six hex digits, longer only where two facts collide; among colliding facts the one with the
    smaller digest keeps the shorter id, so an id never depends on file order. Rows sorted by
    placeholder put colliding facts next to each other, so one streaming pass finds them all.
    """
    longer: list[tuple[str, int]] = []
    run_key, taken = "", set[str]()
    for rowid, placeholder in conn.execute("SELECT rowid, id FROM facts ORDER BY id"):
        prefix, rest = placeholder.split("-", 1)
        digest = rest.split(".", 1)[0]
        if digest[:6] != run_key:
            run_key, taken = digest[:6], set()
        length = 6
        while (candidate := f"{prefix}-{digest[:length]}") in taken:
            length += 2
        taken.add(candidate)
        if length > 6:
            longer.append((candidate, rowid))
    skip = {rowid for _, rowid in longer}
    conn.execute("CREATE TEMP TABLE long_ids(rowid INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO long_ids(rowid) VALUES (?)", ((r,) for r in skip))
    conn.execute("UPDATE facts SET id = substr(id, 1, 8) WHERE rowid NOT IN (SELECT rowid FROM long_ids)")
    conn.executemany("UPDATE facts SET id = ? WHERE rowid = ?", longer)
    conn.execute("DROP TABLE long_ids")


def iter_pages(data_dir: Path) -> Iterator[ConceptPage]:
    """Parse concept pages one at a time (a million facts never sit in memory at once)."""
    if not data_dir.is_dir():
        raise ParseError(data_dir, 0, "DATA_DIR is not a folder: set DATA_DIR to the folder that holds concepts/*.txt")
    files = concept_files(data_dir)
    if not files:
        raise ParseError(data_dir / "concepts", 0, "no concept pages (*.txt) found: add one, or fix DATA_DIR")
    names: dict[str, Path] = {}
    for path in files:
        page = parse_file(path)
        if page.name.lower() in names:
            raise ParseError(path, 3, f"concept {page.name!r} is already defined in {names[page.name.lower()]}")
        names[page.name.lower()] = path
        yield page


def check_data(data_dir: Path) -> BuildReport:
    """Validate `data/` by building into memory; touches no file on disk."""
    conn = sqlite3.connect(":memory:")
    try:
        return _build_into(conn, data_dir, data_hash(data_dir))
    finally:
        conn.close()


def build_database(
    data_dir: Path,
    db_path: Path,
    *,
    vectors: bool = True,
    progress: vectors_module.Progress | None = None,
    encode: vectors_module.Encode | None = None,
) -> BuildReport:
    """Parse `data/` and swap a freshly built database in at `db_path`.

    With `vectors`, every fact gets its sentence embedding (cached beside the database by content, so
    only new or changed facts are embedded again).
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    # A unique temporary name: shard containers sharing a volume all run as PID 1.
    handle, name = tempfile.mkstemp(prefix=f".{db_path.name}.", suffix=".tmp", dir=db_path.parent)
    os.close(handle)
    tmp = Path(name)
    conn = sqlite3.connect(tmp)
    try:
        report = _build_into(conn, data_dir, data_hash(data_dir))
        large = report.total_facts > MEMORY_VECTORS  # such a store gets an approximate vector index
        index: str | None = None
        if vectors:
            cache = vectors_module.open_cache(vectors_module.cache_path(db_path))
            try:
                with conn:
                    report.embedded, report.embeddings_cached = vectors_module.insert_vectors(
                        conn, cache, encode, progress=progress, previous=db_path
                    )
                    report.questions_embedded = insert_question_vectors(conn, cache, encode)
                    conn.execute("INSERT INTO meta(key, value) VALUES ('embedding_model', ?)", (embedding.MODEL_ID,))
                    if large:
                        index = ensure_index(conn, db_path)
                        conn.execute("INSERT INTO meta(key, value) VALUES ('vector_index', ?)", (index,))
            finally:
                cache.close()
        conn.close()
        os.replace(tmp, db_path)
        remove_stale(db_path, index)
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    return report


def ensure_database(
    data_dir: Path, db_path: Path, progress: vectors_module.Progress | None = None
) -> BuildReport | None:
    """Rebuild only when `data/` changed since the database was built; None when it was current."""
    if stored_hash(db_path) == data_hash(data_dir):
        return None
    return build_database(data_dir, db_path, progress=progress)


def _build_into(conn: sqlite3.Connection, data_dir: Path, digest: str) -> BuildReport:
    started = time.perf_counter()
    aliases = load_aliases(data_dir / "aliases.toml")
    papers = load_papers(data_dir / "papers.toml")
    protocols = load_protocols(data_dir / "protocols.toml")
    compare = load_compare(data_dir / "compare.toml")
    questions = load_questions(data_dir / "questions.toml")
    tiers = load_tiers(data_dir / "tiers.toml")
    imported = load_source_pages(data_dir, tiers)
    cards = [card for found in imported.values() for card in found if card.is_paper]
    conn.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -32000;")
    conn.executescript(schema_sql())
    report = BuildReport(data_hash=digest, built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), seconds=0)
    fact_types: Counter[str] = Counter()
    citations: list[tuple[Any, ...]] = []  # cited facts by rowid, until their ids are final
    with conn:
        insert_tiers(conn, tiers)
        next_rowid, known = 1, []
        for page in iter_pages(data_dir):
            page = with_sources(page, imported.pop(page.name.lower(), []), tiers)
            citations += _insert_page(conn, page, next_rowid, report, fact_types)
            next_rowid += len(page.facts)
            known.append(page.name)
        unclaimed(imported, known)
        _assign_fact_ids(conn)
        ids = _ids_of(conn, {c[6] for c in citations})
        conn.executemany(
            "INSERT INTO citations(concept_id, section, paragraph, start, end, label, fact_id, exporter_id) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [(*c[:6], ids[c[6]], c[7]) for c in citations],
        )
        conn.executemany("INSERT INTO aliases(alias, canonical, kind) VALUES (?, ?, ?)", aliases)
        conn.executemany(
            "INSERT INTO papers(title, authors, journal, year, doi, tags, summary, match, source_id) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            [paper_values(paper) for paper in merge_papers(conn, papers, cards)],
        )
        for proto in protocols:
            definition = {key: proto[key] for key in ("scope", "stages", "fact_ids", "types")}
            conn.execute(
                "INSERT INTO protocols(key, name, aliases, description, definition) VALUES (?,?,?,?,?)",
                (
                    proto["key"],
                    proto["name"],
                    json.dumps(proto["aliases"]),
                    proto["description"],
                    json.dumps(definition),
                ),
            )
        _check_pinned_fact_ids(conn, data_dir, protocols)
        report.questions_orphaned = insert_questions(conn, questions)
        report.questions = conn.execute("SELECT count(*) FROM fact_questions").fetchone()[0]
        conn.execute("INSERT INTO facts_fts(facts_fts) VALUES ('rebuild')")
        conn.execute("INSERT INTO sources_fts(sources_fts) VALUES ('rebuild')")
        conn.execute("INSERT INTO term_stats(term, docs) SELECT term, doc FROM facts_vocab")
        _insert_vocabulary(conn)
        report.seconds = round(time.perf_counter() - started, 3)
        report.facts_by_type = dict(fact_types.most_common())
        report.aliases = len(aliases)
        report.papers = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
        report.protocols = len(protocols)
        meta = {
            "data_hash": digest,
            "built_at": report.built_at,
            "build_version": BUILD_VERSION,
            "fact_count": str(report.total_facts),
            "source_count": str(len(report.facts_by_source)),
            "compare": json.dumps(compare),
        }
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", meta.items())
    conn.execute("PRAGMA optimize")
    return report


def _ids_of(conn: sqlite3.Connection, rowids: set[int]) -> dict[int, str]:
    ordered = sorted(rowids)
    out: dict[int, str] = {}
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        out.update(conn.execute(f"SELECT rowid, id FROM facts WHERE rowid IN ({','.join('?' * len(chunk))})", chunk))
    return out


def _insert_page(
    conn: sqlite3.Connection, page: ConceptPage, first_rowid: int, report: BuildReport, types: Counter[str]
) -> list[tuple[Any, ...]]:
    """Insert one page's concept, sources and facts; return its citations (fact by rowid)."""
    cur = conn.execute(
        "INSERT INTO concepts(name, path, overview) VALUES (?, ?, ?)",
        (page.name, page.path, json.dumps(page.overview)),
    )
    concept_id = cur.lastrowid
    source_ids = []
    for source in page.sources:
        cur = conn.execute(
            "INSERT INTO sources(concept_id, title, domain, publisher, authors, date, declared_count, tier, url, path) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                concept_id,
                source.title,
                source.domain,
                source.publisher,
                json.dumps(source.authors),
                source.date,
                source.declared_count,
                source.tier,
                source.url,
                source.path,
            ),
        )
        source_ids.append(cur.lastrowid)
        report.facts_by_source.append((page.name, source.title, source.declared_count))
    prefix = fact_id_prefix(page.name)
    positions: Counter[int] = Counter()
    rows = []
    for offset, fact in enumerate(page.facts):
        positions[fact.source_index] += 1
        title = page.sources[fact.source_index].title
        # digest.rowid: unique even for a fact repeated word for word (it gets a longer id).
        placeholder = f"{prefix}-{fact_digest(page.name, title, fact.text)}.{first_rowid + offset}"
        rows.append(
            (
                first_rowid + offset,
                placeholder,
                concept_id,
                source_ids[fact.source_index],
                fact.type,
                fact.text,
                positions[fact.source_index],
                fact.section,
            )
        )
        types[fact.type] += 1
    conn.executemany(
        "INSERT INTO facts(rowid, id, concept_id, source_id, type, text, position, section) VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    perspective_citations = resolve_citations(
        [p.text for p in page.perspectives],
        [f for f in page.facts if not f.section],  # the page's own facts (imported ones come after them)
        page.path,
        [p.line for p in page.perspectives],
    )
    conn.executemany(
        "INSERT INTO perspectives(concept_id, position, model, confidence, definitive, text) VALUES (?,?,?,?,?,?)",
        [(concept_id, i, p.model, p.confidence, int(p.definitive), p.text) for i, p in enumerate(page.perspectives)],
    )
    report.facts_by_concept[page.name] = len(page.facts)
    report.citations += len(page.citations)
    report.perspectives += len(page.perspectives)
    return [
        (concept_id, section, c.paragraph, c.start, c.end, c.label, first_rowid + c.fact_index, c.exporter_id)
        for section, found in (("overview", page.citations), ("perspective", perspective_citations))
        for c in found
    ]


def _check_pinned_fact_ids(conn: sqlite3.Connection, data_dir: Path, protocols: list[dict[str, object]]) -> None:
    for proto in protocols:
        for fact_id in proto["fact_ids"]:  # type: ignore[attr-defined]
            if conn.execute("SELECT 1 FROM facts WHERE id = ?", (fact_id,)).fetchone() is None:
                raise ParseError(
                    data_dir / "protocols.toml", 1, f"protocol {proto['key']!r}: unknown fact id {fact_id!r}"
                )


def _insert_vocabulary(conn: sqlite3.Connection) -> None:
    """Surface words with document counts (from an even sample on very large stores)."""
    total = conn.execute("SELECT count(*) FROM facts").fetchone()[0]
    step = max(1, total // VOCABULARY_SAMPLE_LIMIT)
    counts: Counter[str] = Counter()
    for (text,) in conn.execute("SELECT text FROM facts WHERE rowid % ? = 0", (step,)):
        counts.update(set(_WORD.findall(text.lower())))
    for (title,) in conn.execute("SELECT title FROM sources"):
        counts.update(set(_WORD.findall(title.lower())))
    for (alias,) in conn.execute("SELECT DISTINCT alias FROM aliases"):
        counts.update(w for w in _WORD.findall(alias) if w not in counts)
    conn.executemany("INSERT INTO words(word, docs) VALUES (?, ?)", ((w, c * step) for w, c in counts.items()))
