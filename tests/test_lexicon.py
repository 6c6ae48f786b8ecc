"""WordNet data: relatives for questions in everyday words, and the nouns that never name a missing topic."""

from __future__ import annotations

import hashlib
from importlib import resources

from bot.search.lexicon import (
    PERTAINYMS,
    SYNONYMS,
    TABLE,
    TAGGED_USES,
    is_non_topic,
    mostly_a_verb,
    pertains_to,
    relatives,
    synonyms,
)
from bot.search.searcher import KNOWN_RELATED_CREDIT, RELATED_CREDIT, Searcher
from bot.search.verdict import spelled_out
from tests.conftest import ROOT

TABLE_SHA256 = "90c1fe9800742e28ae95f8abbffa763e3ff22d13cf8a08cb9d0ca1fbbe014c9b"


def test_the_table_is_the_build_its_provenance_describes() -> None:
    data = resources.files("bot.search").joinpath("wordnet", TABLE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == TABLE_SHA256
    provenance = (ROOT / "bot" / "search" / "wordnet" / "PROVENANCE.md").read_text(encoding="utf-8")
    assert TABLE_SHA256 in provenance
    licence = (ROOT / "bot" / "search" / "wordnet" / "LICENSE").read_text(encoding="utf-8")
    assert "Copyright 2006 by Princeton University" in licence


def test_an_informal_word_leads_to_the_standard_one() -> None:
    assert relatives("shuteye") == ["shut-eye", "sleep", "slumber"]


def test_any_inflection_finds_its_base_form() -> None:
    assert relatives("newborns")[:3] == ["neonate", "baby", "babe"]


def test_a_two_word_phrase_comes_before_its_last_word() -> None:
    assert relatives("drugs", "street")[:2] == ["drug of abuse", "dose"]


def test_names_and_over_broad_words_are_left_out() -> None:
    assert relatives("paris") == []
    assert relatives("festival") == ["fete", "celebration", "festivity"]  # not "time period"


def test_unknown_words_get_nothing() -> None:
    assert relatives("xyzzy") == []


async def test_a_word_the_store_never_uses_leans_on_a_relative_it_does(searcher: Searcher) -> None:
    groups, _ = searcher.analyse("does it give you more shuteye")
    shuteye = next(g for g in groups if g.typed == "shuteye")
    # "shut-eye" is a key of the alias table, whose words the store's vocabulary holds too
    assert (shuteye.terms, shuteye.related, shuteye.related_credit) == (
        ["shuteye", "shut-eye", "sleep"],
        2,
        RELATED_CREDIT,
    )
    result = await searcher.search("does it give you more shuteye", limit=3)
    assert result.hits[0].fact.text.startswith("Ketamine treatment in responders is associated with an increase")


async def test_a_word_the_store_uses_keeps_its_relatives_as_a_hint(searcher: Searcher) -> None:
    groups, _ = searcher.analyse("clinic")
    assert groups[0].terms[0] == "clinic"
    assert groups[0].related_credit == KNOWN_RELATED_CREDIT < RELATED_CREDIT


async def test_relatives_never_make_an_absent_topic_present(searcher: Searcher) -> None:
    # "pregnancy" has relatives (gestation, maternity); the verdict still judges the word itself.
    result = await searcher.search("is ketamine safe in pregnancy", limit=5)
    assert (result.answered, result.not_covered) == (False, ["pregnancy"])


NON_TOPICS_SHA256 = "c226e717e0ec420d0abcb5008e1b714b35d064ef9433378f49b43ca0fdec6ef4"


def test_the_non_topic_list_is_the_build_its_provenance_describes() -> None:
    data = resources.files("bot.search").joinpath("wordnet", "non_topics.txt").read_bytes()
    assert hashlib.sha256(data).hexdigest() == NON_TOPICS_SHA256
    assert NON_TOPICS_SHA256 in (ROOT / "bot" / "search" / "wordnet" / "PROVENANCE.md").read_text(encoding="utf-8")


TAGGED_USES_SHA256 = "aa99232a58a2d692d910371280d676f575b74f49f2b45afd786decfe5732145f"


def test_the_tagged_uses_are_the_build_its_provenance_describes() -> None:
    data = resources.files("bot.search").joinpath("wordnet", TAGGED_USES).read_bytes()
    assert hashlib.sha256(data).hexdigest() == TAGGED_USES_SHA256
    assert TAGGED_USES_SHA256 in (ROOT / "bot" / "search" / "wordnet" / "PROVENANCE.md").read_text(encoding="utf-8")


def test_a_word_used_mostly_as_a_verb_is_known_in_any_form() -> None:
    assert [mostly_a_verb(w) for w in ("lift", "lifts", "chewing", "urge", "cure", "feed")] == [True] * 6
    assert [mostly_a_verb(w) for w in ("pregnancy", "skin", "coffee", "pounds", "smoking", "xyzzy")] == [False] * 6


async def test_a_verb_of_the_question_is_not_a_topic_the_store_lacks(searcher: Searcher) -> None:
    # "urge" is a noun here, but English uses it mostly as a verb: a paraphrase's word, not a topic
    result = await searcher.search("does ketamine calm the urge to drink", limit=5)
    assert (result.answered, result.not_covered) == (True, [])
    result = await searcher.search("can ketamine lift the gloom fast", limit=5)
    assert result.not_covered == ["gloom"]  # a noun, and the store has no word for it


async def test_chat_spellings_of_verbs_are_not_topics(searcher: Searcher) -> None:
    # "w" is chat's "with" (a particle: "mess w" is a verb); "poppin" is "popping" without its g
    for query in ("does ket mess w ur mood", "flashbacks poppin up after ket, is that normal"):
        result = await searcher.search(query, limit=5)
        assert (result.answered, result.not_covered) == (True, []), query


def test_people_groups_times_and_messages_are_not_topics_but_conditions_are() -> None:
    assert [is_non_topic(w) for w in ("folks", "nurse", "nighttime", "leftover", "tune", "version")] == [True] * 6
    assert [is_non_topic(w) for w in ("pregnancy", "dementia", "coffee", "surgery")] == [False] * 4


def test_an_abbreviation_is_spelled_out_by_the_initials_of_content_words() -> None:
    assert spelled_out("kud", ["Risk factors for ketamine use disorder include frequent use."])
    assert spelled_out("ssris", ["Selective serotonin reuptake inhibitors were continued."])
    assert spelled_out("si", ["Ketamine reduced suicidal ideation within hours."])
    assert not spelled_out("si", ["Several subjects in the trial dropped out."])  # "in" is no content word
    assert not spelled_out("ptsd", ["Ketamine reduced suicidal ideation within hours."])


async def test_a_person_named_in_the_question_is_not_a_missing_topic(searcher: Searcher) -> None:
    result = await searcher.search("my nurse says ketamine is risky for the bladder, is that true", limit=5)
    assert (result.answered, result.not_covered) == (True, [])


async def test_a_hyphenated_everyday_word_gets_its_relatives_too(searcher: Searcher) -> None:
    groups, _ = searcher.analyse("do people get more shut-eye")
    shut_eye = next(g for g in groups if g.typed == "shut-eye")
    assert shut_eye.terms == ["shut-eye", "sleep"]


async def test_warm_up_loads_what_the_first_search_needs(searcher: Searcher) -> None:
    from bot.facts import embedding
    from bot.search import lexicon
    from bot.search.warm import warm_up

    await warm_up(searcher)
    tables = (embedding.encoder, lexicon._read, lexicon._non_topics, lexicon._tagged_uses, lexicon._pertainyms)
    assert [f.cache_info().currsize for f in tables] == [1, 2, 1, 1, 1]  # _read: relatives and synonyms


SYNONYMS_SHA256 = "c18731b7c0fb8e2ac5b447791a92ab9d3c59ebe4b86711036d2b4a2b12cc2e56"
PERTAINYMS_SHA256 = "c574f8acfba3d56ccb433b251894a4df4d1f5d850c1d966eb5732a9a42cd3f08"


def test_the_synonyms_and_pertainyms_are_the_build_their_provenance_describes() -> None:
    provenance = (ROOT / "bot" / "search" / "wordnet" / "PROVENANCE.md").read_text(encoding="utf-8")
    for name, pinned in ((SYNONYMS, SYNONYMS_SHA256), (PERTAINYMS, PERTAINYMS_SHA256)):
        data = resources.files("bot.search").joinpath("wordnet", name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == pinned
        assert pinned in provenance


def test_synonyms_are_the_same_idea_never_a_broader_one() -> None:
    assert "false" in synonyms("fake") and "programme" in synonyms("programs")
    assert synonyms("pregnancy") == ["gestation", "maternity"]  # not "state", its hypernym
    assert synonyms("xyzzy") == []


def test_an_adjective_about_an_organ_names_its_topic() -> None:
    assert (pertains_to("renal"), pertains_to("hepatic"), pertains_to("emotional")) == ("kidney", "liver", None)


async def test_a_synonym_in_a_top_fact_covers_a_word_and_a_relational_adjective_is_a_topic(searcher: Searcher) -> None:
    # "program": the top facts say "plan" (WordNet: plan, program, programme), so the post is answered
    post = (
        "I have a borderline personality disorder diagnosis and got turned away from another program because"
        " of it. Would a ketamine program like the Montreal one refuse me for that?"
    )
    result = await searcher.search(post, limit=5)
    assert (result.answered, result.not_covered) == (True, [])
    # "renal" is about the kidney, which no fact on dosing mentions
    result = await searcher.search("ketamine dose adjustment in patients with renal impairment", limit=5)
    assert (result.answered, result.not_covered) == (False, ["renal"])
