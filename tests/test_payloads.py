"""Every body the bot would send, validated against Discord's OpenAPI file plus the rules it omits."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from typing import Any

import pytest

from bot.answers.answers import Answers
from bot.answers.reply import Reply
from bot.config import DEFAULT_CRISIS_TEXT, DEFAULT_NOTICE
from bot.discord.delivery import Delivery
from bot.discord.views import buttons_for, fact_view
from bot.facts.store import FactStore
from bot.moderation.replies import autoreply, find_sources, summary_messages
from bot.search.searcher import Searcher
from tests.conftest import DATA_DIR, OPENAPI_PATH, ROOT
from tests.fake_discord.schema import (
    SPEC_PATH,
    bulk_command_rules,
    component_validator,
    message_rules,
    schema_errors,
    valid_chat_input_name,
)

DELIVERY = Delivery(DEFAULT_NOTICE, DEFAULT_CRISIS_TEXT, buttons_for)
DEVSET = [q["q"] for q in tomllib.loads((ROOT / "tests" / "devset.toml").read_text(encoding="utf-8"))["query"]]
HOSTILE = [
    '"',
    "NEAR(",
    "*",
    "AND OR NOT",
    "'; DROP TABLE facts;--",
    "@everyone",
    "@here ketamine",
    "<@123>",
    "<@&456> benzos",
    "x" * 6000,
    "ketamine\x00bladder",
    "🍄💊",
    "ｋｅｔａｍｉｎｅ",
    "",
    "ketamine " * 700,
]


def assert_valid_callback(body: dict[str, Any]) -> None:
    errors = schema_errors(component_validator("CreateMessageInteractionCallbackRequest"), body)
    errors += message_rules(body.get("data"), ("data",))
    assert not errors, [e.dotted() if hasattr(e, "dotted") else e for e in errors]
    assert body["data"]["allowed_mentions"] == {"parse": []}
    footer = body["data"]["embeds"][-1]["footer"]["text"]
    assert footer.endswith(DEFAULT_NOTICE)


def assert_valid_message(body: dict[str, Any]) -> None:
    errors = schema_errors(component_validator("MessageCreateRequest"), body) + message_rules(body)
    assert not errors, errors
    assert body["allowed_mentions"] == {"parse": []}


def test_the_spec_is_the_pinned_fixture() -> None:
    assert OPENAPI_PATH.is_file() and OPENAPI_PATH == SPEC_PATH


@pytest.fixture
async def answers(store: FactStore) -> Answers:
    return Answers(Searcher(store))


async def _fact_body(answers: Answers, query: str) -> dict[str, Any]:
    reply, page = await answers.fact(query, page=0)
    reply.view = fact_view(1, page)
    return DELIVERY.prepare(reply).callback_body()


async def test_every_fact_answer_validates_for_devset_and_hostile_queries(answers: Answers) -> None:
    queries = DEVSET + HOSTILE
    assert len(queries) >= 95
    for query in queries:
        body = await _fact_body(answers, query)
        assert body["type"] == 4
        assert_valid_callback(body)
        assert "@everyone" not in json.dumps(body) or body["data"]["allowed_mentions"] == {"parse": []}


async def test_source_protocol_compare_answers_validate(answers: Answers) -> None:
    replies = [
        *[
            await answers.source(q)
            for q in ("montreal model", "unified model", "springer", "nothing-like-this", *HOSTILE[:8])
        ],
        *[await answers.protocol(n) for n in ("montreal", "berman", "can-bind", "at-home", "unknown", *HOSTILE[:5])],
        *[
            await answers.compare(a, b)
            for a, b in (
                ("ketamine", "psilocybin"),
                ("special k", "shrooms"),
                ("ketamine", "ketamine"),
                ("ketamine", "unobtanium"),
                ('"', "NEAR("),
            )
        ],
        await answers.fact_by_id("k-5b8224"),
        await answers.fact_by_id("k-000000"),
    ]
    for reply in replies:
        assert_valid_callback(DELIVERY.prepare(reply).callback_body())


async def test_forum_and_moderator_bodies_validate(store: FactStore, answers: Answers) -> None:
    messages = await summary_messages(store, "ketamine", perspectives=True)
    assert messages is not None and len(messages) >= 2
    for reply in messages:
        assert_valid_message(DELIVERY.prepare(reply).message_body())
    found = await find_sources(answers, "my psychiatrist says benzos make ketamine work less, true?")
    assert_valid_callback(DELIVERY.prepare(found).callback_body())
    posted = await autoreply(answers, "Spravato nasal spray", "Anyone tried esketamine spray for TRD?", 0.5)
    assert posted is not None
    assert_valid_message(DELIVERY.prepare(posted).message_body())
    thread_body = {
        "name": "Ketamine — cited summary",
        "applied_tags": ["1"],
        "message": DELIVERY.prepare(messages[0]).message_body(),
    }
    errors = schema_errors(component_validator("CreateForumThreadRequest"), thread_body)
    assert not errors, errors


async def test_oversized_replies_are_cut_to_limits_not_rejected() -> None:
    import discord

    embed = discord.Embed(title="t" * 400, description="d" * 5000)
    for i in range(30):
        embed.add_field(name=f"f{i}" * 100, value="v" * 2000)
    reply = Reply([embed] * 12, content="@everyone " + "c" * 3000)
    body = DELIVERY.prepare(reply).callback_body()
    assert_valid_callback(body)
    assert len(body["data"]["embeds"]) == 10
    assert len(body["data"]["content"]) == 2000


def test_command_sync_payload_validates(tmp_path: Any) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "commands", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"DATA_DIR": str(DATA_DIR), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    names = sorted(c["name"] for c in payload)
    assert names == [
        "Find sources",
        "about",
        "autoreply",
        "compare",
        "fact",
        "protocol",
        "reload",
        "reports",
        "source",
        "stats",
        "summary",
    ]
    validator = component_validator("ApplicationCommandUpdateRequest")
    for command in payload:
        assert not schema_errors(validator, command), command["name"]
        if command.get("type", 1) == 1:
            assert valid_chat_input_name(command["name"])
    assert not bulk_command_rules(payload)
    moderator = {c["name"]: c.get("default_member_permissions") for c in payload}
    manage_threads = str(1 << 34)
    assert {str(moderator[n]) for n in ("summary", "autoreply", "reports", "stats")} == {manage_threads}
    assert moderator["fact"] is None
