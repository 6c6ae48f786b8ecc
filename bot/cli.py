"""`python -m bot …`: run the bot, build the database, search, and try every command offline."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bot.config import Settings, SettingsError, load_settings
from bot.facts.dbfaults import DatabaseFault, reported
from bot.facts.errors import ParseError
from bot.facts.ingest import BuildReport, build_database, check_data, ensure_database
from bot.facts.store import FactStore, StoreError
from bot.facts.vectors import print_progress
from bot.moderation.migrate import MigrationError
from bot.search_cli import run_search


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="connect to Discord and serve (needs DISCORD_TOKEN)")
    ingest = sub.add_parser("ingest", help="rebuild the fact database from DATA_DIR and print counts")
    ingest.add_argument("--check", action="store_true", help="validate data/ only; do not touch the database")
    search = sub.add_parser("search", help="print the ranking for a query")
    search.add_argument("query", nargs="?", help="what to search for (or use --batch)")
    search.add_argument("--batch", type=Path, help="a file with one query per line; one JSON object per line out")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true")
    sub.add_parser("health", help="exit 0 when the gateway heartbeat is recent and the store opens")
    commands = sub.add_parser("commands", help="print the command-sync payload")
    commands.add_argument("--json", action="store_true")
    forget = sub.add_parser("forget-user", help="delete a member's reports and audit mentions (deletion request)")
    forget.add_argument("user_id", type=int, help="the member's Discord user id")
    from bot.importing.cli import add_arguments as import_arguments

    import_arguments(sub.add_parser("import", help="import an article, clinic page or paper card into DATA_DIR"))
    ask = sub.add_parser("ask", help="answer a command offline, exactly as Discord would receive it")
    ask.add_argument("what", nargs=argparse.REMAINDER, help="e.g. fact benzos | fact --id k-3f9a2c | compare a b")
    return parser


class StopRequested(KeyboardInterrupt):
    """SIGTERM (or SIGINT) before the event loop took over: unwinds like Ctrl-C, so files are cleaned up."""


def _stop_requested(signum: int, frame: object) -> None:
    raise StopRequested(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; never leave the process hanging on a worker thread after it is done."""
    code = _main(argv)
    _exit_if_threads_linger(code)
    return code


def _exit_if_threads_linger(code: int, grace: float = 2.0) -> None:
    """A thread still running after the command (a stuck database worker) must not keep the process alive."""
    deadline = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `… | head` ends quietly, like any Unix tool
    args = _parser().parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):  # mid-ingest or mid-start-up: unwind, clean up, exit
        signal.signal(sig, _stop_requested)
    try:
        settings = load_settings()
        if args.command == "ingest":
            return _ingest(settings, check=args.check)
        if args.command == "search":
            if (args.query is None) == (args.batch is None):
                print("error: give a query or --batch FILE (not both)", file=sys.stderr)
                return 2
            return asyncio.run(_search(settings, args.query, args.limit, args.json, args.batch))
        if args.command == "run":
            from bot.discord.runtime import run

            return run(settings)
        if args.command == "health":
            from bot.discord.health import health_main

            return health_main(settings)
        if args.command == "commands":
            from bot.console import print_commands

            return asyncio.run(print_commands(settings, as_json=args.json))
        if args.command == "forget-user":
            from bot.console import forget_user

            return asyncio.run(forget_user(settings, args.user_id))
        if args.command == "import":
            from bot.importing.cli import run as run_import
            from bot.importing.errors import ImportFailure

            try:
                return run_import(args, settings.data_dir)
            except ImportFailure as exc:
                print(f"error: {exc} (nothing was written)", file=sys.stderr)
                return 2
        if args.command == "ask":
            from bot.console import ask

            return asyncio.run(ask(settings, args.what))
    except (SettingsError, ParseError, StoreError, DatabaseFault, MigrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:  # after a clean open: damage or a volume gone mid-command
        print(f"error: a database failed during the command ({exc}): check the files named in the log", file=sys.stderr)
        return 1
    except OSError as exc:  # any other file the command read or wrote: a missing path, a read-only or full volume
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}: check the path, its permissions and free space", file=sys.stderr)
        return 2
    except StopRequested as stop:
        signum = int(stop.args[0]) if stop.args else signal.SIGTERM
        print(f"stopped by {signal.Signals(signum).name}; nothing half-built was kept", file=sys.stderr)
        return 0 if args.command == "run" else 128 + signum
    return 2


def _print_report(report: BuildReport, verb: str) -> None:
    print(f"{verb} {report.total_facts} facts in {report.seconds:.2f} s (data hash {report.data_hash})")
    for concept, count in report.facts_by_concept.items():
        print(f"  concept {concept}: {count} facts")
    for concept, title, count in report.facts_by_source:
        print(f"  source  {count:>5}  {title}  [{concept}]")
    print("  types   " + ", ".join(f"{t} {n}" for t, n in report.facts_by_type.items()))
    print(
        f"  also    {report.citations} overview citations, {report.perspectives} perspectives, "
        f"{report.aliases} alias terms, {report.protocols} protocols, {report.papers} papers, "
        f"{report.questions} questions"
    )
    if report.questions_orphaned:
        print(
            f"  warning questions.toml lists {len(report.questions_orphaned)} fact id(s) no fact has "
            f"(edited or removed facts; their questions are skipped): {', '.join(report.questions_orphaned[:10])}"
        )
    if report.embedded or report.embeddings_cached:
        print(
            f"  vectors {report.embedded} facts embedded, {report.embeddings_cached} from the cache; "
            f"{report.questions_embedded} questions embedded"
        )


def _ingest(settings: Settings, *, check: bool) -> int:
    if check:
        _print_report(check_data(settings.data_dir), "OK: data/ is valid;")
        return 0
    with reported("fact database", settings.database_path, "the previous database (if any) was kept"):
        report = build_database(settings.data_dir, settings.database_path, progress=print_progress())
    _print_report(report, f"Built {settings.database_path}:")
    return 0


async def open_store(settings: Settings) -> FactStore:
    """Open the fact database, building it first when `data/` changed since the last build."""
    with reported("fact database", settings.database_path, "the previous database (if any) was kept"):
        ensure_database(settings.data_dir, settings.database_path)
    return await FactStore.open(settings.database_path)


async def _search(settings: Settings, query: str | None, limit: int, as_json: bool, batch: Path | None) -> int:
    store = await open_store(settings)
    try:
        return await run_search(store, query, limit, as_json, batch)
    finally:
        await store.close()
