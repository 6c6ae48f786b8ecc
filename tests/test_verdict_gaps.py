"""Near misses made of words the store does use: a topic next to one it covers, a named term whose head
word it has, and a question that asks for a kind of answer (a year, a price) its facts never state.
Each must get `answered: false` with what is missing named, while the neighbouring facts still lead."""

from __future__ import annotations

import re
import sqlite3
import tomllib
from pathlib import Path

import pytest

from bot.facts.datafiles import load_aliases
from bot.search.answer_type import AnswerType, expected_answer, states
from bot.search.lexicon import is_compound, synonyms
from bot.search.ranking import Group
from bot.search.searcher import Searcher
from bot.search.text import stem
from bot.search.verdict import covered, dose_numbers
from tests.conftest import DATA_DIR


def related_table() -> dict[str, list[str]]:
    entries: dict[str, list[str]] = tomllib.loads((DATA_DIR / "aliases.toml").read_text(encoding="utf-8"))["related"]
    return entries


def test_the_related_table_is_loaded_as_its_own_kind_and_leads_only_to_words_the_facts_use(built_db: Path) -> None:
    rows = load_aliases(DATA_DIR / "aliases.toml")
    assert ("insurance", "cost", "related") in rows
    assert not any(alias == "insurance" and kind != "related" for alias, _, kind in rows)
    with sqlite3.connect(built_db) as conn:
        facts = " ".join(text.lower() for (text,) in conn.execute("SELECT text FROM facts"))
    unused = [
        (key, term)
        for key, terms in related_table().items()
        for term in terms
        if not re.search(rf"(?<![a-z0-9]){re.escape(term.lower())}(?![a-z0-9])", facts)
    ]
    assert unused == []


@pytest.mark.parametrize(
    ("question", "missing", "first"),
    [
        # the store has costs, never insurance: the cost-effectiveness study leads, and is called a near miss
        ("Does health insurance usually cover Spravato treatments?", ["insurance"], "Brendle et al. (2022)"),
        ("will ket show up on a workplace drug test?", ["workplace", "drug test"], "Winstock et al. (2012)"),
        ("What is the elimination half-life of ketamine?", ["half-life"], None),
        ("Is ketamine used to sedate children in the emergency room?", ["emergency room"], None),
    ],
)
async def test_a_topic_next_to_the_stores_is_not_answered_by_its_neighbours(
    searcher: Searcher, question: str, missing: list[str], first: str | None
) -> None:
    result = await searcher.search(question, limit=5)
    assert (result.answered, result.not_covered) == (False, missing)
    if first:
        assert result.hits[0].fact.text.startswith(first)


async def test_a_named_term_the_store_has_only_the_head_word_of_is_missing(searcher: Searcher) -> None:
    # "disorder" is in many facts, "obsessive-compulsive" in none: WordNet has the two as one term
    assert is_compound("obsessive-compulsive", "disorders") and is_compound("emergency", "room")
    assert not is_compound("bipolar", "people")
    result = await searcher.search("What is the evidence for ketamine in obsessive-compulsive disorder?", limit=5)
    assert (result.answered, result.not_covered) == (False, ["obsessive-compulsive"])
    answered = await searcher.search("is ketamine used for bipolar disorder", limit=5)
    assert answered.answered and answered.not_covered == []


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("What year did the FDA approve esketamine nasal spray?", ["the year"]),
        # the year bonus lifts "a trial published in 2000" into the top three; it says nothing on approval
        ("what year did the FDA approve spravato", ["the year"]),
        ("How much does one IV ketamine infusion cost in dollars?", ["dollars", "the price"]),
    ],
)
async def test_facts_that_state_no_answer_of_the_kind_asked_for_do_not_answer(
    searcher: Searcher, question: str, missing: list[str]
) -> None:
    result = await searcher.search(question, limit=5)
    assert (result.answered, result.not_covered) == (False, missing)


async def test_a_question_whose_facts_state_the_year_is_still_answered(searcher: Searcher) -> None:
    result = await searcher.search("When was ketamine discovered?", limit=5)
    assert (result.answered, result.not_covered) == (True, [])


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how much does an infusion cost", AnswerType.PRICE),
        ("what's the price of spravato", AnswerType.PRICE),
        ("how much did you pay for your course", AnswerType.PRICE),
        ("how much ketamine is in one infusion", None),  # an amount of drug, not of money
        ("is it expensive", None),
    ],
)
def test_a_price_is_asked_for_only_in_so_many_words(question: str, expected: AnswerType | None) -> None:
    assert expected_answer(question) is expected


def test_a_fact_states_a_price_as_a_sum_of_money() -> None:
    assert states(AnswerType.PRICE, "a course of six infusions cost $2,400 on average")
    assert states(AnswerType.PRICE, "priced at 500 dollars a session")
    assert not states(AnswerType.PRICE, "the cost-effectiveness of esketamine nasal spray")
    assert not states(AnswerType.PRICE, "0.5 mg per kg over 40 minutes")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what remission rate did the trial report", AnswerType.RATE),
        ("what percentage of people respond", AnswerType.RATE),
        ("in the montreal model what proportion of patients remit", AnswerType.RATE),
        ("response and remission rates in the music trial", AnswerType.RATE),
        ("heart rate and blood pressure", None),  # names a topic
        ("does music improve response rates", None),  # asks whether, not how much
    ],
)
def test_a_rate_is_asked_for_by_a_question_word_or_a_query_that_begins_with_it(
    question: str, expected: AnswerType | None
) -> None:
    assert expected_answer(question) is expected


def test_a_fact_states_a_rate_as_a_figure() -> None:
    assert states(AnswerType.RATE, "80% of ketamine studies utilize a single-dose paradigm")
    assert states(AnswerType.RATE, "12 of 20 patients remitted")
    assert states(AnswerType.RATE, "about one in three responded")
    assert states(AnswerType.RATE, "half of the participants")
    assert not states(AnswerType.RATE, "the vast majority of patients receive conventional medications")
    assert not states(AnswerType.RATE, "six infusions over 4 weeks at 0.5 mg/kg")


async def test_a_rate_or_a_dose_the_store_never_states_is_named_as_missing(searcher: Searcher) -> None:
    rate = await searcher.search("what percentage of patients go into remission with the montreal model?", limit=5)
    assert (rate.answered, rate.not_covered) == (False, ["the rate"])
    dose = await searcher.search("is the usual esketamine nasal spray dose 28 mg?", limit=5)
    assert (dose.answered, dose.not_covered) == (False, ["28 mg"])
    stated = await searcher.search("is 0.5 mg/kg the standard infusion dose?", limit=5)
    assert (stated.answered, stated.not_covered) == (True, [])  # the store gives 0.5 mg/kg
    assert dose_numbers(["56", "or", "84", "mg"]) == {"56 mg": ["56"], "84 mg": ["84"]}
    assert dose_numbers(["0.5mg/kg", "over", "40", "min"]) == {"0.5 mg/kg": ["0", "5"]}


def test_a_related_topic_is_judged_by_its_own_words_never_by_a_synonym() -> None:
    # WordNet's "insurance" is also a "policy"; a fact on drug policy says nothing on insurance
    assert "policy" in synonyms("insurance")
    policy = [{stem("policy"), stem("drug")}]
    related = Group("insurance", ["insurance", "cost"], 1.0, "related", related=1)
    assert not covered(related, policy, [" polici drug "])
    word = Group("insurance", ["insurance"])
    assert covered(word, policy, [" polici drug "])  # an ordinary word is covered by its synonym
