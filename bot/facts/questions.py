"""Questions per fact (`data/questions.toml`): the words members ask in, beside the words a fact is written in.

A fact says "stimulatory hemodynamic effects"; a member asks "will my heart race on it?". Neither
sentence model puts those two near each other, but it does put the member's question near "does it
make your heart pound?", a question written for that fact. So each listed question is embedded at
ingest like a fact (cached by its text, `bot.facts.vectors`), and search lets a fact's best question
widen its similarity to a query (`bot.search.dense`). The questions are search data only: they are
never shown, and the verdict still looks for a query's key ideas in the facts' own words.

A fact's id follows its text, so an edited fact leaves its questions behind under the old id: the
build skips such entries and reports them (`BuildReport.questions_orphaned`) instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from bot.facts import embedding
from bot.facts.datafiles import entry_line, read_toml
from bot.facts.errors import ParseError
from bot.facts.vectors import Encode, cached_vectors

MAX_QUESTION_CHARS = 300  # a question, not a paragraph: longer ones are a mistake in the file
Entry = tuple[str, list[str]]  # (fact id, its questions)


def load_questions(path: Path) -> list[Entry]:
    """`[[fact]]` entries (`id`, `questions`) in file order; a missing file has none."""
    facts = read_toml(path).get("fact", [])
    if not isinstance(facts, list) or not all(isinstance(f, dict) for f in facts):
        raise ParseError(path, 1, "`fact` must be an array of tables: one [[fact]] header per fact")
    out: list[Entry] = []
    seen: dict[str, int] = {}
    for i, fact in enumerate(facts):
        where = f"[[fact]] #{i + 1}"
        fact_id = fact.get("id")
        if not isinstance(fact_id, str) or not fact_id.strip():
            raise ParseError(path, entry_line(path, "fact", i), f"{where}: missing 'id' (the fact's id, k-xxxxxx)")
        fact_id = fact_id.strip().lower()
        if fact_id in seen:
            raise ParseError(
                path,
                entry_line(path, "fact", i, "id"),
                f"{where}: id {fact_id!r} is already listed in #{seen[fact_id]}",
            )
        seen[fact_id] = i + 1
        out.append((fact_id, _questions(path, i, where, fact.get("questions"))))
    return out


def _questions(path: Path, index: int, where: str, value: Any) -> list[str]:
    line = entry_line(path, "fact", index, "questions")
    if not isinstance(value, list) or not value or not all(isinstance(q, str) and q.strip() for q in value):
        raise ParseError(path, line, f"{where}: 'questions' must be a non-empty list of non-empty strings")
    questions = [" ".join(q.split()) for q in value]
    too_long = next((q for q in questions if len(q) > MAX_QUESTION_CHARS), None)
    if too_long is not None:
        raise ParseError(
            path,
            line,
            f"{where}: a question is {len(too_long)} characters (at most {MAX_QUESTION_CHARS}): {too_long[:40]!r}…",
        )
    return questions


def insert_questions(conn: sqlite3.Connection, entries: list[Entry]) -> list[str]:
    """Store each entry's questions against its fact; returns the ids no fact has (entries skipped)."""
    wanted = json.dumps([fact_id for fact_id, _ in entries])
    rowids = dict(conn.execute("SELECT id, rowid FROM facts WHERE id IN (SELECT value FROM json_each(?))", (wanted,)))
    conn.executemany(
        "INSERT INTO fact_questions(fact_rowid, text) VALUES (?, ?)",
        [(rowids[fact_id], q) for fact_id, questions in entries if fact_id in rowids for q in questions],
    )
    return [fact_id for fact_id, _ in entries if fact_id not in rowids]


def insert_question_vectors(conn: sqlite3.Connection, cache: sqlite3.Connection, encode: Encode | None = None) -> int:
    """Fill `question_vectors` for every stored question (embedding only those the cache lacks);
    returns how many were embedded now. Curated questions are few, so this is one step."""
    rows = conn.execute("SELECT rowid, text FROM fact_questions ORDER BY rowid").fetchall()
    blobs, embedded = cached_vectors(cache, [text for _, text in rows], encode or embedding.encoder().encode)
    conn.executemany(
        "INSERT INTO question_vectors(rowid, vector) VALUES (?, ?)",
        [(rowid, blob) for (rowid, _), blob in zip(rows, blobs, strict=True)],
    )
    return embedded
