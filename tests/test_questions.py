"""Questions per fact (`data/questions.toml`): the shipped file, its validation, and what search does with it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bot.facts.errors import ParseError
from bot.facts.ingest import build_database, check_data
from bot.facts.questions import MAX_QUESTION_CHARS, load_questions
from bot.facts.store import FactStore
from bot.search import verdict
from bot.search.dense import QUESTION_WEIGHT, DenseIndex, widened
from bot.search.searcher import Searcher
from tests.conftest import DATA_DIR

QUESTIONS = DATA_DIR / "questions.toml"


def test_the_shipped_file_gives_every_fact_four_questions(built_db: Path) -> None:
    entries = load_questions(QUESTIONS)
    with sqlite3.connect(built_db) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM facts")}
        stored = conn.execute("SELECT count(*), count(DISTINCT fact_rowid) FROM fact_questions").fetchone()
        vectors = conn.execute("SELECT count(*) FROM question_vectors").fetchone()[0]
    assert [fact_id for fact_id, _ in entries if fact_id not in ids] == []
    assert {fact_id for fact_id, _ in entries} == ids
    assert {len(questions) for _, questions in entries} == {4}
    assert stored == (4 * len(ids), len(ids)) and vectors == 4 * len(ids)


def test_the_shipped_questions_never_ask_for_a_dose_or_mention_anyone() -> None:
    questions = [q for _, qs in load_questions(QUESTIONS) for q in qs]
    assert all(len(q) <= MAX_QUESTION_CHARS and "@" not in q and "\n" not in q for q in questions)
    assert not [q for q in questions if "how much should i take" in q.lower() or "what dose should" in q.lower()]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[fact]]\nquestions = ["a?"]\n', "questions.toml:1: [[fact]] #1: missing 'id' (the fact's id, k-xxxxxx)"),
        (
            '[[fact]]\nid = "k-1"\nquestions = ["a?"]\n\n[[fact]]\nid = "K-1"\nquestions = ["b?"]\n',
            "questions.toml:6: [[fact]] #2: id 'k-1' is already listed in #1",
        ),
        (
            '[[fact]]\nid = "k-1"\nquestions = []\n',
            "questions.toml:3: [[fact]] #1: 'questions' must be a non-empty list of non-empty strings",
        ),
        (
            '[[fact]]\nid = "k-1"\nquestions = ["ok?", "  "]\n',
            "questions.toml:3: [[fact]] #1: 'questions' must be a non-empty list of non-empty strings",
        ),
        (
            f'[[fact]]\nid = "k-1"\nquestions = ["{"why " * 80}?"]\n',
            "questions.toml:3: [[fact]] #1: a question is 321 characters (at most 300): "
            "'why why why why why why why why why why '…",
        ),
        ('fact = "k-1"\n', "questions.toml:1: `fact` must be an array of tables: one [[fact]] header per fact"),
    ],
)
def test_a_malformed_file_names_its_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "questions.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ParseError) as raised:
        load_questions(path)
    assert str(raised.value) == f"{path.parent}/{message}"


def test_questions_are_read_with_their_whitespace_collapsed_and_a_missing_file_has_none(tmp_path: Path) -> None:
    path = tmp_path / "questions.toml"
    path.write_text('[[fact]]\nid = " K-ABC "\nquestions = ["  does it\\tmake you  pee a lot? "]\n', encoding="utf-8")
    assert load_questions(path) == [("k-abc", ["does it make you pee a lot?"])]
    assert load_questions(tmp_path / "absent.toml") == []


def test_an_edited_fact_leaves_its_questions_reported_and_skipped(data_copy: Path) -> None:
    text = QUESTIONS.read_text(encoding="utf-8")
    (data_copy / "questions.toml").write_text(
        text + '\n[[fact]]\nid = "k-000000"\nquestions = ["is this fact gone?"]\n', encoding="utf-8"
    )
    report = check_data(data_copy)
    assert report.questions_orphaned == ["k-000000"]
    assert report.questions == 4 * report.total_facts


def test_a_rebuild_embeds_only_new_questions(tmp_path: Path, data_copy: Path) -> None:
    calls: list[int] = []

    def encode(texts: object) -> np.ndarray:
        batch = list(texts)  # type: ignore[call-overload]
        calls.append(len(batch))
        return np.full((len(batch), 768), 1 / np.sqrt(768), dtype=np.float32)

    db = tmp_path / "facts.sqlite3"
    first = build_database(data_copy, db, encode=encode)
    assert first.questions_embedded == first.questions == 4 * first.total_facts
    fact_id = tomllib.loads((data_copy / "questions.toml").read_text(encoding="utf-8"))["fact"][0]["id"]
    (data_copy / "questions.toml").write_text(
        (data_copy / "questions.toml").read_text(encoding="utf-8")
        + f'\n[[fact]]\nid = "{fact_id}"\nquestions = ["a brand new question?"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ParseError, match=r"questions.toml:\d+: \[\[fact\]\] #351: id '.+' is already listed in #1"):
        build_database(data_copy, db, encode=encode)
    entries = (
        (data_copy / "questions.toml")
        .read_text(encoding="utf-8")
        .replace(f'id = "{fact_id}"\nquestions = ["a brand new question?"]', 'id = "k-nosuch"\nquestions = ["new?"]')
    )
    (data_copy / "questions.toml").write_text(entries.replace("questions = [\n", 'questions = [\n  "one more?",\n', 1))
    calls.clear()
    second = build_database(data_copy, db, encode=encode)
    assert second.questions_embedded == 1 and calls == [1]  # only "one more?"; the facts all came from before
    assert second.questions_orphaned == ["k-nosuch"]


def test_widened_lifts_a_fact_part_of_the_way_to_its_nearer_question() -> None:
    assert widened(0.2, None) == 0.2
    assert widened(0.2, 0.1) == 0.2  # a farther question never lowers a fact
    assert widened(0.2, 0.6) == pytest.approx(0.2 + QUESTION_WEIGHT * 0.4)
    assert widened(0.2, 0.6, uncovered=0.0) == 0.2  # the facts' own words answer it: no lift
    assert 0.2 < widened(0.2, 0.6, uncovered=0.5) < widened(0.2, 0.6)


async def test_a_facts_questions_find_it_for_words_it_does_not_contain(store: FactStore, searcher: Searcher) -> None:
    heart = "Ketamine use is associated with safety considerations including stimulatory hemodynamic effects"
    dense = DenseIndex(store)
    semantic = await dense.query("will it make my heart race?", 350)
    assert semantic is not None
    texts = {row.rowid: row.text for row in await store.fact_texts([r for r, _ in semantic.near])}
    rowid = next(r for r, _ in semantic.near if texts[r].startswith(heart))
    own = dict(semantic.near)[rowid]
    assert semantic.asked[rowid] > own  # its questions are nearer than its own words
    result = await searcher.search("will it make my heart race?", limit=5)
    assert any(hit.fact.text.startswith(heart) for hit in result.hits)


async def test_a_question_near_one_written_for_the_best_fact_is_answered_though_a_word_is_not_in_it(
    searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "my son refuses food because he's terrified of gaining weight, could this help him?"
    result = await searcher.search(query, limit=5)
    assert result.hits[0].fact.text.startswith("Ketamine is being investigated as a treatment for anorexia nervosa.")
    assert result.answered and result.not_covered == ["weight"]
    monkeypatch.setattr(verdict, "STRONG_QUESTION_SIMILARITY", 1.01)  # without the rule, "weight" refuses it
    assert not (await searcher.search(query, limit=5)).answered
    near_miss = await searcher.search("can I have ketamine if I have glaucoma?", limit=5)
    assert (near_miss.answered, near_miss.not_covered) == (False, ["glaucoma"])


def test_ingest_check_warns_of_questions_left_behind(tmp_path: Path, data_copy: Path) -> None:
    with (data_copy / "questions.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[[fact]]\nid = "k-000000"\nquestions = ["is this fact gone?"]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATA_DIR", "DATABASE_PATH"))}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", "--check"],
        cwd=tmp_path,
        env={**env, "DATA_DIR": str(data_copy)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("OK: data/ is valid;")
    assert ", 1400 questions\n" in run.stdout
    assert (
        "  warning questions.toml lists 1 fact id(s) no fact has (edited or removed facts; their questions "
        "are skipped): k-000000\n" in run.stdout
    )
