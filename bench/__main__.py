"""`python -m bench --facts 100000 [--json] [--queries N]`; `python -m bench generate --facts N`;
`python -m bench load --rate R --seconds S [--json]` (the real bot against the fake Discord)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.corpus import DEFAULT_SEED, OUT_DIR, ensure_corpus


def _facts(text: str) -> int:
    value = int(text.replace("_", "").replace(",", "").lower().replace("k", "000").replace("m", "000000"))
    if value < 285:
        raise argparse.ArgumentTypeError("at least 285 facts (the real ketamine page is always included)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["generate"]:
        gen = argparse.ArgumentParser(prog="python -m bench generate", description="Write (or reuse) a corpus.")
        gen.add_argument("--facts", type=_facts, required=True)
        gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
        gen.add_argument("--out", type=Path, default=OUT_DIR)
        args = gen.parse_args(argv[1:])
        info = ensure_corpus(args.facts, args.seed, args.out)
        print(
            f"{info.path}: {info.facts} facts, {info.pages} pages, {info.sources} sources, "
            f"{info.bytes / 2**20:.1f} MB in {info.seconds} s{' (cached)' if info.cached else ''}"
        )
        return 0
    if argv[:1] == ["load"]:
        return _load(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Generate a corpus of the given size, ingest it, and time search and answers against baselines.",
    )
    parser.add_argument("--facts", type=_facts, default=100_000, help="corpus size, e.g. 10000, 100k, 1m")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    parser.add_argument("--queries", type=int, default=None, help="use only the first N natural queries")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions of each input (after a warm-up)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where corpora and databases are kept")
    parser.add_argument("--reuse-db", action="store_true", help="skip ingest when the database is current")
    parser.add_argument("--no-rapidfuzz", action="store_true", help="skip the rapidfuzz_all baseline")
    args = parser.parse_args(argv)

    from bench.runner import format_table, run_benchmark

    report = run_benchmark(
        args.facts,
        queries=args.queries,
        reps=args.reps,
        seed=args.seed,
        root=args.out,
        reuse_db=args.reuse_db,
        rapidfuzz=not args.no_rapidfuzz,
    )
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(format_table(report))
    return 0


def _load(argv: list[str]) -> int:
    load = argparse.ArgumentParser(
        prog="python -m bench load",
        description="Run `python -m bot run` against the fake Discord and send /fact at a steady rate.",
    )
    load.add_argument("--rate", type=float, required=True, help="interactions per second")
    load.add_argument("--seconds", type=float, required=True, help="how long to send")
    load.add_argument("--json", action="store_true", help="print exactly one JSON object")
    load.add_argument("--out", type=Path, default=OUT_DIR / "load", help="the bot's working folder")
    args = load.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0:
        load.error("--rate and --seconds must be above 0")

    import asyncio

    from bench.load import format_report, run_load

    report = asyncio.run(run_load(args.rate, args.seconds, workdir=args.out))
    print(json.dumps(report, ensure_ascii=False) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
