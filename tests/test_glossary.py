"""The everyday-word glossaries in `data/aliases.toml`: every term they lead to is one the facts use,
and a question in those words reaches the fact it paraphrases."""

from __future__ import annotations

import re
import sqlite3
import tomllib
from pathlib import Path

import pytest

from bot.search.searcher import Searcher
from tests.conftest import DATA_DIR

GLOSSARY_START = "# ===== Everyday words"
GLOSSARY_END = "# Question words that imply"


def glossary() -> dict[str, list[str]]:
    """The alias lines from the glossaries' first header to the intents."""
    text = (DATA_DIR / "aliases.toml").read_text(encoding="utf-8")
    entries: dict[str, list[str]] = tomllib.loads(text[text.index(GLOSSARY_START) : text.index(GLOSSARY_END)])
    return entries


def test_the_glossaries_lead_only_to_words_the_facts_use(built_db: Path) -> None:
    entries = glossary()
    assert len(entries) >= 600
    with sqlite3.connect(built_db) as conn:
        facts = " ".join(text.lower() for (text,) in conn.execute("SELECT text FROM facts"))
    unused = [
        (key, term)
        for key, terms in entries.items()
        for term in terms
        if not re.search(rf"(?<![a-z0-9]){re.escape(term.lower())}(?![a-z0-9])", facts)
    ]
    assert unused == []


@pytest.mark.parametrize(
    ("query", "expected_start"),
    [
        ("can it help people who starve themselves", "Ketamine is being investigated as a treatment for anorexia"),
        # "till" is chat, not an idea the best fact must hold
        ("how long till it kicks in", "Ketamine and psilocybin can both produce rapid improvements"),
        ("does it mess with your waterworks", "Ketamine abuse has been linked to serious urinary tract"),
        # "turn me away": who a clinic refuses, the intent the facts answer with "excludes"
        ("will the clinic turn me away if I still drink a lot?", "The Montreal model for ketamine treatment excludes"),
        (
            "would they turn someone away who uses cannabis every day",
            "The Montreal model for ketamine treatment excludes",
        ),
        # leaving after a session is what the protocol calls discharge; its start, "beginning each treatment"
        ("when will they let me go home?", "The Montreal model for ketamine treatment discharges"),
        (
            "what happens at the start of each ketamine session?",
            "The Montreal model ketamine treatment process includes",
        ),
    ],
)
async def test_a_question_in_everyday_words_reaches_the_fact(
    searcher: Searcher, query: str, expected_start: str
) -> None:
    result = await searcher.search(query, limit=5)
    assert result.answered
    assert any(h.fact.text.startswith(expected_start) for h in result.hits[:3])
