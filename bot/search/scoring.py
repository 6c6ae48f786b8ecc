"""Score adjustments about the facts rather than the words: what a bare reference or a weaker source loses,
what a fact stating the kind of answer asked for gains, and the one place in the results kept for the
fact nearest in meaning.
"""

from __future__ import annotations

from bot.facts.store import FactStore, FactText
from bot.search.answer_type import ANSWER_TYPE_BONUS, AnswerType, states
from bot.search.dense import Semantic

# The fact nearest in meaning is always among this many first results when the facts' own words
# cover less than `NEAREST_BELOW_COVERAGE` of the question (a paraphrase, not a lookup of named things).
NEAREST_SLOT = 5
NEAREST_BELOW_COVERAGE = 0.7
TIER_PAPER = 50  # the strongest tier's rank
TIER_WEIGHT = 0.3  # a clinic page (rank 20) keeps 82 % of its score, a community post (10) 76 %


def keep_nearest(
    best: list[tuple[int, tuple[float, float, float]]],
    scored: dict[int, tuple[float, float, float]],
    sims: Semantic,
) -> list[tuple[int, tuple[float, float, float]]]:
    """The fact nearest in meaning made one of the first `NEAREST_SLOT` results: a lay paraphrase
    whose words happen to match other facts ("hush the part of your head that chatters") must not
    bury the one fact the model reads it as. Lists shorter than the slot keep the combined order."""
    if len(best) < NEAREST_SLOT or not sims.near:
        return best
    nearest = max(sims.near, key=lambda near: near[1])[0]  # by its own words' cosine, not its questions'
    if nearest not in scored or any(rowid == nearest for rowid, _ in best[:NEAREST_SLOT]):
        return best
    kept = [item for item in best if item[0] != nearest]
    kept.insert(NEAREST_SLOT - 1, (nearest, scored[nearest]))
    return kept[: len(best)]


async def reward_answer_type(
    store: FactStore, scored: dict[int, tuple[float, float, float]], answer: AnswerType | None
) -> dict[int, tuple[float, float, float]]:
    """`ANSWER_TYPE_BONUS` for the facts that state the kind of answer the question asks for: a year
    for "when was …", a country for "which country …", a sum for "how much does … cost"
    (`bot.search.answer_type`)."""
    if answer is None or not scored:
        return scored
    stating = {row.rowid for row in await store.fact_texts(list(scored)) if states(answer, row.text)}
    return {r: (s + ANSWER_TYPE_BONUS if r in stating else s, c, m) for r, (s, c, m) in scored.items()}


def prior(row: FactText) -> float:
    """What a bare reference loses before any evidence (a citation answers less than a finding)."""
    return 0.03 if row.type == "reference" else 0.0


def tier_factor(row: FactText) -> float:
    """A weaker source's fact keeps this share of its score: at equal evidence a paper's fact comes
    before a clinic page's, and a clinic page must match clearly better to come first."""
    weakness = max(0, TIER_PAPER - row.tier_rank) / TIER_PAPER if row.tier_rank else 0.0
    return 1.0 - TIER_WEIGHT * weakness
