"""Smoke test of the benchmark: a small corpus parses page by page, and a run reports the JSON shape."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from bench.corpus import SEED_PAGE, generate_corpus
from bench.runner import BASELINES, OPERATIONS, run_benchmark
from bot.facts.concept_page import FACT_TYPES, parse_file

SMOKE_FACTS = 10_000


def _digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.txt")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_generated_pages_parse_and_are_deterministic(tmp_path: Path) -> None:
    info = generate_corpus(tmp_path / "a", SMOKE_FACTS)
    pages = [parse_file(path) for path in sorted((info.path / "concepts").glob("*.txt"))]
    assert sum(len(p.facts) for p in pages) == SMOKE_FACTS
    assert len({p.name.lower() for p in pages}) == len(pages)  # concept names are unique
    assert (info.path / "concepts" / SEED_PAGE.name).read_bytes() == SEED_PAGE.read_bytes()
    for name in ("aliases.toml", "papers.toml", "protocols.toml"):
        assert (info.path / name).exists()
    generated = [p for p in pages if p.name != "ketamine"]
    for page in generated:
        assert 1 <= len(page.overview) <= 2
        assert page.citations == []  # nothing in an overview may look like a glued label
        assert all(s.declared_count >= 1 for s in page.sources)
    # The seed's type proportions (claim ≈ 53 %, reference ≈ 30 %), within sampling noise.
    types = Counter(f.type for p in generated for f in p.facts)
    assert set(types) <= set(FACT_TYPES)
    total = sum(types.values())
    assert 0.48 < types["claim"] / total < 0.58
    assert 0.25 < types["reference"] / total < 0.35
    # Sources of ~100–1000 facts, many of them.
    sizes = [s.declared_count for p in generated for s in p.sources]
    assert max(sizes) <= 1000 and sum(1 for s in sizes if s >= 100) >= 10
    # Seeded: the same size and seed give the same bytes.
    again = generate_corpus(tmp_path / "b", SMOKE_FACTS)
    assert _digest(info.path) == _digest(again.path)


def test_benchmark_run_reports_the_json_shape(tmp_path: Path) -> None:
    report = run_benchmark(SMOKE_FACTS, queries=3, reps=1, root=tmp_path)
    json.dumps(report)  # JSON-able as printed by --json
    assert {"facts", "ingest_seconds", "db_mb", "rss_mb", "latency_ms"} <= set(report)
    assert report["facts"] == SMOKE_FACTS
    assert report["ingest_seconds"] > 0
    assert report["db_mb"] > 0
    assert report["rss_mb"] > 0
    latency = report["latency_ms"]
    assert set(latency) == {*OPERATIONS, *BASELINES}
    for name in ("search", "raw_fts5", "naive_bm25", "rapidfuzz_all"):
        assert set(latency[name]) == {"p50", "p99"}
        assert 0 <= latency[name]["p50"] <= latency[name]["p99"]
    for name in ("fact", "autocomplete", "compare", "protocol"):  # null while bot.answers.answers cannot be used
        assert latency[name] is None or set(latency[name]) == {"p50", "p99"}
    assert "naive_bm25_p50_over_search_p50" in report["ratios"]
    assert report["machine"]["nproc"] >= 1
    # The cached corpus is reused on a second run (same directory, no regeneration).
    again = run_benchmark(SMOKE_FACTS, queries=1, reps=1, root=tmp_path, reuse_db=True, rapidfuzz=False)
    assert again["details"]["corpus"]["cached"] is True
    assert again["ingest_seconds"] is None
    assert again["latency_ms"]["rapidfuzz_all"] is None


@pytest.mark.parametrize("bad", [0, 284])
def test_too_small_corpus_is_refused(tmp_path: Path, bad: int) -> None:
    with pytest.raises(ValueError):
        generate_corpus(tmp_path / "x", bad)
