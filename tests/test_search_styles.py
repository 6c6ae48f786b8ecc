"""Search quality by the way members really ask, on six dev sets written from the fact texts alone.

`tests/devset_styles.toml` (184 answerable questions in five styles, 37 the store cannot answer),
`tests/devset_styles_b.toml` (100 and 25, a second author), `tests/devset_styles_c.toml` (100 and 25,
a third), `tests/devset_styles_d.toml` (100 and 25, a fourth), `tests/devset_styles_e.toml` (100 and
25, two more) and `tests/devset_styles_f.toml` (100 and 25, two more again) were written by people who saw
only the facts: no search output, aliases, `data/questions.toml` or code. Sets c-f were written after the
design had been tuned on the sets before them; their first readings are the fairest estimates
(docs/search.md). The floors below
sit a little under what the current design measures (docs/search.md), so a regression fails here.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

from bench.quality import Quality, evaluate, load
from bot.facts.store import FactStore
from bot.search.searcher import Searcher
from tests.conftest import ROOT


@dataclass(frozen=True)
class StyleSet:
    """A blind style set and the floors it must keep: per style (recall@1, recall@5), overall, and the
    answerability rates (share of unanswerable questions refused, of answerable ones refused)."""

    path: str
    floors: dict[str, tuple[float, float]]
    overall: tuple[float, float]
    refused_unanswerable: float
    refused_answerable: float


SETS = {
    # 184 answerable, 37 unanswerable; measured 0.97/1.00, 0.91/0.97, 0.63/0.89, 0.81/0.92, 0.92/0.97,
    # all 0.85/0.95; answered: false on 86 % of unanswerable and 7 % of answerable questions. With the
    # questions per fact (data/questions.toml, Dec 3, night): 0.97/1.00, 0.91/0.97, 0.79/0.95, 0.89/0.95,
    # 0.92/0.97, all 0.90/0.97, 84 % / 7 % (the same for every set below: docs/search.md); 84 % / 5 % since a
    # question near one written for the best fact may stand in for a missing word (Dec 4).
    "a": StyleSet(
        "devset_styles.toml",
        {
            "clinical": (0.92, 0.97),
            "forum": (0.85, 0.94),
            "lay": (0.74, 0.90),
            "plain": (0.83, 0.92),
            "slang": (0.86, 0.94),
        },
        (0.86, 0.95),
        0.81,
        0.07,
    ),
    # A second author (Dec 2), 100 answerable, 25 unanswerable, lay questions sharing no key word with
    # their facts; measured 0.95/0.95, 1.00/1.00, 0.70/0.85, 0.70/0.90, 0.75/1.00, all 0.82/0.94;
    # answered: false on 84 % of unanswerable and 6 % of answerable questions. With the questions per
    # fact: 0.95/0.95, 1.00/1.00, 0.80/1.00, 0.70/0.90, 0.85/1.00, all 0.86/0.97, 84 % / 4 % (3 % Dec 4).
    "b": StyleSet(
        "devset_styles_b.toml",
        {
            "clinical": (0.90, 0.90),
            "forum": (0.90, 0.95),
            "lay": (0.70, 0.90),
            "plain": (0.60, 0.85),
            "slang": (0.75, 0.95),
        },
        (0.80, 0.94),
        0.80,
        0.05,
    ),
    # A third author (Dec 2, after the tuning on a and b), 100 answerable, 25 unanswerable; measured
    # 1.00/1.00, 0.90/1.00, 0.55/0.85, 0.80/1.00, 0.75/0.95, all 0.80/0.96; answered: false on 88 % of
    # unanswerable and 4 % of answerable questions (8 % before the "mood lift" glossary lines it prompted,
    # 6 % before verbs stopped being topics). With the questions per fact: 1.00/1.00, 0.90/1.00,
    # 0.65/0.90, 0.85/1.00, 0.75/0.95, all 0.83/0.97, 88 % / 4 %.
    "c": StyleSet(
        "devset_styles_c.toml",
        {
            "clinical": (0.95, 0.95),
            "forum": (0.85, 0.95),
            "lay": (0.55, 0.85),
            "plain": (0.75, 0.95),
            "slang": (0.70, 0.90),
        },
        (0.78, 0.94),
        0.84,
        0.06,
    ),
    # A fourth author (Dec 3, after the tuning on a, b and c), 100 answerable, 25 unanswerable; first
    # reading 0.95/1.00, 0.85/0.95, 0.50/0.65, 0.65/1.00, 0.75/0.95, all 0.74/0.91; answered: false on
    # 88 % of unanswerable and 16 % of answerable questions; now all 0.76/0.94 (lay 0.50/0.75, plain
    # 0.70/1.00), 92 % / 9 % (docs/search.md). With the questions per fact: 0.95/1.00, 0.90/1.00,
    # 0.65/0.95, 0.80/1.00, 0.85/0.95, all 0.83/0.98, 92 % / 6 %.
    "d": StyleSet(
        "devset_styles_d.toml",
        {
            "clinical": (0.90, 0.95),
            "forum": (0.85, 0.95),
            "lay": (0.55, 0.85),
            "plain": (0.70, 0.95),
            "slang": (0.75, 0.90),
        },
        (0.78, 0.94),
        0.88,
        0.08,
    ),
    # A fifth set by two more authors (Dec 3, evening, after the tuning on a-d), 100 answerable, 25
    # unanswerable; first reading 0.90/1.00, 0.90/0.95, 0.40/0.75, 0.95/0.95, 0.75/0.90, all 0.78/0.91;
    # answered: false on 56 % of unanswerable and 11 % of answerable questions; 92 % / 9 % since the
    # verdict's near-miss rules and synonyms it prompted (docs/search.md, which says how much they flatter it).
    # With the questions per fact: 0.95/1.00, 0.90/0.95, 0.70/0.95, 0.95/0.95, 0.75/0.95, all 0.85/0.96,
    # 92 % / 9 %; 92 % / 8 % since a near question may stand in for a missing word (Dec 4).
    "e": StyleSet(
        "devset_styles_e.toml",
        {
            "clinical": (0.90, 0.95),
            "forum": (0.85, 0.90),
            "lay": (0.60, 0.85),
            "plain": (0.90, 0.90),
            "slang": (0.70, 0.90),
        },
        (0.80, 0.93),
        0.88,
        0.10,
    ),
    # A sixth set by two more authors (Dec 4, after the questions per fact), 100 answerable, 25
    # unanswerable; first reading 0.95/0.95, 0.95/1.00, 0.65/0.95, 0.95/1.00, 0.95/1.00, all 0.89/0.98;
    # answered: false on 64 % of unanswerable and 9 % of answerable questions; 88 % / 9 % since the rate
    # answer type and the unstated doses it prompted (docs/search.md, "A sixth blind set").
    "f": StyleSet(
        "devset_styles_f.toml",
        {
            "clinical": (0.90, 0.90),
            "forum": (0.90, 0.95),
            "lay": (0.60, 0.90),
            "plain": (0.90, 0.95),
            "slang": (0.90, 0.95),
        },
        (0.85, 0.95),
        0.84,
        0.10,
    ),
}
QUERIES = {name: load(ROOT / "tests" / spec.path) for name, spec in SETS.items()}


@pytest.fixture(scope="module")
def quality(built_db) -> dict[str, Quality]:  # type: ignore[no-untyped-def]
    """Every set evaluated once for all the tests below (its own event loop: a module-scoped fixture)."""

    async def run() -> dict[str, Quality]:
        store = await FactStore.open(built_db)
        try:
            searcher = Searcher(store)
            return {name: await evaluate(searcher, queries) for name, queries in QUERIES.items()}
        finally:
            await store.close()

    return asyncio.run(run())


@pytest.mark.parametrize("name", sorted(SETS))
def test_each_style_set_has_every_style_and_enough_questions(name: str) -> None:
    kinds = [q["kind"] for q in QUERIES[name]]
    assert len([k for k in kinds if k != "unanswerable"]) >= 100
    assert kinds.count("unanswerable") >= 25
    assert set(kinds) == {*SETS[name].floors, "unanswerable"}


def test_together_the_sets_hold_the_questions_the_issue_asks_for() -> None:
    kinds = [q["kind"] for queries in QUERIES.values() for q in queries]
    assert len([k for k in kinds if k != "unanswerable"]) >= 150 and kinds.count("unanswerable") >= 30


@pytest.mark.parametrize(("name", "style"), [(n, s) for n, spec in sorted(SETS.items()) for s in sorted(spec.floors)])
async def test_recall_per_style(quality: dict[str, Quality], name: str, style: str) -> None:
    recall_1, recall_5 = quality[name].recall(style)
    floor_1, floor_5 = SETS[name].floors[style]
    assert recall_5 >= floor_5, f"{name} {style} recall@5 {recall_5:.2f}"
    assert recall_1 >= floor_1, f"{name} {style} recall@1 {recall_1:.2f}"


@pytest.mark.parametrize("name", sorted(SETS))
async def test_recall_overall(quality: dict[str, Quality], name: str) -> None:
    recall_1, recall_5 = quality[name].recall()
    floor_1, floor_5 = SETS[name].overall
    assert recall_1 >= floor_1 and recall_5 >= floor_5, (recall_1, recall_5)


@pytest.mark.parametrize("name", sorted(SETS))
async def test_answerability_rates(quality: dict[str, Quality], name: str) -> None:
    assert quality[name].true_refusals >= SETS[name].refused_unanswerable, quality[name].true_refusals
    assert quality[name].false_refusals <= SETS[name].refused_answerable, quality[name].false_refusals


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
