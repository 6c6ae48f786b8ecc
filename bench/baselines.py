"""The floor and the naive baselines, measured on the same database as the bot's search.

* `raw_fts5`: the query's words (stopwords dropped, each a quoted FTS5 phrase) AND-ed, `LIMIT 10`,
  no ranking: the least any full-text lookup can cost.
* `naive_bm25`: the same words OR-ed, `ORDER BY rank LIMIT 10` (FTS5's bm25): what a straightforward
  implementation does, and what gets slow when one word is in most facts.
* `rapidfuzz_all`: `process.extract(query, all_texts, scorer=token_set_ratio, limit=10)` over every
  fact text loaded once into a list: the "just fuzzy-match everything" approach. It holds every fact
  text in memory, so the runner measures it in a child process (`python -m bench.baselines`) to keep
  its memory out of the bot's RSS figure.

The SQL baselines use the stdlib `sqlite3` module synchronously (no aiosqlite thread hop), so they
are a true floor for the database work.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import sys
import time
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.search.text import STOPWORDS, fts_phrase, normalize, tokenize


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent
    across fork+exec, so a child's ru_maxrss is never below its parent's at fork time."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def query_phrases(query: str) -> list[str]:
    """The query's words as quoted FTS5 phrases, stopwords dropped (all words if only stopwords)."""
    words = tokenize(normalize(query))
    content = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(p for p in (fts_phrase(w) for w in content) if p))


def open_readonly(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


def raw_fts5(conn: sqlite3.Connection, query: str) -> list[int]:
    phrases = query_phrases(query)
    if not phrases:
        return []
    rows = conn.execute(
        "SELECT rowid FROM facts_fts WHERE facts_fts MATCH ? LIMIT 10", (" AND ".join(phrases),)
    ).fetchall()
    return [r[0] for r in rows]


def naive_bm25(conn: sqlite3.Connection, query: str) -> list[int]:
    phrases = query_phrases(query)
    if not phrases:
        return []
    rows = conn.execute(
        "SELECT rowid, rank FROM facts_fts WHERE facts_fts MATCH ? ORDER BY rank LIMIT 10", (" OR ".join(phrases),)
    ).fetchall()
    return [r[0] for r in rows]


def load_texts(db_path: Path) -> list[str]:
    conn = open_readonly(db_path)
    try:
        return [text.lower() for (text,) in conn.execute("SELECT text FROM facts ORDER BY rowid")]
    finally:
        conn.close()


def rapidfuzz_all(texts: list[str], query: str) -> list[int]:
    found = process.extract(query.lower(), texts, scorer=fuzz.token_set_ratio, processor=None, limit=10)
    return [index for _, _, index in found]


def measure_rapidfuzz(db_path: Path, queries: list[str], budget_seconds: float, max_reps: int) -> dict[str, object]:
    """Time `rapidfuzz_all` per query; the first query is timed once, the rest fit in the budget."""
    started = time.perf_counter()
    texts = load_texts(db_path)
    load_seconds = time.perf_counter() - started
    samples: dict[str, list[float]] = {}
    spent = 0.0
    for _rep in range(max_reps):
        for query in queries:
            if samples and spent > budget_seconds:
                break
            t0 = time.perf_counter()
            rapidfuzz_all(texts, query)
            elapsed = time.perf_counter() - t0
            spent += elapsed
            samples.setdefault(query, []).append(elapsed * 1000)
    return {
        "samples_ms": samples,
        "load_seconds": round(load_seconds, 3),
        "texts": len(texts),
        "rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines", description="rapidfuzz_all in its own process")
    parser.add_argument("db", type=Path)
    parser.add_argument("--queries", required=True, help="JSON list of queries")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds of matching to spend at most (soft)")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    result = measure_rapidfuzz(args.db, json.loads(args.queries), args.budget, args.reps)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
