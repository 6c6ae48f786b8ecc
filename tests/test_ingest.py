"""Building the database: counts, stable ids, atomic swaps, rebuild only on change, state kept apart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.facts.errors import ParseError
from bot.facts.ingest import build_database, check_data, data_hash, ensure_database, stored_hash
from bot.facts.source_page import parse_file as parse_source
from bot.facts.source_page import source_files
from bot.facts.store import FactStore
from bot.moderation.state import ModerationStore
from bot.search.searcher import Searcher
from tests.conftest import DATA_DIR, SEED_SOURCE_COUNTS, SEED_TYPE_COUNTS

#: The imported sources shipped in data/sources/ (the seed paper card), attached to the ketamine page.
IMPORTED = [parse_source(p) for p in source_files(DATA_DIR)]
TOTAL = 285 + sum(len(p.facts) for p in IMPORTED)
TYPES = Counter(SEED_TYPE_COUNTS) + Counter(f.type for p in IMPORTED for f in p.facts)


def _ids(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT text, id FROM facts"))


def test_build_report_counts(tmp_path: Path) -> None:
    report = build_database(DATA_DIR, tmp_path / "facts.sqlite3")
    assert report.facts_by_concept == {"ketamine": TOTAL}
    assert [n for _, _, n in report.facts_by_source] == SEED_SOURCE_COUNTS + [len(p.facts) for p in IMPORTED]
    assert report.facts_by_type == dict(TYPES)
    assert (report.citations, report.perspectives) == (20, 7)


def test_fact_ids_are_stable_across_rebuilds_and_look_like_k_hex(tmp_path: Path, data_copy: Path) -> None:
    first = tmp_path / "a.sqlite3"
    build_database(DATA_DIR, first)
    ids = _ids(first)
    assert len(set(ids.values())) == TOTAL
    assert all(len(i) == 8 and i.startswith("k-") and int(i[2:], 16) >= 0 for i in ids.values())
    # Adding another concept page and editing aliases does not move any existing id.
    page = (data_copy / "concepts" / "ketamine.txt").read_text(encoding="utf-8")
    (data_copy / "concepts" / "esketamine.txt").write_text(
        page.replace("\nketamine\n", "\nesketamine\n", 1), encoding="utf-8"
    )
    (data_copy / "aliases.toml").write_text((data_copy / "aliases.toml").read_text() + "\n", encoding="utf-8")
    second = tmp_path / "b.sqlite3"
    build_database(data_copy, second)
    with sqlite3.connect(second) as conn:
        kept = dict(
            conn.execute(
                "SELECT f.text, f.id FROM facts f JOIN concepts c ON c.id = f.concept_id WHERE c.name = 'ketamine'"
            )
        )
        assert conn.execute("SELECT count(*) FROM facts").fetchone()[0] == TOTAL + 285
    assert kept == ids


async def test_broken_data_leaves_the_live_database_serving(tmp_path: Path, data_copy: Path) -> None:
    db = tmp_path / "facts.sqlite3"
    build_database(data_copy, db)
    before = db.read_bytes()
    store = await FactStore.open(db)
    page = data_copy / "concepts" / "ketamine.txt"
    page.write_text(page.read_text(encoding="utf-8").replace("Facts (285)", "Facts (286)"), encoding="utf-8")
    with pytest.raises(ParseError, match=r"ketamine.txt:33: 'Facts \(286\)' declares 286 facts, found 285"):
        build_database(data_copy, db)
    assert db.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))
    result = await Searcher(store).search("spravato")
    assert result.hits  # the running bot keeps answering from the file it opened
    await store.close()


async def test_a_swap_under_a_running_store_keeps_it_serving_the_old_file(tmp_path: Path, data_copy: Path) -> None:
    db = tmp_path / "facts.sqlite3"
    build_database(data_copy, db)
    store = await FactStore.open(db)
    (data_copy / "concepts" / "extra.txt").write_text(
        (data_copy / "concepts" / "ketamine.txt").read_text(encoding="utf-8").replace("\nketamine\n", "\nextra\n", 1),
        encoding="utf-8",
    )
    build_database(data_copy, db)
    assert (await store.counts())["facts"] == TOTAL
    await store.close()
    reopened = await FactStore.open(db)
    assert (await reopened.counts())["facts"] == TOTAL + 285
    await reopened.close()


def test_rebuild_only_when_data_changed(tmp_path: Path, data_copy: Path) -> None:
    db = tmp_path / "facts.sqlite3"
    assert ensure_database(data_copy, db) is not None
    assert stored_hash(db) == data_hash(data_copy)
    assert ensure_database(data_copy, db) is None
    aliases = data_copy / "aliases.toml"
    aliases.write_text(aliases.read_text(encoding="utf-8").replace('"ket" = ["ketamine"]', '"ket" = ["ketamine", "K"]'))
    assert ensure_database(data_copy, db) is not None


async def test_moderator_state_survives_a_rebuild(tmp_path: Path, data_copy: Path) -> None:
    db, state = tmp_path / "facts.sqlite3", tmp_path / "state.sqlite3"
    build_database(data_copy, db)
    moderation = await ModerationStore.open(state)
    report_id = await moderation.add_report("k-5b8224", 42, 1, "dose looks wrong")
    await moderation.set_autoreply(1, 99, True)
    await moderation.close()
    build_database(data_copy, db)
    reopened = await ModerationStore.open(state)
    assert [r.number for r in await reopened.reports(1)] == [report_id]
    assert await reopened.autoreply_enabled(1, 99)
    await reopened.close()


def test_check_validates_without_touching_files(tmp_path: Path, data_copy: Path) -> None:
    report = check_data(data_copy)
    assert report.total_facts == TOTAL
    (data_copy / "protocols.toml").write_text(
        '[[protocol]]\nkey = "x"\nname = "X"\ndescription = "d"\n[protocol.stages]\nbogus = ["a"]\n'
    )
    with pytest.raises(ParseError, match=r"protocols.toml:1: \[\[protocol\]\] #1: unknown stage 'bogus'"):
        check_data(data_copy)


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATA_DIR", "DATABASE_PATH"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_cli_ingest_prints_counts_and_search_json(tmp_path: Path) -> None:
    env = {
        "DATA_DIR": str(DATA_DIR),
        "DATABASE_PATH": str(tmp_path / "f.sqlite3"),
        "STATE_DATABASE_PATH": str(tmp_path / "s.sqlite3"),
    }
    ingest = _cli("ingest", cwd=tmp_path, env=env)
    assert ingest.returncode == 0, ingest.stderr
    assert f"{TOTAL} facts" in ingest.stdout
    assert f"concept ketamine: {TOTAL} facts" in ingest.stdout
    assert "    195  The Montreal model: an integrative biomedical-psychedelic ..." in ingest.stdout
    assert all(f"{kind} {n}" in ingest.stdout for kind, n in TYPES.items())
    found = _cli("search", "spravato", "--limit", "3", "--json", cwd=tmp_path, env=env)
    rows = json.loads(found.stdout)
    assert len(rows) == 3
    assert set(rows[0]) >= {"id", "type", "text", "source", "score"}
    assert rows[0]["text"].startswith("Intranasal esketamine")
    check = _cli("ingest", "--check", cwd=tmp_path, env=env)
    assert check.returncode == 0 and check.stdout.startswith("OK: data/ is valid;")


def test_cli_check_fails_with_a_ci_friendly_exit_code(tmp_path: Path, data_copy: Path) -> None:
    page = data_copy / "concepts" / "ketamine.txt"
    page.write_text(
        page.read_text(encoding="utf-8").replace("\nclaimKetamine is being", "\nrumourKetamine is being", 1)
    )
    result = _cli("ingest", "--check", cwd=tmp_path, env={"DATA_DIR": str(data_copy)})
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "unknown fact type 'rumour': expected one of claim, measurement, procedure, reference, account, perspective"
    )
    assert not (tmp_path / ".state").exists()


def test_run_without_token_stops_with_one_clear_line(tmp_path: Path) -> None:
    result = _cli("run", cwd=tmp_path, env={"DATA_DIR": str(DATA_DIR)})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: DISCORD_TOKEN is not set: run `cp .env.example .env`")


def test_invalid_setting_is_named_in_one_line(tmp_path: Path) -> None:
    result = _cli("ingest", cwd=tmp_path, env={"GUILD_IDS": "12,abc", "DATA_DIR": str(DATA_DIR)})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: Invalid setting GUILD_IDS:")


def test_colliding_ids_get_longer_and_the_smaller_digest_keeps_the_short_one() -> None:
    import sqlite3 as sql

    from bot.facts.ingest import _assign_fact_ids

    conn = sql.connect(":memory:")
    conn.execute("CREATE TABLE facts(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE)")
    rows = [
        (1, "k-abcdef99" + "0" * 32),
        (2, "k-abcdef11" + "0" * 32),
        (3, "k-123456" + "0" * 34),
        (4, "p-abcdef99" + "0" * 32),
    ]
    conn.executemany("INSERT INTO facts VALUES (?, ?)", rows)
    _assign_fact_ids(conn)
    assert dict(conn.execute("SELECT rowid, id FROM facts")) == {
        1: "k-abcdef99",
        2: "k-abcdef",
        3: "k-123456",
        4: "p-abcdef",
    }


async def test_a_damaged_fact_database_is_reported_and_its_connection_closed(tmp_path: Path) -> None:
    import threading

    from bot.facts.store import FactStore, StoreError

    damaged = tmp_path / "facts.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"x" * 5000)
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(StoreError, match=r"cannot be read .*run `python -m bot ingest`"):
        await FactStore.open(damaged)
    # the worker thread this open started has ended (threads other tests left behind are not counted)
    started: list[threading.Thread] = []
    for _ in range(100):
        started = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
        if not started:
            break
        await asyncio.sleep(0.02)
    assert started == []
