"""Forum posts as members write them: the question is found wherever it stands, valid words are left alone."""

from __future__ import annotations

import pytest

from bot.answers.answers import Answers
from bot.moderation.replies import autoreply, find_sources
from bot.search.focus import focus
from bot.search.searcher import Searcher

WILSON = (
    "I recall writings by Robert Anton Wilson about psychedelics, in which he insisted that while LSD only "
    "allowed trippers to access the higher circuits, ketamine let you go further. Is there any research on "
    "whether ketamine is really a psychedelic or just a dissociative anaesthetic?"
)
MUM_TITLE = "Ketamine for my mum's depression"
MUM_BODY = (
    "My mum is 72 and her psychiatrist suggested ketamine infusions after three antidepressants failed. "
    "She has high blood pressure. Is that a problem?"
)
# Written for these tests: long stories, the question early, late or in the middle.
LONG_POSTS = [
    (
        "Hi all, long time lurker, first post. Sorry in advance for the wall of text. I was diagnosed with "
        "major depression in my twenties and have been through sertraline, venlafaxine, bupropion and two "
        "rounds of talk therapy, none of which really stuck. My GP finally referred me to a clinic that "
        "offers infusions and I have my intake appointment in a fortnight. Honestly I'm nervous and a bit "
        "skeptical after so many dead ends, and my partner worries about me getting hooked. My question is "
        "simple though: does the improvement people report actually last, or does it fade after a few "
        "weeks? Thanks for reading this far, you are all lovely.",
        ["The antidepressant benefits of ketamine for treatment-resistant", "Ketamine is an off-label"],
    ),
    (
        "Can using ketamine recreationally damage your bladder? Asking because my younger brother has been "
        "using it at festivals most weekends for about two years. He says it's harmless and that everyone "
        "in his crowd does it, but lately he complains about needing the toilet all the time and some pain. "
        "Our parents have no idea and I don't want to overreact, but I also don't want to ignore something "
        "serious. Any sources I could show him would help a lot.",
        ["Ketamine abuse has been linked to serious urinary tract complications", "Winstock et al. (2012)"],
    ),
]


@pytest.fixture
async def answers(searcher: Searcher) -> Answers:
    return Answers(searcher)


def test_the_question_is_kept_and_the_story_set_aside() -> None:
    reduced = focus(WILSON)
    assert reduced.reduced
    assert reduced.query.startswith("Is there any research on whether ketamine is really a psychedelic")
    assert "Robert Anton Wilson" in reduced.context
    assert {"robert", "anton", "wilson"} <= reduced.names


def test_a_thin_question_keeps_the_sentence_it_leans_on() -> None:
    reduced = focus(f"{MUM_TITLE}\n{MUM_BODY}")
    assert reduced.query == "She has high blood pressure. Is that a problem?"


def test_a_question_that_points_back_keeps_the_sentence_it_points_to() -> None:
    post = (
        "I used a lot of K at parties years ago and I'm clean now. Lately I've been running to the toilet "
        "constantly. I read that people who used it recreationally end up with bladder problems. "
        "Is that a real thing, and could it be from my old use?"
    )
    assert focus(post).query == (
        "I read that people who used it recreationally end up with bladder problems. "
        "Is that a real thing, and could it be from my old use?"
    )
    # A question that names its own subject stands alone, pointer or not.
    named = (
        "My clinic is two hours away and I have had six infusions there so far this spring. "
        "Is that the usual number of infusions for treatment-resistant depression?"
    )
    assert focus(named).query == "Is that the usual number of infusions for treatment-resistant depression?"


def test_any_length_is_bounded_work() -> None:
    post = "My story goes on. " * 20_000 + "Does ketamine help with suicidal thoughts?"
    reduced = focus(post)
    assert reduced.query == "Does ketamine help with suicidal thoughts?"


async def test_the_wilson_post_finds_facts_on_psychedelic_versus_dissociative(searcher: Searcher) -> None:
    result = await searcher.search(WILSON, limit=5)
    assert result.corrected == {}, "insisted, trippers and names are valid words, not typos"
    assert result.focus and "trippers" not in result.focus
    texts = [h.fact.text for h in result.hits]
    assert any("psychedelic" in t.lower() and ("dissociat" in t.lower() or "biomedical" in t.lower()) for t in texts)
    assert result.answered


async def test_find_sources_on_the_wilson_post_says_what_it_searched(answers: Answers) -> None:
    reply = await find_sources(answers, WILSON)
    description = reply.embeds[0].description or ""
    assert "assisted" not in description and "triggers" not in description
    assert "is there any research on whether ketamine is really a psychedelic" in description.lower()


async def test_autoreply_answers_the_mum_post_with_hemodynamic_facts(answers: Answers) -> None:
    reply = await autoreply(answers, MUM_TITLE, MUM_BODY, threshold=0.45)
    assert reply is not None
    values = " ".join(f.value or "" for f in reply.embeds[0].fields).lower()
    assert "hemodynamic" in values


PREGNANT_TITLE = "Infusions while pregnant"
PREGNANT_BODY = (
    "I just found out I am pregnant, about eight weeks along, and I have been getting ketamine infusions "
    "for depression since spring. My next one is on Friday. Should I stop until the baby is born?"
)


async def test_autoreply_stays_silent_when_the_store_does_not_answer(answers: Answers) -> None:
    assert await autoreply(answers, PREGNANT_TITLE, PREGNANT_BODY, threshold=0.45) is None


def test_a_posts_title_names_what_its_question_is_about() -> None:
    # "Should I stop until the baby is born?" leans on nothing by its words; the title says pregnancy.
    assert focus(PREGNANT_BODY, PREGNANT_TITLE).query == (
        "Infusions while pregnant. Should I stop until the baby is born?"
    )
    assert focus("", "Ketamine and my bladder?").query == "Ketamine and my bladder?"


async def test_the_title_s_topic_is_one_the_verdict_asks_the_facts_for(searcher: Searcher) -> None:
    result = await searcher.search(PREGNANT_BODY, limit=5, subject=PREGNANT_TITLE)
    assert (result.answered, result.not_covered) == (False, ["pregnant"])


@pytest.mark.parametrize(("post", "expected"), LONG_POSTS)
async def test_long_posts_find_the_facts_that_answer_their_question(
    searcher: Searcher, post: str, expected: list[str]
) -> None:
    result = await searcher.search(post, limit=5)
    assert any(h.fact.text.startswith(tuple(expected)) for h in result.hits), [h.fact.text[:60] for h in result.hits]
    assert not result.corrected, result.corrected


@pytest.mark.parametrize("word", ["insisted", "trippers", "anaesthetic", "hooked", "fortnight", "festivals"])
async def test_valid_english_words_are_never_corrected(searcher: Searcher, word: str) -> None:
    result = await searcher.search(f"ketamine {word}")
    assert word not in result.corrected


async def test_real_typos_are_still_corrected(searcher: Searcher) -> None:
    result = await searcher.search("ketmaine for deppression")
    assert result.corrected.get("ketmaine") == "ketamine"
    assert result.corrected.get("deppression") == "depression"
