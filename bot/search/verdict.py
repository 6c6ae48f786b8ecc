"""Answerability: does the store directly answer the question, and which of its key ideas has it nothing on?

A near miss looks like an answer to a ranking: on-topic questions the store cannot answer ("ketamine
in pregnancy") score as high on cosine as answerable ones. So the verdict weighs its own evidence:
the question's key ideas (content words rare enough in English to carry the topic, or words only the
store knows) must each be found in the top facts, literally, through an alias or typo correction, or
the top fact must be a strong semantic match with its lexical support. A short question whose words
the best fact holds in full needs no shared meaning (the model does not know "Spravato").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from itertools import pairwise, takewhile
from typing import Protocol

from bot.facts.models import FactRecord
from bot.search.answer_type import AnswerType, states
from bot.search.lexicon import is_compound, is_non_topic, mostly_a_verb, pertains_to, synonyms
from bot.search.ranking import Group
from bot.search.spelling import english_rarity, is_english, lemmas, noun_lemmas, parts_of_speech
from bot.search.text import STOPWORDS, stem, stems_of


class Scored(Protocol):
    """A search hit as the verdict reads it."""

    @property
    def fact(self) -> FactRecord: ...

    @property
    def score(self) -> float: ...

    @property
    def similarity(self) -> float: ...

    @property
    def coverage(self) -> float: ...


KEY_RARITY = 4.2  # -log10 English share of a noun: "coffee" 4.2 and "pregnancy" 5.3 name topics, "time" 2.9 does not
# A question of one or two ideas has no story around them: a noun in it names what is asked down to this
# rarity ("will it make my hair fall out?": hair 4.0; not "problem" 3.8 in "pee problems", "body" 3.7).
SHORT_QUESTION_KEY_RARITY = 3.9
TOP_FACTS = 3
STRONG_SIMILARITY = 0.68  # a top fact this close in meaning answers even when a key word is not in it
# ... as does a best fact one of whose questions in members' words (`bot.facts.questions`) is this close to
# the query: "do folks show up thinking it'll be a magic cure?" asks what the fact's question asks in other
# words. Questions sit closer to each other than to facts; the highest unanswerable question in the dev sets
# that is refused comes to 0.71 (docs/search.md, "Questions per fact").
STRONG_QUESTION_SIMILARITY = 0.75
MIN_KEY_LETTERS = 3  # "ur", "rn": chat words, not topics; "fog" is one
TECHNICAL_LETTERS = 6  # a word no lexicon knows names a topic when it is this long ("naltrexone", "zofran")...
TECHNICAL_RARITY = 6.0  # ... and rare or absent in English (short unknowns are chat words and typos)
MIN_SCORE = 0.75
# A fact stating the kind of answer asked for (a year, a price) answers only if it covers this share of
# what the best fact covers of the question
STATED_COVERAGE_SHARE = 0.5
MIN_SIMILARITY = 0.17
# A question of one or two ideas (verbs aside) that the best fact holds each of, in its words or through
# aliases, needs no shared meaning: the model does not know brand names, abbreviations and much lay
# vocabulary ("spravato", "SWS", "waterworks").
SHORT_QUESTION_IDEAS = 2
ROOT_LETTERS = 7  # a missing word of this many letters or more is present in another form ...
ROOT_SHARE = 0.6  # ... when a top fact's word shares this much of the shorter of the two from the start
# ... or when one's stem begins the other's, both this long: Porter leaves a noun in -ion a letter longer
# than its verb ("induction": induct, "induces": induc)
STEM_PREFIX = 5
MAX_ABBREVIATION = 6  # the longest abbreviation `spelled_out` looks for in initials
# "mess up", "mess u up", "mess with", "passing away": the particle, after at most one object, makes the
# word a verb ("w" is chat's "with": "does ket mess w ur sleep")
PARTICLES = frozenset({"up", "away", "out", "off", "down", "over", "back", "with", "w"})
OBJECTS = frozenset({"me", "you", "u", "him", "her", "it", "us", "them", "people", "someone", "everyone"})
# What people ask about doing after a session, in the everyday words of harm reduction: each names a
# topic of its own however common the word ("can I drive after an infusion?"), and a store that never
# mentions it does not answer the question.
ACTIVITIES = frozenset({"drive", "fly", "swim", "sex", "exercise", "workout", "gym", "bike"})


def is_key(group: Group, abbreviations: frozenset[str] = frozenset(), rarity: float = KEY_RARITY) -> bool:
    """An idea the store never mentions, named by a word that carries a topic.

    Topics are named by nouns ("pregnancy", "coffee", "dementia"), abbreviations written in capitals
    ("OCD") or defined by the alias table in any case ("ptsd"), everyday activities ("drive"), and
    technical words no English word list has ("naltrexone"); the adjectives, verbs and adverbs of a
    story or a paraphrase ("anxious", "finishing", "roughly"), and nouns English mostly uses as verbs
    ("lift", "urge"), are not topics.
    """
    if group.kind == "related":
        return True  # a topic the alias file names as one the store lacks, whatever words it shares
    if group.kind not in ("word", "alias", "corrected") or group.own_docs != 0:
        return False
    if is_defined_term(group):
        return True
    words = [w for w in group.typed.split() if w not in STOPWORDS and w.isalpha()]
    return any(_names_a_topic(w, abbreviations, rarity) for w in words)


def is_defined_term(group: Group) -> bool:
    """A term the alias table defines and English does not have ("ptsd": post-traumatic stress disorder),
    however it is written: a named thing, like an abbreviation in capitals."""
    return group.kind == "alias" and any(w.isalpha() and not is_english(w) for w in group.typed.split())


def phrasal_verbs(words: Sequence[str]) -> frozenset[str]:
    """Words that a particle makes a verb, with or without an object between ("mess up", "mess u up",
    "lifts you up", "passing away"): actions, not topics."""
    found = set()
    for i, word in enumerate(words):
        rest = words[i + 1 : i + 3]
        if rest and rest[0] in OBJECTS:
            rest = rest[1:]
        if rest and rest[0] in PARTICLES and "VERB" in parts_of_speech(word) and not is_activity(word):
            found.add(word)
    return frozenset(found)


def is_activity(word: str) -> bool:
    """An everyday activity people ask about doing after a session ("driving", "sex"): a topic, never
    a verb of the story, whatever follows it ("sex with my partner", "drive off")."""
    return not ACTIVITIES.isdisjoint(lemmas(word))


def _names_a_topic(word: str, abbreviations: frozenset[str], key_rarity: float = KEY_RARITY) -> bool:
    if word in abbreviations or is_activity(word):
        return True
    noun = pertains_to(word)
    if noun and _names_a_topic(noun, frozenset(), key_rarity):
        return True  # "renal" is about the kidney, "hepatic" about the liver: a topic, as its noun is
    readings = parts_of_speech(word)
    if readings:
        # the base form's rarity: "problems" is as generic as "problem"
        forms = (word, *noun_lemmas(word))
        rarity = min(english_rarity(form) for form in forms)
        if any(is_non_topic(form) for form in forms) or mostly_a_verb(word):
            return False
        return "NOUN" in readings and len(word) >= MIN_KEY_LETTERS and rarity >= key_rarity
    if word.endswith("in") and parts_of_speech(word + "g"):
        return False  # chat drops the g of a verb's -ing ("poppin", "drinkin"): an action, not a term
    return len(word) >= TECHNICAL_LETTERS and english_rarity(word) >= TECHNICAL_RARITY


def spelled_out(abbreviation: str, texts: Sequence[str]) -> bool:
    """Whether one of `texts` spells out `abbreviation` as the initials of consecutive content words
    ("KUD": ketamine use disorder, "SI": suicidal ideation, "PTSD": post-traumatic stress disorder)."""
    letters = abbreviation.lower().removesuffix("s") if len(abbreviation) > 2 else abbreviation.lower()
    if not 2 <= len(letters) <= MAX_ABBREVIATION or not letters.isalpha():
        return False
    for text in texts:
        initials = "".join(w[0] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS)
        if letters in initials:
            return True
    return False


def same_root(word: str, words: AbstractSet[str]) -> bool:
    """Whether `words` hold another form of `word` that its stem misses, sharing most of it from the start
    ("inhibitors": inhibition, "recreationally": recreational); "pharmacodynamic" and "pharmacological"
    share only a prefix."""
    for other in words:
        shared = sum(1 for _ in takewhile(lambda pair: pair[0] == pair[1], zip(word, other, strict=False)))
        if shared >= max(ROOT_LETTERS, ROOT_SHARE * min(len(word), len(other))):
            return True
    return False


def stems_begin_one_another(own: str, fact_stems: Sequence[set[str]]) -> bool:
    """Whether a fact's stem begins `own` or `own` begins it, both `STEM_PREFIX` letters or more."""
    if len(own) < STEM_PREFIX:
        return False
    return any(len(t) >= STEM_PREFIX and (t.startswith(own) or own.startswith(t)) for f in fact_stems for t in f)


def covered(
    group: Group, fact_stems: Sequence[set[str]], joined: Sequence[str], words: AbstractSet[str] = frozenset()
) -> bool:
    typed = group.typed
    if " " not in typed and len(typed) >= ROOT_LETTERS and same_root(typed, words):
        return True
    if " " not in typed and typed.isalpha() and stems_begin_one_another(stem(typed), fact_stems):
        return True
    if (
        " " not in typed
        and group.kind != "related"
        and any(
            len(words) == 1 and any(stem(words[0]) in stems for stems in fact_stems)
            for words in (synonym.split() for synonym in synonyms(typed))
        )
    ):
        return True  # a synonym ("programme" for "program"), never a broader word ("pregnancy" → state)
    for seq in group.stem_sequences(own=True):
        if len(seq) == 1 and any(seq[0] in stems for stems in fact_stems):
            return True
        if len(seq) > 1 and any(f" {' '.join(seq)} " in text for text in joined):
            return True
    return False


# An amount of a drug ("56 mg", "84mg", "56 or 84 mg", "0.5 mg/kg"): the numbers before a unit of dose.
_DOSE = re.compile(
    r"(?<![\w.])(?P<a>\d+(?:\.\d+)?)(?:\s?(?:or|and|to|vs|-)\s?(?P<b>\d+(?:\.\d+)?))?\s?"
    r"(?P<unit>mg/kg|mg|mcg|µg|ml|milligrams?)(?![a-z])"
)


def dose_numbers(typed: Sequence[str]) -> dict[str, list[str]]:
    """Each amount of a drug the question names ("56 mg") → its digit runs, as the store's index holds them
    ("0.5" is "0" and "5"). An amount the store never states is a key idea it has nothing on: facts on
    esketamine that give no strength do not answer "is the usual dose 56 or 84 mg?"."""
    found: dict[str, list[str]] = {}
    for m in _DOSE.finditer(" ".join(typed)):
        unit = "mg" if m["unit"].startswith("milligram") else m["unit"]
        for number in filter(None, (m["a"], m["b"])):
            found[f"{number} {unit}"] = re.findall(r"\d+", number)
    return found


def compound_modifiers(groups: Sequence[Group], typed: Sequence[str]) -> set[str]:
    """Words the store never uses that begin a WordNet term with the word after them ("obsessive-compulsive
    disorder", "emergency room"): the term names a thing the store lacks, though it has the head word."""
    unused = {g.typed for g in groups if g.kind in ("word", "alias", "corrected") and g.own_docs == 0}
    return {a for a, b in pairwise(typed) if a in unused and b not in STOPWORDS and _is_noun(b) and is_compound(a, b)}


def _is_noun(word: str) -> bool:
    return "NOUN" in parts_of_speech(word) and not mostly_a_verb(word)


def judge(
    hits: Sequence[Scored],
    groups: Sequence[Group],
    abbreviations: frozenset[str] = frozenset(),
    verbs: frozenset[str] = frozenset(),
    typed: Sequence[str] = (),
    asked: AnswerType | None = None,
    question_similarity: float = 0.0,
    unstated: Sequence[str] = (),
) -> tuple[bool, list[str]]:
    """(answered, not_covered) from the best hits and the query's ideas (`typed`: the question's words;
    `asked`: the kind of answer they ask for, `bot.search.answer_type.expected_answer`;
    `question_similarity`: the query's cosine with the nearest question written for the best hit;
    `unstated`: amounts of a drug the question names that no fact states, `dose_numbers`)."""
    top = hits[:TOP_FACTS]
    stems = [stems_of(h.fact.text) for h in top]
    fact_stems = [set(s) for s in stems]
    joined = [" " + " ".join(s) + " " for s in stems]
    # The ideas of the question, leaving out the verbs a particle makes ("does it mess up your waterworks").
    ideas = [g for g in groups if g.kind != "intent" and g.typed not in verbs]
    rarity = SHORT_QUESTION_KEY_RARITY if len(ideas) <= SHORT_QUESTION_IDEAS else KEY_RARITY
    modifiers = compound_modifiers(groups, typed)
    keys = [g for g in groups if g.typed not in verbs and (g.typed in modifiers or is_key(g, abbreviations, rarity))]
    texts = [h.fact.text for h in top]
    words = {w for text in texts for w in re.findall(r"[a-z]+", text.lower())}
    not_covered = list(
        dict.fromkeys(
            g.typed
            for g in keys
            if not covered(g, fact_stems, joined, words)
            and not (g.typed in abbreviations and spelled_out(g.typed, texts))
        )
    )
    not_covered.extend(unstated)
    if not top:
        return False, not_covered
    best = top[0]
    # A strong match in meaning may stand in for a missing word, never for a missing abbreviation or
    # defined term: "OCD" is a named condition, and facts about depression are near it, not about it.
    named_missing = {g.typed for g in keys if is_defined_term(g)} | abbreviations | set(unstated)
    close = best.similarity >= STRONG_SIMILARITY or question_similarity >= STRONG_QUESTION_SIMILARITY
    strong = close and not any(w in named_missing for w in not_covered)
    # A short question's ideas: the best fact must hold each of them, through its words or an alias.
    named = len(ideas) <= SHORT_QUESTION_IDEAS and all(covered(g, fact_stems[:1], joined[:1]) for g in ideas)
    meant = best.similarity >= MIN_SIMILARITY or named
    # "What year did the FDA approve it?": facts on the approval that give no year do not answer it, nor
    # does a fact that gives a year but little of the question (the answer-type bonus lifts such facts).
    if asked is not None and not any(
        states(asked, h.fact.text) and h.coverage >= STATED_COVERAGE_SHARE * best.coverage for h in top
    ):
        return False, [*not_covered, asked.value]
    answered = best.score >= MIN_SCORE and meant and (not not_covered or strong)
    return answered, not_covered
