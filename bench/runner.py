"""Generate (or reuse) a corpus, ingest it, and time every operation against the baselines.

The ingest and all bot operations run in this process, so `rss_mb` (`ru_maxrss`) is the peak of
building the database plus serving queries from it — what one bot process needs. Corpus
generation and the `rapidfuzz_all` baseline (which holds every fact text in memory) run in child
processes and are reported separately.

Every operation gets one warm-up pass over its inputs, then each input is repeated `reps` times;
p50/p99 are nearest-rank percentiles over all those samples. Slow baselines get fewer repetitions
so a 1M run stays within its time budget (the number of samples is reported per operation).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bench.baselines import naive_bm25, open_readonly, raw_fts5
from bench.corpus import DEFAULT_SEED, OUT_DIR, cached_corpus
from bench.synthetic import real_throughput, synthetic_encode
from bot.facts.ingest import build_database, data_hash, stored_hash
from bot.facts.store import FactStore
from bot.search.searcher import Searcher

# Natural queries, as people type them: common words first, then lay, typo and slang ones.
QUERIES = [
    "ketamine",
    "ketamine bladder",
    "depression treatment",
    "ketmaine music",
    "benzos and ketamine",
    "how long is a session",
    "spravato",
    "shrooms",
    "is ketamine safe",
    "k-hole",
    "ketamine vs ect for depression",
    "montreal model psychotherapy",
    "0.5 mg/kg infusion",
    "neuroplasticity bdnf",
    "suicidal thoughts",
    "psilocybin and ketamine",
    "what does ketamine do to the brain",
    "treatment resistant depression esketamine nasal spray",
    "ptsd",
    "side effects",
]
COMPARES = [
    ("ketamine", "psilocybin"),
    ("ketamine", "esketamine"),
    ("spravato", "shrooms"),
    ("benzos", "ketamine"),
    ("mdma", "lsd"),
]
PROTOCOLS = ["montreal", "berman 2000", "can-bind", "at home", "mcgill"]
OPERATIONS = ("search", "fact", "autocomplete", "compare", "protocol")
BASELINES = ("raw_fts5", "naive_bm25", "rapidfuzz_all")
NOTICE = "Not medical advice: a summary of published sources, not a recommendation."
CRISIS = "If you are thinking about suicide or self-harm, please reach out now."


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def autocomplete_inputs(queries: Sequence[str]) -> list[str]:
    """What is in the box while a query is being typed: each query cut at about two thirds."""
    out = [""]
    for query in queries:
        cut = max(2, round(len(query) * 2 / 3))
        out.append(query[:cut].rstrip() if query[cut - 1 : cut] == " " else query[:cut])
    return list(dict.fromkeys(out))


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarize(samples: dict[str, list[float]]) -> dict[str, Any] | None:
    flat = [s for values in samples.values() for s in values]
    if not flat:
        return None
    slowest = max(samples, key=lambda k: max(samples[k]) if samples[k] else 0.0)
    return {
        "p50": round(percentile(flat, 0.50), 3),
        "p99": round(percentile(flat, 0.99), 3),
        "max": round(max(flat), 3),
        "n": len(flat),
        "slowest_input": slowest,
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "loadavg_1m": round(os.getloadavg()[0], 2),  # other work on the machine during the run
    }


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def time_async(
    fn: Callable[[str], Awaitable[Any]], inputs: Sequence[Any], reps: int, budget: float | None = None
) -> dict[str, list[float]]:
    """Warm-up pass, then `reps` timed passes (fewer when the warm-up says they would exceed `budget` s)."""
    started = time.perf_counter()
    for item in inputs:
        await fn(item)
    warm = time.perf_counter() - started
    if budget is not None and warm > 0:
        reps = max(1, min(reps, int(budget / warm)))
    samples: dict[str, list[float]] = {}
    for _ in range(reps):
        for item in inputs:
            t0 = time.perf_counter()
            await fn(item)
            samples.setdefault(_key(item), []).append((time.perf_counter() - t0) * 1000)
    return samples


def time_sync(
    fn: Callable[[Any], Any], inputs: Sequence[Any], reps: int, budget: float | None = None
) -> dict[str, list[float]]:
    """`time_async` for a plain function (the synchronous sqlite3 baselines): same passes, same keys."""

    async def call(item: Any) -> Any:
        return fn(item)

    return asyncio.run(time_async(call, inputs, reps, budget))


def _key(item: Any) -> str:
    return " | ".join(item) if isinstance(item, tuple) else str(item)


def make_answers(store: FactStore, searcher: Searcher) -> Any | None:
    """`bot.answers.Answers`, whichever constructor it has; None while the module does not exist."""
    try:
        from bot.answers.answers import Answers
    except ImportError:
        return None
    factory: Any = Answers
    params = list(inspect.signature(factory).parameters)
    if params and params[0] == "searcher":
        return factory(searcher)
    try:
        from bot.config import Settings

        return factory(store, Settings())
    except Exception as exc:
        log(f"cannot build Answers ({exc!r}); answer rows reported as null")
        return None


def _body(reply: Any) -> Any:
    """What the bot sends: the finalized reply's interaction-callback body."""
    if isinstance(reply, tuple):
        reply = reply[0]
    if hasattr(reply, "finalize"):
        reply = reply.finalize(NOTICE, CRISIS)
    return reply.callback_body() if hasattr(reply, "callback_body") else reply


def generate_in_child(facts: int, seed: int, root: Path) -> dict[str, Any]:
    """Generate the corpus in a child process (its memory stays out of `rss_mb`); reused when cached."""
    info = cached_corpus(facts, seed, root)
    if info is None:
        subprocess.run(
            [sys.executable, "-m", "bench", "generate", "--facts", str(facts), "--seed", str(seed), "--out", str(root)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        info = cached_corpus(facts, seed, root)
        if info is None:
            raise RuntimeError(f"corpus generation for {facts} facts left no complete corpus under {root}")
        info.cached = False
    return {
        "path": str(info.path),
        "pages": info.pages,
        "sources": info.sources,
        "mb": round(info.bytes / 2**20, 1),
        "generate_seconds": info.seconds,
        "cached": info.cached,
    }


def rapidfuzz_in_child(db_path: Path, queries: list[str], budget: float, reps: int) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.baselines",
            str(db_path),
            "--queries",
            json.dumps(queries),
            "--budget",
            str(budget),
            "--reps",
            str(reps),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


async def measure_operations(
    db_path: Path, queries: list[str], reps: int, facts: int
) -> tuple[dict[str, dict[str, list[float]] | None], dict[str, Any]]:
    store = await FactStore.open(db_path)
    extra: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        searcher = Searcher(store)
        extra["searcher_init_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        extra["vocabulary_words"] = len(store.vocabulary)
        answers = make_answers(store, searcher)
        out: dict[str, dict[str, list[float]] | None] = {}

        async def search(q: str) -> Any:
            return await searcher.search(q, limit=25)

        log(f"search × {len(queries)} queries")
        out["search"] = await time_async(search, queries, reps)
        if answers is None:
            out.update(fact=None, autocomplete=None, compare=None, protocol=None)
            return out, extra

        async def fact(q: str) -> Any:
            return _body(await answers.fact(q))

        async def autocomplete(current: str) -> Any:
            return [(c.name, c.value) for c in await answers.autocomplete_fact(current)]

        async def compare(pair: tuple[str, str]) -> Any:
            return _body(await answers.compare(*pair))

        async def protocol(name: str) -> Any:
            return _body(await answers.protocol(name))

        n_small = max(1, min(len(COMPARES), math.ceil(len(queries) / 4)))
        for name, fn, inputs in (
            ("fact", fact, queries),
            ("autocomplete", autocomplete, autocomplete_inputs(queries)),
            ("compare", compare, COMPARES[:n_small]),
            ("protocol", protocol, PROTOCOLS[:n_small]),
        ):
            log(f"{name} × {len(inputs)} inputs")
            try:
                out[name] = await time_async(fn, inputs, reps)  # type: ignore[arg-type]
            except Exception as exc:
                log(f"{name} failed: {exc!r}")
                out[name] = None
                extra.setdefault("errors", {})[name] = repr(exc)
        return out, extra
    finally:
        await store.close()


def sample_texts(db_path: Path, n: int) -> list[str]:
    conn = open_readonly(db_path)
    try:
        return [r[0] for r in conn.execute("SELECT text FROM facts ORDER BY rowid LIMIT ?", (n,))]
    finally:
        conn.close()


def index_mb(db_path: Path) -> float:
    return round(sum(p.stat().st_size for p in db_path.parent.glob(f"{db_path.stem}.*.usearch")) / 2**20, 1)


def run_benchmark(
    facts: int,
    *,
    queries: int | None = None,
    reps: int = 5,
    seed: int = DEFAULT_SEED,
    root: Path = OUT_DIR,
    reuse_db: bool = False,
    rapidfuzz: bool = True,
    baseline_budget: float | None = None,
) -> dict[str, Any]:
    """The whole benchmark for one corpus size; returns the JSON-able report."""
    wall = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    chosen = QUERIES[: queries or len(QUERIES)]
    log(f"corpus: {facts} facts")
    corpus = generate_in_child(facts, seed, root)
    data_dir = Path(corpus["path"])
    db_path = root / f"facts-{facts}-s{seed}.sqlite3"
    ingest_seconds = reingest_seconds = None
    build: dict[str, Any] = {}
    if reuse_db and stored_hash(db_path) == data_hash(data_dir):
        log(f"reusing {db_path}")
    else:
        log(f"ingest → {db_path}")
        t0 = time.perf_counter()
        # Generated facts get stand-in vectors (bench/synthetic.py); queries are embedded by the real model.
        report = build_database(data_dir, db_path, encode=synthetic_encode)
        ingest_seconds = round(time.perf_counter() - t0, 3)
        log(f"ingest {ingest_seconds} s; again with unchanged facts (vectors cached, index reused)")
        t0 = time.perf_counter()
        build_database(data_dir, db_path, encode=synthetic_encode)
        reingest_seconds = round(time.perf_counter() - t0, 3)
        build = {
            "facts": report.total_facts,
            "sources": len(report.facts_by_source),
            "concepts": len(report.facts_by_concept),
        }
        del report
        log(f"ingest {ingest_seconds} s, rss {rss_mb()} MB")
    rss_after_ingest = rss_mb()
    samples, extra = asyncio.run(measure_operations(db_path, chosen, reps, facts))

    budget = baseline_budget if baseline_budget is not None else (60.0 if facts >= 500_000 else 20.0)
    conn = open_readonly(db_path)
    try:
        log(f"raw_fts5 × {len(chosen)}")
        samples["raw_fts5"] = time_sync(lambda q: raw_fts5(conn, q), chosen, reps, budget)
        log(f"naive_bm25 × {len(chosen)}")
        samples["naive_bm25"] = time_sync(lambda q: naive_bm25(conn, q), chosen, reps, budget)
    finally:
        conn.close()
    rss_serving = rss_mb()
    rapid: dict[str, Any] | None = None
    if rapidfuzz:
        few = chosen if facts < 500_000 else chosen[: min(3, len(chosen))]
        log(f"rapidfuzz_all × {len(few)} (child process)")
        rapid = rapidfuzz_in_child(db_path, few, budget=30.0 if facts >= 500_000 else 15.0, reps=min(reps, 3))
        samples["rapidfuzz_all"] = rapid.pop("samples_ms")
    else:
        samples["rapidfuzz_all"] = None

    latency: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for name in (*OPERATIONS, *BASELINES):
        found = samples.get(name)
        summary = summarize(found) if found else None
        latency[name] = {"p50": summary["p50"], "p99": summary["p99"]} if summary else None
        detail[name] = summary
    per_query = {
        name: {k: round(percentile(v, 0.5), 3) for k, v in samples[name].items()}  # type: ignore[union-attr]
        for name in ("search", "raw_fts5", "naive_bm25")
        if samples.get(name)
    }
    ratios: dict[str, Any] = {}
    naive = latency["naive_bm25"]
    for name in ("search", "fact", "autocomplete"):
        if latency.get(name) and naive:
            ratios[f"naive_bm25_p50_over_{name}_p50"] = round(naive["p50"] / max(latency[name]["p50"], 1e-6), 1)
            ratios[f"naive_bm25_p99_over_{name}_p99"] = round(naive["p99"] / max(latency[name]["p99"], 1e-6), 1)
    if "search" in per_query and "naive_bm25" in per_query:
        ratios["per_query_naive_over_search_p50"] = {
            q: round(per_query["naive_bm25"][q] / max(per_query["search"][q], 1e-6), 1) for q in per_query["search"]
        }
    db_mb = round(db_path.stat().st_size / 2**20, 1)
    serve_rss = serve_rss_in_child(db_path, chosen)
    return {
        "facts": facts,
        "ingest_seconds": ingest_seconds,
        "reingest_unchanged_seconds": reingest_seconds,
        "embed_facts_per_s": real_throughput(sample_texts(db_path, 512)),
        "vector_index_mb": index_mb(db_path),
        "db_mb": db_mb,
        "rss_mb": rss_serving,
        "latency_ms": latency,
        "ratios": ratios,
        "machine": {**machine(), "loadavg_1m_at_start": load_before},
        "details": {
            "latency": detail,
            "per_query_p50_ms": per_query,
            "memory": {
                "rss_peak_mb": rss_serving,
                "rss_after_ingest_mb": rss_after_ingest,
                "serve_only_rss_mb": serve_rss,
                "rapidfuzz_child_rss_mb": rapid.get("rss_mb") if rapid else None,
            },
            "corpus": {**corpus, **build},
            "search_setup": extra,
            "rapidfuzz": rapid,
            "reps": reps,
            "queries": len(chosen),
            "wall_seconds": round(time.perf_counter() - wall, 1),
        },
    }


def serve_rss_in_child(db_path: Path, queries: list[str]) -> float | None:
    """Peak RSS of a fresh process that only opens the database and answers every query once."""
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.runner", "serve-rss", str(db_path), json.dumps(queries)],
            check=True,
            capture_output=True,
            text=True,
        )
        return float(completed.stdout.strip().splitlines()[-1])
    except (subprocess.CalledProcessError, ValueError, IndexError) as exc:
        log(f"serve-only RSS not measured: {exc!r}")
        return None


async def _serve_only(db_path: Path, queries: list[str]) -> None:
    store = await FactStore.open(db_path)
    try:
        searcher = Searcher(store)
        answers = make_answers(store, searcher)
        for query in queries:
            await searcher.search(query, limit=25)
            if answers is not None:
                _body(await answers.fact(query))
                await answers.autocomplete_fact(query[: max(2, len(query) * 2 // 3)])
        if answers is not None:
            for pair in COMPARES:
                _body(await answers.compare(*pair))
            for name in PROTOCOLS:
                _body(await answers.protocol(name))
    finally:
        await store.close()


def format_table(report: dict[str, Any]) -> str:
    details = report["details"]
    lat, detail = report["latency_ms"], details["latency"]
    naive = lat.get("naive_bm25")
    lines = [
        f"facts {report['facts']:,}  ·  ingest {report['ingest_seconds']} s  ·  db {report['db_mb']} MB  ·  "
        f"peak RSS {report['rss_mb']} MB (after ingest {details['memory']['rss_after_ingest_mb']} MB; "
        f"serving only, fresh process: {details['memory']['serve_only_rss_mb']} MB)",
        f"corpus: {details['corpus']['pages']} pages, {details['corpus']['sources']} sources, "
        f"{details['corpus']['mb']} MB; {details['queries']} queries × {details['reps']} reps after a warm-up pass",
        "",
        f"{'operation':<14}{'p50 ms':>10}{'p99 ms':>10}{'n':>6}   {'naive/op p50':>12}{'naive/op p99':>13}"
        "   slowest input",
        "-" * 100,
    ]
    for name in (*OPERATIONS, *BASELINES):
        row = lat.get(name)
        if row is None:
            lines.append(f"{name:<14}{'—':>10}{'—':>10}{'':>6}   (not measured)")
            continue
        r50 = f"{naive['p50'] / max(row['p50'], 1e-6):.1f}×" if naive else ""
        r99 = f"{naive['p99'] / max(row['p99'], 1e-6):.1f}×" if naive else ""
        d = detail[name]
        lines.append(
            f"{name:<14}{row['p50']:>10.2f}{row['p99']:>10.2f}{d['n']:>6}   {r50:>12}{r99:>13}"
            f"   {d['slowest_input'][:40]}"
        )
    if "search" in details["per_query_p50_ms"]:
        lines += ["", f"{'query':<52}{'search':>10}{'raw_fts5':>10}{'naive':>10}  (p50 ms)"]
        pq = details["per_query_p50_ms"]
        for q in pq["search"]:
            lines.append(
                f"{q[:50]:<52}{pq['search'][q]:>10.2f}{pq.get('raw_fts5', {}).get(q, float('nan')):>10.2f}"
                f"{pq.get('naive_bm25', {}).get(q, float('nan')):>10.2f}"
            )
    return "\n".join(lines)


def _main(argv: Sequence[str]) -> int:
    if len(argv) == 3 and argv[0] == "serve-rss":
        from bench.baselines import peak_rss_mb

        asyncio.run(_serve_only(Path(argv[1]), json.loads(argv[2])))
        print(peak_rss_mb())
        return 0
    print("usage: python -m bench.runner serve-rss DB QUERIES_JSON   (the benchmark itself: python -m bench)")
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
