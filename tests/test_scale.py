"""The large-store code paths (concept scopes, unranked fetches, cached protocols, light reranks),
run on the real 285-fact store by lowering `SMALL_STORE`, so they are tested without a
generated million-fact database (`python -m bench` measures their speed)."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import bot.answers.base as answers_module
import bot.answers.compare as compare_module
import bot.search.searcher as search_module
from bot.answers.answers import Answers
from bot.answers.compare import _conflicts
from bot.facts.models import FactRecord
from bot.facts.store import FactStore
from bot.search import ranking
from bot.search.ranking import match as _match
from bot.search.ranking import pool_bm25 as _pool_bm25
from bot.search.searcher import Searcher
from bot.search.text import STOPWORDS, stem, tokenize
from bot.search.text import stems_of as _stems_of
from tests.conftest import ROOT

HOSTILE = ['"', "NEAR(", "*", "AND OR NOT", "'; DROP TABLE facts;--", "x" * 6000, "ketamine " * 700, "", "the of and"]


def _queries(name: str) -> list[dict[str, object]]:
    return list(tomllib.loads((ROOT / "tests" / name).read_text(encoding="utf-8"))["query"])


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Treat the 285-fact store as a large one (every large-store branch taken)."""
    monkeypatch.setattr(search_module, "SMALL_STORE", 10)
    monkeypatch.setattr(answers_module, "SMALL_STORE", 10)
    yield


@pytest.fixture
def all_common(large: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """... and call every word common, so search takes its unranked path."""
    monkeypatch.setattr(search_module, "MIN_COMMON_DOCS", 0)
    monkeypatch.setattr(search_module, "COMMON_SHARE", 0.0)
    yield


async def _recall(searcher: Searcher, queries: Sequence[dict[str, object]]) -> tuple[float, float]:
    at1 = at5 = 0
    for q in queries:
        hits = (await searcher.search(str(q["q"]), limit=5)).hits
        ranks = [i for i, h in enumerate(hits) if any(h.fact.text.startswith(e) for e in q["expect"])]  # type: ignore[attr-defined]
        at1 += bool(ranks and ranks[0] == 0)
        at5 += bool(ranks)
    return at1 / len(queries), at5 / len(queries)


async def test_concept_ranges_hold_every_fact_of_their_concept(store: FactStore) -> None:
    assert set(store.concept_ranges) == set(await store.concept_names())
    covered = sum(hi - lo + 1 for lo, hi in store.concept_ranges.values())
    assert covered == (await store.counts())["facts"]
    for name, (lo, hi) in store.concept_ranges.items():
        facts = await store.facts_by_rowid(list(range(lo, hi + 1)))
        assert {f.concept for f in facts.values()} == {name}


async def test_fetches_stay_inside_a_rowid_range(store: FactStore) -> None:
    inside = await store.unranked_candidates('"ketamine"', 500, (20, 60))
    assert inside and all(20 <= r <= 60 for r in inside)
    ranked = await store.ranked_candidates('"ketamine" OR "bladder"', 500, (20, 60))
    assert ranked and all(20 <= r <= 60 for r, _ in ranked)
    assert await store.matches_any('"ketamine"')
    assert not await store.matches_any('"unobtanium"')


async def test_light_rows_match_full_records(store: FactStore) -> None:
    rows = await store.fact_texts([1, 2, 3])
    full = await store.facts_by_rowid([1, 2, 3])
    assert {(r.rowid, r.type, r.text, r.title) for r in rows} == {
        (f.rowid, f.type, f.text, f.source.title) for f in full.values()
    }


async def test_named_concepts_by_name_alias_and_typo(searcher: Searcher) -> None:
    (span,) = searcher.store.concept_ranges.values()
    for query in ("ketamine bladder", "what does k do", "ketmaine music", "special k"):
        groups, _ = searcher.analyse(query)
        assert searcher.named_concepts(groups) == [span], query
    groups, _ = searcher.analyse("bladder problems")
    assert searcher.named_concepts(groups) == []
    assert searcher.concept_range("Ketamine") == span


@pytest.mark.usefixtures("large")
async def test_large_store_ranked_path_keeps_dev_recall(searcher: Searcher) -> None:
    assert await _recall(searcher, _queries("devset.toml")) >= (0.82, 0.95)  # see tests/test_search.py
    assert await _recall(searcher, _queries("heldout_check.toml")) >= (0.72, 0.93)


@pytest.mark.usefixtures("all_common")
async def test_large_store_unranked_path_still_finds_the_facts(searcher: Searcher) -> None:
    """Only common words: candidates come unranked and get their order from `_pool_bm25`."""
    at1, at5 = await _recall(searcher, _queries("devset.toml"))
    assert at1 >= 0.75 and at5 >= 0.85
    hits = (await searcher.search("ketamine bladder")).hits
    assert any("bladder" in h.fact.text.lower() or "urinary" in h.fact.text.lower() for h in hits[:3])


def test_pool_bm25_prefers_more_occurrences_in_shorter_text() -> None:
    plan = ranking.Plan.of([ranking.Group("bladder", ["bladder"], docs=5)], total=1000, typed=["bladder"])
    texts = {1: "bladder a b c d e f g", 2: "bladder bladder a", 3: "a b"}
    matches = [(r, _match(_stems_of(t), "a title", plan, count=True)) for r, t in texts.items()]
    scores = _pool_bm25(matches, plan)
    assert scores[2] > scores[1] > scores[3] == 0
    assert [m.coverage for _, m in matches] == [1.0, 1.0, 0.0]


@pytest.mark.usefixtures("all_common")
async def test_large_store_answers_do_not_raise_on_hostile_input(store: FactStore) -> None:
    answers = Answers(Searcher(store))
    for text in HOSTILE:
        await answers.fact(text)
        await answers.autocomplete_fact(text[:100])
        await answers.source(text)
        await answers.protocol(text)
        await answers.compare(text, "ketamine")
        await answers.compare("ketamine", text)
        await answers.searcher.search(text, limit=200)


async def test_compare_is_the_same_on_the_large_path_when_everything_fits(
    store: FactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under 120 co-mentions the unranked, concept-first fetch finds the same facts as BM25."""
    pairs = [("ketamine", "psilocybin"), ("special k", "shrooms"), ("benzos", "ketamine"), ("mdma", "lsd")]
    small = [(await Answers(Searcher(store)).compare(a, b)).embeds[0].to_dict() for a, b in pairs]
    monkeypatch.setattr(answers_module, "SMALL_STORE", 10)
    large = [(await Answers(Searcher(store)).compare(a, b)).embeds[0].to_dict() for a, b in pairs]
    assert json.dumps(small) == json.dumps(large)


async def test_protocol_stages_are_selected_once_per_store(store: FactStore) -> None:
    answers = Answers(Searcher(store))
    proto, _ = await answers.find_protocol("montreal")
    assert proto is not None
    first = await answers.protocol_facts(proto)
    first["course"].clear()  # callers may change what they get; the cache must not see it
    calls = 0
    original = store._rows

    async def counting(sql: str, params: Sequence[object] = ()):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return await original(sql, params)

    store._rows = counting  # type: ignore[method-assign]
    again = await answers.protocol_facts(proto)
    assert calls == 0
    assert again["course"] and again == await Answers(Searcher(store)).protocol_facts(proto)


def _reference_conflicts(facts: Sequence[FactRecord]) -> list[tuple[FactRecord, FactRecord]]:
    """The pairwise definition `_conflicts` must keep (numbers re-read per pair, as it once was)."""
    numbers = compare_module._NUMBER_WORDS

    def nums(text: str) -> set[str]:
        return {numbers.get(w, w) for w in tokenize(text) if w.replace(".", "").isdigit() or w in numbers}

    def content(text: str) -> set[str]:
        return {
            stem(w)
            for w in tokenize(text)
            if w not in STOPWORDS and not w.replace(".", "").isdigit() and w not in numbers
        }

    out = []
    for a, b in itertools.combinations(facts, 2):
        sa, sb = content(a.text), content(b.text)
        overlap = len(sa & sb) / max(1, min(len(sa), len(sb)))
        if overlap >= 0.6 and nums(a.text) and nums(b.text) and nums(a.text) != nums(b.text):
            out.append((a, b))
    return out


async def test_conflicts_match_the_pairwise_definition(store: FactStore) -> None:
    facts = sorted((await store.facts_by_rowid(list(range(1, 161)))).values(), key=lambda f: f.rowid)
    assert _conflicts(facts) == _reference_conflicts(facts)


def test_the_index_engine_loads_before_the_model_without_crashing() -> None:
    """A large store opens its index before the first query loads the model; usearch imported before
    onnxruntime used to crash the process on that import (segmentation fault)."""
    code = (
        "from bot.facts.vector_index import usearch_index; usearch_index()\n"
        "from bot.facts import embedding; print(embedding.encoder().encode(['x']).shape)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "(1, 768)"), done.stderr[-500:]


async def test_large_store_path_searches_an_approximate_vector_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above MEMORY_VECTORS facts the store memory-maps a usearch index built at ingest; recall holds."""
    import bot.facts.ingest as ingest_module
    import bot.facts.store as store_module
    from bot.facts.ingest import build_database

    monkeypatch.setattr(ingest_module, "MEMORY_VECTORS", 10)
    monkeypatch.setattr(store_module, "MEMORY_VECTORS", 10)
    db = tmp_path / "facts.sqlite3"
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    build_database(data, db)
    indexes = sorted(p.name for p in tmp_path.glob("facts.*.usearch"))
    assert len(indexes) == 1 and indexes[0].endswith(".b1.usearch")
    built = (tmp_path / indexes[0]).stat().st_mtime_ns
    build_database(data, db)  # unchanged data: the index file is reused, not rebuilt or duplicated
    aliases = data / "aliases.toml"
    aliases.write_text(aliases.read_text(encoding="utf-8") + "\n# an edit that changes no fact\n", encoding="utf-8")
    build_database(data, db)  # other data changed, the facts did not: the same index still serves
    assert sorted(p.name for p in tmp_path.glob("facts.*.usearch")) == indexes
    assert (tmp_path / indexes[0]).stat().st_mtime_ns == built
    store = await FactStore.open(db)
    try:
        assert store.vectors is None and store.vector_index is not None
        answerable = [q for q in _queries("devset_styles.toml") if q["expect"]][:60]
        at1, at5 = await _recall(Searcher(store), answerable)
        assert at5 >= 0.85, (at1, at5)
    finally:
        await store.close()
