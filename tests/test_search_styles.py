"""Search quality by the way members really ask, on a dev set written from the fact texts alone.

`tests/devset_styles.toml` (184 answerable questions in five styles, 37 the store cannot answer) was
written by someone who saw only the facts: no search output, aliases or code. The floors below sit a
little under what the current design measures (docs/search.md), so a regression fails here.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from bench.quality import Quality, evaluate, load
from bot.facts.store import FactStore
from bot.search.searcher import Searcher
from tests.conftest import ROOT

STYLES = load(ROOT / "tests" / "devset_styles.toml")
#: style → (recall@1, recall@5) floors; measured 0.95/0.97, 0.79/0.94, 0.53/0.82, 0.65/0.89, 0.89/0.97 on the
#: shipped store (the ketamine page, the paper card and two clinic pages) with WordNet relatives.
FLOORS = {
    "clinical": (0.88, 0.94),
    "forum": (0.74, 0.90),
    "lay": (0.45, 0.76),
    "plain": (0.58, 0.84),
    "slang": (0.82, 0.90),
}


@pytest.fixture(scope="module")
def quality(built_db) -> Quality:  # type: ignore[no-untyped-def]
    """Evaluated once for all the tests below (its own event loop: a module-scoped fixture)."""

    async def run() -> Quality:
        store = await FactStore.open(built_db)
        try:
            return await evaluate(Searcher(store), STYLES)
        finally:
            await store.close()

    return asyncio.run(run())


def test_the_style_set_has_every_style_and_enough_questions() -> None:
    kinds = [q["kind"] for q in STYLES]
    assert len([k for k in kinds if k != "unanswerable"]) >= 150
    assert kinds.count("unanswerable") >= 30
    assert set(kinds) == {*FLOORS, "unanswerable"}


@pytest.mark.parametrize("style", sorted(FLOORS))
async def test_recall_per_style(quality: Quality, style: str) -> None:
    recall_1, recall_5 = quality.recall(style)
    floor_1, floor_5 = FLOORS[style]
    assert recall_5 >= floor_5, f"{style} recall@5 {recall_5:.2f}"
    assert recall_1 >= floor_1, f"{style} recall@1 {recall_1:.2f}"


async def test_recall_overall(quality: Quality) -> None:
    recall_1, recall_5 = quality.recall()
    assert recall_1 >= 0.72 and recall_5 >= 0.88, (recall_1, recall_5)  # measured 0.761 / 0.918


async def test_answerability_rates(quality: Quality) -> None:
    # measured: 84 % of unanswerable questions get answered=false, 16 % of answerable ones do
    assert quality.true_refusals >= 0.78, quality.true_refusals
    assert quality.false_refusals <= 0.19, quality.false_refusals


def test_batch_search_prints_one_object_per_query_in_order(tmp_path, built_db) -> None:  # type: ignore[no-untyped-def]
    queries = tmp_path / "queries.txt"
    queries.write_text("pee problems\nis ketamine safe in pregnancy\n\nketmaine music\n", encoding="utf-8")
    env = {"DATA_DIR": str(ROOT / "data"), "DATABASE_PATH": str(built_db), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--batch", str(queries), "--limit", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
        check=True,
    ).stdout.splitlines()
    rows = [json.loads(line) for line in out]
    assert [r["query"] for r in rows] == ["pee problems", "is ketamine safe in pregnancy", "ketmaine music"]
    assert [r["answered"] for r in rows] == [True, False, True]
    assert rows[1]["not_covered"] == ["pregnancy"]
    assert all(set(hit) == {"id", "type", "text", "source", "score"} for r in rows for hit in r["results"])
    assert rows[0]["results"][0]["text"].startswith("Winstock et al. (2012) investigated the prevalence")
