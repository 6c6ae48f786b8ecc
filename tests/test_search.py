"""Search behaviour on the real store: dev-set recall, exact answers, query rewriting, hostile input."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from bot.search.answer_type import AnswerType, expected_answer, states
from bot.search.dense import Semantic
from bot.search.ranking import Group, idea_weight, known_share
from bot.search.scoring import keep_nearest
from bot.search.searcher import Searcher
from bot.search.text import normalize, stem, tokenize
from bot.search.verdict import phrasal_verbs, same_root, stems_begin_one_another
from tests.conftest import ROOT

DEVSET = tomllib.loads((ROOT / "tests" / "devset.toml").read_text(encoding="utf-8"))["query"]
# Written by someone who saw neither the dev set, the aliases nor the code: a guard against tuning to DEVSET.
CHECK_SET = tomllib.loads((ROOT / "tests" / "heldout_check.toml").read_text(encoding="utf-8"))["query"]


def _rank(texts: list[str], expected: list[str]) -> int | None:
    return next((i for i, text in enumerate(texts) if any(text.startswith(e) for e in expected)), None)


async def test_devset_has_enough_natural_queries_of_every_kind() -> None:
    assert len(DEVSET) >= 60
    kinds = {q["kind"] for q in DEVSET}
    assert kinds == {"lay", "typo", "slang", "question", "abbreviation", "phrase"}


async def _recall(searcher: Searcher, queries: list[dict[str, object]]) -> tuple[float, float]:
    ranks = []
    for query in queries:
        result = await searcher.search(str(query["q"]), limit=5)
        ranks.append(_rank([h.fact.text for h in result.hits], list(query["expect"])))  # type: ignore[call-overload]
    return sum(r == 0 for r in ranks) / len(ranks), sum(r is not None for r in ranks) / len(ranks)


async def test_devset_recall_at_1_and_5(searcher: Searcher) -> None:
    recall_1, recall_5 = await _recall(searcher, DEVSET)
    assert recall_5 >= 0.97, f"recall@5 {recall_5:.3f}"  # measured 1.00, recall@1 0.90
    # 0.875 with lexical ranking alone, 0.86 with MiniLM alone, 0.90 with both sentence models.
    assert recall_1 >= 0.87, f"recall@1 {recall_1:.3f}"


async def test_independent_check_set_recall(searcher: Searcher) -> None:
    recall_1, recall_5 = await _recall(searcher, CHECK_SET)
    assert recall_5 >= 0.97, f"recall@5 {recall_5:.3f}"  # measured 0.986 (also 0.986 with MiniLM alone)
    assert recall_1 >= 0.86, f"recall@1 {recall_1:.3f}"  # measured 0.890 (0.849 with MiniLM alone)


@pytest.mark.parametrize(
    ("query", "expected_start"),
    [
        ("how long is a session", "Ketamine treatment sessions in the Montreal model last approximately 2 hours"),
        ("spravato", "Intranasal esketamine, the s-enantiomer of ketamine"),
        ("ketmaine music", "A randomized controlled trial (RCT) investigating music with ketamine"),
        ("k-hole", "The study 'Journey through the K-hole: phenomenological aspects of ketamine use'"),
        ("CAN-BIND schedule", "The Canadian Biomarker Integration Network in Depression (CAN-BIND) study protocol"),
    ],
)
async def test_exact_best_fact(searcher: Searcher, query: str, expected_start: str) -> None:
    result = await searcher.search(query, limit=5)
    # First or second: for "how long is a session" the preparatory sessions' length (30–60 minutes)
    # answers too, and for "ketamine music" the fact on music shaping the experience.
    assert any(h.fact.text.startswith(expected_start) for h in result.hits[:2])


@pytest.mark.parametrize("query", ["who isn't allowed to have ketamine treatment?", "who can't get ketamine?"])
async def test_who_may_not_have_it_finds_who_is_excluded(searcher: Searcher, query: str) -> None:
    # "isn't allowed" must not match the fact that "allows" patients to continue psychotherapy.
    result = await searcher.search(query, limit=5)
    assert result.hits[0].fact.text.startswith("The Montreal model for ketamine treatment excludes patients")
    assert result.answered


async def test_aliases_and_typos_are_reported_as_showing_results_for(searcher: Searcher) -> None:
    benzos = await searcher.search("benzos and ketamine")
    assert benzos.expanded == {"benzos": ["benzodiazepine", "benzodiazepines", "BZDR"]}
    assert benzos.rewritten == "benzos (benzodiazepine, benzodiazepines, BZDR) and ketamine"
    typo = await searcher.search("ketmaine music")
    assert typo.corrected == {"ketmaine": "ketamine"}
    assert typo.rewritten == "ketamine music"
    plain = await searcher.search("ketamine music")
    assert plain.rewritten is None


async def test_slang_resolves_to_the_substance(searcher: Searcher) -> None:
    shrooms = await searcher.search("shrooms", limit=10)
    assert shrooms.hits and all("psilocybin" in h.fact.text.lower() for h in shrooms.hits)
    special_k = await searcher.search("special k bladder")
    assert any(w in special_k.hits[0].fact.text.lower() for w in ("bladder", "urinary"))


async def test_real_words_are_not_bent_into_other_words(searcher: Searcher) -> None:
    assert searcher.correct("pregnant") is None
    assert searcher.correct("hungry") is None
    assert searcher.correct("start") is None
    assert searcher.correct("apena") == "apnea"
    assert searcher.correct("psilocibin") == "psilocybin"
    assert searcher.correct("antidep") == "antidepressant"  # clipped, not misspelt


async def test_a_drug_name_is_never_corrected_into_another_drug(searcher: Searcher) -> None:
    # Two edits away, but a typo keeps its first letter: R-ketamine is not "s-ketamine".
    assert searcher.correct("arketamine") is None
    assert searcher.correct("ketamnie") == "ketamine"
    result = await searcher.search("arketamine vs esketamine", limit=5)
    assert result.corrected == {} and "arketamine" in result.not_covered


async def test_a_clipped_word_is_searched_as_the_word_it_begins(searcher: Searcher) -> None:
    result = await searcher.search("does HNK give the antidep effect w/o the dissociation", limit=5)
    assert result.corrected == {"antidep": "antidepressant"}
    assert result.answered and result.not_covered == []


async def test_unknown_words_give_no_hits_and_no_confident_guess(searcher: Searcher) -> None:
    result = await searcher.search("xyzzy qwerty")
    assert result.hits == []
    assert result.unknown == ["xyzzy", "qwerty"]


async def test_misspelt_miss_offers_did_you_mean(searcher: Searcher) -> None:
    # The sentence model reads "psilocybin" inside the garble, so it may find psilocybin facts (without
    # claiming an answer); if it finds nothing, did-you-mean offers the word.
    result = await searcher.search("zzpsilocybinzz")
    assert not result.answered
    if result.hits:
        assert all("psilocybin" in h.fact.text.lower() for h in result.hits[:3])
    else:
        assert "psilocybin" in result.suggestions
    missed = await searcher.search("zzqqxxvv")
    assert missed.hits == [] and not missed.answered


async def test_a_brand_name_the_model_does_not_know_is_still_answered(searcher: Searcher) -> None:
    # "spravato" reaches esketamine through its alias; MiniLM finds no meaning in it (cosine ≈ 0.05),
    # but a one-idea question the best fact holds in full is answered.
    result = await searcher.search("spravato", limit=5)
    assert result.answered and result.not_covered == []
    assert "esketamine" in result.hits[0].fact.text.lower()
    # ... while a short question about a topic the store lacks is still not
    assert (await searcher.search("ketamine pregnancy", limit=5)).answered is False


def test_a_particle_makes_a_word_a_verb_not_a_topic() -> None:
    words = ["does", "it", "mess", "up", "your", "bladder", "or", "the", "mess", "afterwards"]
    assert phrasal_verbs(words) == frozenset({"mess"})
    assert phrasal_verbs(["passing", "away", "pregnancy", "up"]) == frozenset({"passing"})  # no verb reading
    assert phrasal_verbs(["does", "booze", "mess", "u", "up", "worse"]) == frozenset({"mess"})
    assert phrasal_verbs(["mess", "bladder", "up"]) == frozenset()  # a noun between: not one verb
    assert phrasal_verbs(["does", "it", "mess", "with", "your", "waterworks"]) == frozenset({"mess"})
    assert phrasal_verbs(["have", "sex", "with", "my", "partner"]) == frozenset()  # an activity stays a topic


async def test_a_phrasal_verb_is_not_reported_as_a_missing_topic(searcher: Searcher) -> None:
    result = await searcher.search("do people feel like they're passing away while they're under?", limit=5)
    assert result.answered and result.not_covered == []
    assert any(h.fact.text.startswith("Framing ketamine experiences as meaningful") for h in result.hits[:3])


async def test_a_six_letter_drug_name_no_lexicon_knows_is_a_missing_topic(searcher: Searcher) -> None:
    result = await searcher.search("do they give zofran before a ket infusion?", limit=5)
    assert (result.answered, result.not_covered) == (False, ["zofran"])


@pytest.mark.parametrize("query", ["can I drive after ketamine", "how soon after an infusion can I drive?"])
async def test_driving_is_a_topic_the_store_lacks_however_common_the_word(searcher: Searcher, query: str) -> None:
    result = await searcher.search(query, limit=5)
    assert (result.answered, result.not_covered) == (False, ["drive"])


async def test_a_short_lay_question_held_by_the_best_fact_needs_no_shared_meaning(searcher: Searcher) -> None:
    # MiniLM does not know "waterworks"; the alias does, and "mess up" is a verb, not an idea to hold.
    result = await searcher.search("does it mess up your waterworks", limit=5)
    assert result.answered and result.hits[0].fact.text.startswith("Ketamine abuse has been linked to serious urinary")
    # A word the store lacks is an idea the best fact does not hold, common or not; in a question this
    # short a noun as common as "hair" names the topic asked about.
    hair = await searcher.search("will it make my hair fall out?", limit=5)
    assert (hair.answered, hair.not_covered) == (False, ["hair"])


def test_another_form_of_a_word_shares_most_of_it_from_the_start() -> None:
    assert same_root("inhibitors", {"inhibition", "gsk"})
    assert same_root("recreationally", {"recreational"})
    assert not same_root("pharmacodynamic", {"pharmacological"})  # a shared prefix, another word
    assert not same_root("psychotomimetic", {"psychotherapy"})
    # Porter leaves "induction" (induct) a letter longer than "induces" (induc); "cure" is no "cureus".
    assert stems_begin_one_another(stem("induction"), [{"ketamin", stem("induces")}])
    assert not stems_begin_one_another(stem("cure"), [{stem("cureus")}])
    assert not stems_begin_one_another(stem("psychosis"), [{stem("psychotherapy")}])


async def test_a_noun_in_ion_is_held_by_a_fact_with_its_verb(searcher: Searcher) -> None:
    result = await searcher.search("thrice-weekly induction then maintenance", limit=5)
    assert result.not_covered == []


def test_words_joined_by_a_slash_are_words_but_units_stay_whole() -> None:
    assert tokenize("xanax/klonopin at 0.5 mg/kg w/o booze, 2/4/6 wks") == [
        "xanax",
        "klonopin",
        "at",
        "0.5",
        "mg/kg",
        "w/o",
        "booze",
        "2/4/6",
        "wks",
    ]


async def test_a_phrasal_verb_alias_matches_with_its_object_inside(searcher: Searcher) -> None:
    groups, _ = searcher.analyse("was this first used for putting people under before surgery?")
    put_under = next(g for g in groups if g.kind == "alias")
    assert put_under.typed == "putting people under" and "anesthesia" in put_under.terms


async def test_chat_shorthand_is_no_idea_of_the_question(searcher: Searcher) -> None:
    groups, _ = searcher.analyse("wut is HNK n does it work w/o the dissociation, ngl w/ booze")
    assert [g.typed for g in groups] == ["hnk", "does it work", "dissociation", "booze"]


async def test_a_word_for_a_message_is_not_a_missing_topic(searcher: Searcher) -> None:
    # "tunes" (WordNet: a piece of communication) is how the question says music, not a topic the store lacks.
    result = await searcher.search("will having tunes playing change what I see in my head?", limit=5)
    assert (result.answered, result.not_covered) == (True, [])
    assert result.hits[0].fact.text.startswith("Music can significantly influence the content of ketamine experiences")


async def test_a_word_a_particle_makes_a_verb_brings_no_relatives_into_the_ranking(searcher: Searcher) -> None:
    # "wound" in "wound up" is no injury: WordNet's relatives of the word ("influence") pulled facts on
    # what influences the experience above the one on hallucinations.
    result = await searcher.search("will it get me all wound up and make me see things that aren't there", limit=5)
    assert result.hits[0].fact.text.startswith("Ketamine induces a dissociative state, which may lead to side effects")


def test_the_fact_nearest_in_meaning_always_makes_the_first_five() -> None:
    scored = {r: (10.0 - r, 0.5, 0.1) for r in range(1, 9)}
    best = sorted(scored.items(), key=lambda kv: -kv[1][0])[:6]
    near = Semantic(np.zeros(3, dtype=np.float32), [(8, 0.6), (2, 0.5)])
    assert [r for r, _ in keep_nearest(best, scored, near)] == [1, 2, 3, 4, 8, 5]
    assert keep_nearest(best[:4], scored, near) == best[:4]  # a shorter list keeps the combined order
    inside = Semantic(np.zeros(3, dtype=np.float32), [(3, 0.6)])
    assert keep_nearest(best, scored, inside) == best


async def test_a_missing_abbreviation_is_not_answered_by_facts_near_it_in_meaning(searcher: Searcher) -> None:
    # The best fact (ketamine as an off-label psychiatric treatment) is close in meaning (cosine 0.74),
    # which stands in for a missing word, but never for a named condition the store lacks.
    # In lower case too: "ptsd" and "adhd" are terms the alias table defines, so they are named things.
    cases = [("Is ketamine a treatment for PTSD?", "ptsd"), ("ketamine for ADHD", "adhd")]
    cases += [("is ketamine a treatment for ptsd", "ptsd"), ("ket for adhd?", "adhd")]
    for question, missing in cases:
        result = await searcher.search(question, limit=5)
        assert (result.answered, result.not_covered) == (False, [missing])


HOSTILE = [
    "",
    "   ",
    '"',
    '"""',
    "NEAR(",
    "NEAR(ketamine bladder",
    "*",
    "ket*",
    "AND OR NOT",
    "ketamine AND",
    "'; DROP TABLE facts;--",
    "ketamine\x00bladder",
    "\x01\x02\x7f\u200b",
    "🍄🍄 shrooms 💊",
    "ｋｅｔａｍｉｎｅ",
    "@everyone ketamine",
    "<@123> <@&456> <#789>",
    "x" * 6000,
    "ketamine " * 1000,
    "{text}: bladder",
    "^ketamine",
    "col:ketamine",
    "(((",
    ")",
    "-ketamine",
    "+",
    "\\",
    "' OR 1=1 --",
    "\n\t\r",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_hostile_queries_return_a_list_and_never_raise(searcher: Searcher, query: str) -> None:
    result = await searcher.search(query, limit=5)
    assert isinstance(result.hits, list)
    assert len(result.hits) <= 5


async def test_full_width_and_control_characters_are_normalized(searcher: Searcher) -> None:
    assert normalize("ｋｅｔａｍｉｎｅ\x00 music") == "ketamine music"
    assert tokenize(normalize("@everyone <@123> hi")) == ["hi"]
    wide = await searcher.search("ｋｅｔａｍｉｎｅ ｍｕｓｉｃ", limit=3)
    narrow = await searcher.search("ketamine music", limit=3)
    assert [h.fact.id for h in wide.hits] == [h.fact.id for h in narrow.hits]


async def test_an_everyday_word_is_an_abbreviation_only_in_capitals(searcher: Searcher) -> None:
    # "ACT" is acceptance and commitment therapy, and only a fact that writes ACT counts for it, not
    # one where ketamine "acts as" something; typed in lower case it is the verb.
    result = await searcher.search("ACT with ketamine", limit=5)
    assert result.hits[0].fact.text.startswith("The Montreal model for ketamine treatment does not mandate a specific")
    assert result.expanded == {"act": ["acceptance and commitment therapy", "ACT"]}
    assert max(h.coverage for h in result.hits[1:]) < 0.01  # "ketamine" only: "acts on", "act as" are not ACT
    lower, _ = searcher.analyse("do people act strange after")
    assert [g.kind for g in lower if g.typed == "act"] == ["word"]


async def test_vs_says_a_comparison_is_asked_the_substances_say_what(searcher: Searcher) -> None:
    # At a word's full weight the store's rare "versus" outweighed LSD: a fact on psilocybin and
    # ketamine care models came fourth for "lsd vs ketamine". Every fact shown must name both.
    result = await searcher.search("lsd vs ketamine", limit=5)
    assert all("LSD" in h.fact.text and "ketamine" in h.fact.text.lower() for h in result.hits)
    assert result.hits[0].fact.text.startswith("Ketamine is considered by the authors to be the most forgiving")


async def test_words_the_store_never_saw_leave_the_meaning_to_decide(searcher: Searcher) -> None:
    # Only "help" and "putting" (Porter's stem of "putative") are words of the store, so a fact on
    # a "putative psychedelic" covered the question in full and came first; the fact it means is fifth
    # when coverage ignores "terrified", "pounds" and "eat".
    result = await searcher.search("would it help someone terrified of putting on pounds who won't eat", limit=5)
    assert result.hits[0].fact.text == "Ketamine is being investigated as a treatment for anorexia nervosa."


def test_the_known_share_weighs_each_idea_as_coverage_does() -> None:
    known, unknown = Group("bladder", ["bladder"], docs=10), Group("pounds", ["pounds"], docs=0)
    hint = Group("how long", ["hours"], 0.35, "intent", docs=40)
    share = known_share([known, unknown, hint, Group("who's", ["who's"], docs=0)], 350)
    assert share == pytest.approx(idea_weight(known, 350) / (idea_weight(known, 350) + idea_weight(unknown, 350)))
    assert known_share([hint], 350) == 1.0  # nothing but a hint: no idea is uncovered


async def test_a_paraphrase_matching_some_everyday_words_keeps_the_nearest_fact(searcher: Searcher) -> None:
    # "stop", "head", "day" match facts on stopping medication and on days; the facts' own words cover
    # over half of it, but it is still a paraphrase (rumination), and the fact nearest in meaning stays
    result = await searcher.search("can it stop your head chewing on the same gloomy stuff every day?", limit=5)
    texts = [hit.fact.text for hit in result.hits]
    assert any(t.startswith("Turning down the default mode network with the help of psychedelics") for t in texts)


async def test_a_close_match_in_meaning_stands_in_for_a_generic_missing_noun(searcher: Searcher) -> None:
    # the store never says "program", but its fact on bipolar disorder is a close match (cosine 0.69)
    result = await searcher.search("Do ketamine programs accept people with bipolar disorder?", limit=5)
    assert (result.answered, result.not_covered) == (True, ["programs"])
    assert result.hits[0].fact.text.startswith("Ketamine is considered a putative psychedelic")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("when was ketamine discovered", AnswerType.YEAR),
        ("since when has esketamine been approved", AnswerType.YEAR),
        ("what year did the montreal clinic open", AnswerType.YEAR),
        ("which countries publish psychedelic studies", AnswerType.COUNTRY),
        ("when do they let you go home after a session", None),  # a moment in a session, not a date
        ("where can i get ketamine", None),  # a place of care
        ("how long does it last", None),
    ],
)
def test_the_question_says_what_kind_of_answer_it_wants(question: str, expected: AnswerType | None) -> None:
    assert expected_answer(question) is expected


def test_a_fact_states_a_year_as_a_time_not_as_a_citation_and_a_country_by_name() -> None:
    assert states(AnswerType.YEAR, "appeared within a decade of ketamine's discovery in 1962.")
    assert states(AnswerType.YEAR, "prescribing grew since the 1990s")
    assert not states(AnswerType.YEAR, "Winstock et al. (2012) investigated the prevalence of urinary symptoms")
    assert states(AnswerType.COUNTRY, "The United States produced the highest number of studies")
    assert not states(AnswerType.COUNTRY, "a UKU rating scale")


async def test_a_when_question_puts_the_fact_with_the_date_first(searcher: Searcher) -> None:
    # "originally discovered at the Parke-Davis Research Center" has the word; the 1962 fact is the answer
    result = await searcher.search("When was ketamine discovered?", limit=5)
    assert result.hits[0].fact.text.startswith("Scientific publications describing the use of ketamine in psychedelic")
    result = await searcher.search("which nations publish the most psychedelic research", limit=5)
    assert result.hits[0].fact.text.startswith("The United States produced the highest number of studies")
