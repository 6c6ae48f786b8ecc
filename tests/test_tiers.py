"""Source tiers in every answer, higher tiers preferred, and a paper posted as a forum thread."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.answers.answers import Answers
from bot.answers.paper import matching_tags, thread_title
from bot.config import DEFAULT_CRISIS_TEXT, DEFAULT_NOTICE
from bot.discord.delivery import Delivery
from bot.discord.views import buttons_for
from bot.facts.ingest import build_database
from bot.facts.models import PaperRecord
from bot.facts.store import FactStore
from bot.importing import cli as import_cli
from bot.moderation.replies import autoreply, paper_thread_for, summary_messages
from bot.search.searcher import Searcher
from tests.conftest import DATA_DIR, ROOT
from tests.fake_discord.schema import component_validator, message_rules, schema_errors

DELIVERY = Delivery(DEFAULT_NOTICE, DEFAULT_CRISIS_TEXT, buttons_for)
FIXTURES = ROOT / "tests" / "fixtures" / "import"
PAPER = "A unified model of ketamine’s dissociative and psychedelic properties"
LINK = "https://journals.sagepub.com/doi/10.1177/02698811221140011"
TIER_TAGS = (
    "📄 Peer-reviewed paper",
    "📑 Review or guideline",
    "🩺 Clinic or practitioner page",
    "📰 News",
    "👥 Community post",
)
#: A community post that names the paper: its facts must never be shown as the paper's.
BLOG = """source

title: What Marguilho et al. found about ketamine, in plain words
concept: ketamine
tier: community

Facts (1)

Text (1)
claimA blogger wrote that the unified model of ketamine ties dissociation to one brain network.
"""


@pytest.fixture(scope="module")
def mixed_db(tmp_path_factory: pytest.TempPathFactory, built_db: Path) -> Path:
    """The shipped data plus a clinic page, a practitioner's notes and a community post."""
    root = tmp_path_factory.mktemp("tiers")
    data = root / "data"
    shutil.copytree(DATA_DIR, data)
    for name in ("clinic-page.html", "practitioner-notes.md"):
        assert import_cli.main([str(FIXTURES / name), "--concept", "ketamine", "--tier", "clinic"], data) == 0
    (data / "sources" / "blog.txt").write_text(BLOG, encoding="utf-8")
    path = built_db.with_name("tiers.sqlite3")  # beside the session's database: its vector cache is warm
    build_database(data, path)
    return path


@pytest.fixture
async def answers(mixed_db: Path) -> AsyncIterator[Answers]:
    store = await FactStore.open(mixed_db)
    yield Answers(Searcher(store))
    await store.close()


def _texts(body: dict[str, Any]) -> list[str]:
    return [f["value"] for e in body["embeds"] for f in e.get("fields", [])]


async def test_every_fact_line_and_source_card_shows_its_tier(answers: Answers) -> None:
    reply, _ = await answers.fact("how long does each infusion last at the clinic")
    fields = _texts(DELIVERY.prepare(reply).callback_body()["data"])
    assert fields and all(any(tag in value for tag in TIER_TAGS) for value in fields)
    assert any("How ketamine therapy works · Riverbend Wellness Clinic · Dana Whitfield, MD" not in v for v in fields)
    assert any("🩺 Clinic or practitioner page" in v for v in fields)
    card = DELIVERY.prepare(await answers.source("how ketamine therapy works")).callback_body()["data"]["embeds"][0]
    tier = next(f for f in card["fields"] if f["name"].startswith("Tier:"))
    assert tier["name"] == "Tier: 🩺 Clinic or practitioner page"
    assert "Not peer reviewed" in tier["value"]
    montreal = DELIVERY.prepare(await answers.source("montreal model")).callback_body()["data"]["embeds"][0]
    assert any(f["name"] == "Tier: 📄 Peer-reviewed paper" for f in montreal["fields"])


async def test_a_lower_tier_source_naming_a_paper_is_never_shown_as_the_paper(answers: Answers) -> None:
    # the full title: "… about ketamine" alone now also names the shipped clinic page "About Ketamine"
    title = "What Marguilho et al. found about ketamine, in plain words"
    card = DELIVERY.prepare(await answers.source(title)).callback_body()
    embed = card["data"]["embeds"][0]
    assert embed["title"].startswith("What Marguilho et al. found")
    assert not any(f["name"] == "📄 Paper" for f in embed["fields"])
    assert any(f["name"] == "Tier: 👥 Community post" for f in embed["fields"])
    paper = DELIVERY.prepare(await answers.source(PAPER)).callback_body()["data"]["embeds"][0]
    cite = next(f["value"] for f in paper["fields"] if f["name"].startswith("Facts that cite it"))
    # the blog's line says whose it is, and comes after the paper-tier facts that cite the paper
    assert "👥 community post" in cite and cite.index("📄 paper") < cite.index("👥 community post")


async def test_compare_and_auto_replies_prefer_higher_tiers(answers: Answers) -> None:
    reply = await answers.compare("ketamine", "psilocybin")
    for field in DELIVERY.prepare(reply).callback_body()["data"]["embeds"][0]["fields"]:
        ranks = [_rank(line) for line in field["value"].splitlines() if line.startswith(("≈", "≠", "•"))]
        assert ranks == sorted(ranks, reverse=True), field["name"]
    posts = [
        ("Blood pressure during ketamine infusion", "Does a nurse check blood pressure during the infusion?"),
        ("Ketamine infusion at a clinic", "How long does each infusion last?"),
        ("Spravato nasal spray", "Anyone tried esketamine spray for TRD?"),
    ]
    replies = [await autoreply(answers, title, body, 0.45) for title, body in posts]
    assert any(replies)
    for posted in filter(None, replies):
        ranks = [_rank(f.value) for f in posted.embeds[0].fields]
        assert ranks == sorted(ranks, reverse=True)


def _rank(line: str) -> int:
    return next(50 - 10 * i for i, tag in enumerate(("📄", "📑", "🩺", "📰", "👥")) if tag in line)


async def test_the_paper_thread_is_posted_the_way_members_post_a_paper(store: FactStore) -> None:
    answers = Answers(Searcher(store))
    by_title, by_link = await paper_thread_for(answers, PAPER), await paper_thread_for(answers, LINK)
    assert by_title is not None and by_link is not None and by_link.title == by_title.title
    thread = by_title
    assert thread.title == f"{PAPER} (Marguilho et al., 2023)"
    body = [DELIVERY.prepare(m).message_body() for m in thread.messages]
    for message in body:
        errors = schema_errors(component_validator("MessageCreateRequest"), message) + message_rules(message)
        assert not errors, errors
        assert message["allowed_mentions"] == {"parse": []}
    head = body[0]["embeds"][0]
    assert head["url"] == "https://doi.org/10.1177/02698811221140011"
    assert "Miriam Marguilho, Inês Figueiredo, Pedro Castro-Rodrigues" in head["description"]
    assert "*Journal of Psychopharmacology*, 2023" in head["description"]
    summary = next(f["value"] for f in head["fields"] if f["name"] == "The paper's summary")
    assert summary.count("📄 paper") == 2 and summary.startswith("• The paper presents a unified multi-level model")
    others = [e for m in body for e in m["embeds"] if e["title"] == "What other sources in the store say about it"]
    assert others and "k-4628c5" in others[0]["fields"][0]["value"]
    tags = ["Ketamine", "Depression", "Psilocybin", "Neuroimaging", "Off topic"]
    chosen = matching_tags(tags, thread.topics)
    assert [tags[i] for i in chosen] == ["Ketamine", "Depression", "Neuroimaging"]
    request = {"name": thread.title, "applied_tags": [str(900 + i) for i in chosen], "message": body[0]}
    errors = schema_errors(component_validator("CreateForumThreadRequest"), request)
    assert not errors and len(thread.title) <= 100
    concept = await summary_messages(store, "ketamine")
    assert concept is not None and "📄 paper" in concept[-1].embeds[0].description  # footnotes show tiers


def test_thread_titles_fit_discord_and_name_the_authors() -> None:
    def paper(title: str, authors: tuple[str, ...], year: int | None = 2020) -> PaperRecord:
        return PaperRecord(title, authors, "J", year, None, (), "", (title,))

    assert thread_title(paper("T", ("Ada Lovelace",))) == "T (Lovelace, 2020)"
    assert thread_title(paper("T", ("Lovelace, A.", "Babbage, C."))) == "T (Lovelace and Babbage, 2020)"
    assert thread_title(paper("T", ("A B", "C D", "et al."), None)) == "T (B et al.)"
    long = thread_title(paper("x" * 300, ("Kyle T. Greenway", "N G", "S R"), 2023))
    assert len(long) == 100 and long.endswith("… (Greenway et al., 2023)")
