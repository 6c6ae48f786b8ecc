"""`/compare`: two substances side by side from the facts that mention both."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process

from bot.answers.base import AnswerBase, Choice, in_text
from bot.answers.render import (
    answer_embed,
    escape,
    fact_row,
    message_reply,
    pack_rows,
)
from bot.answers.reply import CHOICE_TEXT, CHOICES, Reply, clip
from bot.facts.models import FactRecord
from bot.search.text import STOPWORDS, fts_phrase, fts_tokens, normalize, stem, tokenize

COMPARE_FACTS = 120
_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "single": "1",
    "twice": "2",
    "thrice": "3",
}


class CompareAnswers(AnswerBase):
    """`/compare` answers."""

    def substance_terms(self, name: str) -> tuple[str, list[str]]:
        """(canonical name, terms that mean it in facts) for what a person typed: aliases count."""
        typed = normalize(name).lower()
        terms = self.store.aliases.get(typed)
        if terms is None:
            corrected = (
                self.searcher.correct(typed)
                if typed.isalpha() and len(typed) >= 5 and typed not in self.store.vocabulary
                else None
            )
            if corrected:
                typed = corrected
                terms = self.store.aliases.get(typed)
        canonical = terms[0] if terms else typed
        return canonical, list(dict.fromkeys([canonical, *(terms or [])]))

    async def compare(self, first: str, second: str, *, private: bool = False) -> Reply:
        """Side by side from the facts that mention both: grouped, similar vs different, conflicts shown."""
        (name_a, terms_a), (name_b, terms_b) = self.substance_terms(first), self.substance_terms(second)
        # A name needs a content word: "the" is no substance, and a phrase of stopwords only makes
        # FTS5 walk the posting lists of the commonest words in the store looking for it.
        if not _content_words(name_a) or not _content_words(name_b):
            return message_reply(
                "Two substances needed", "Give two names, e.g. `/compare first: ketamine second: psilocybin`."
            )
        if stem(name_a.lower()) == stem(name_b.lower()):
            return message_reply(
                "Same substance twice",
                f"“{escape(first)}” and “{escape(second)}” both mean **{escape(name_a)}**. "
                f"Try `/fact query: {escape(name_a)}`, or compare it with another substance, e.g. psilocybin.",
            )
        expr_a, expr_b = _any_of(terms_a), _any_of(terms_b)
        unknown = [
            n for n, e in ((name_a, expr_a), (name_b, expr_b)) if not e or not await self.store.matches_any(in_text(e))
        ]
        if unknown:
            return message_reply(
                "Nothing to compare",
                "No fact mentions " + " or ".join(f"**{escape(u)}**" for u in unknown) + ". "
                "Substances the store knows include: " + ", ".join(await self._known_substances()) + ".",
            )
        rowids, home = await self._co_mentions(in_text(f"{expr_a} AND {expr_b}"), [*terms_a, *terms_b])
        facts = sorted(
            (await self.store.facts_by_rowid(rowids)).values(),
            key=lambda f: (f.rowid not in home, f.source.id, f.position),
        )
        concepts = {c.lower() for c in await self.store.concept_names()}
        basis = [n for n in (name_a, name_b) if n.lower() not in concepts]
        description = f"**{escape(name_a)}** and **{escape(name_b)}**: {len(facts)} facts mention both."
        if basis:
            description += (
                f"\nThere is no concept page for {' or '.join(escape(b) for b in basis)} yet: this comparison rests "
                f"only on those {len(facts)} facts, found in the pages of "
                + ", ".join(sorted({escape(f.concept) for f in facts}))
                + "."
            )
        description += "\n≈ similarity · ≠ difference"
        embed = answer_embed(f"{name_a} vs {name_b}", description)
        if not facts:
            embed.add_field(
                name="No shared facts", value="No single fact mentions both. Try `/fact` for each.", inline=False
            )
            return Reply([embed], ephemeral=private)
        config = self.store.compare_config
        stems = {f.id: _stems(f.text) for f in facts}
        conflicts = _conflicts(facts)
        in_conflict = {f.id for pair in conflicts for f in pair}
        grouped = _group_facts([f for f in facts if f.id not in in_conflict], config.get("groups", []), stems)
        similar = [_stems(m) for m in config.get("similar", [])]
        different = [_stems(m) for m in config.get("different", [])]
        for title, members in grouped:
            marked = [(_marker(stems[f.id], similar, different), f) for f in members]
            marked.sort(
                key=lambda mf: (
                    mf[1].rowid not in home,
                    -mf[1].source.tier.rank,  # higher tiers first: a paper before a clinic page
                    mf[0] != "≈",
                    mf[1].source.id,
                    mf[1].position,
                )
            )
            for name, value in pack_rows(title, [fact_row(f, 240, marker) for marker, f in marked[:4]])[:1]:
                embed.add_field(name=name, value=value, inline=False)
        conflicts.sort(key=lambda pair: -max(f.source.tier.rank for f in pair))
        for a, b in conflicts[:2]:
            value = f"{fact_row(a, 220, '①')}\n{fact_row(b, 220, '②')}"
            embed.add_field(name="⚔️ Conflicting facts (shown as stated; not merged)", value=value, inline=False)
        return Reply([embed], ephemeral=private)

    async def _co_mentions(self, match: str, names: Sequence[str]) -> tuple[list[int], set[int]]:
        """Rowids of up to `COMPARE_FACTS` facts that mention both substances, and which of them are
        on the pages of the substances themselves (shown first).

        Small stores: the best by BM25 (and no page is preferred). Large ones: unranked (bm25 over
        "ketamine AND psilocybin" ranks tens of thousands of matches), first inside the pages of
        the two substances when the store has concepts of those names, then from the whole store
        until the limit is reached.
        """
        if not self._large:
            return [r for r, _ in await self.store.ranked_candidates(match, COMPARE_FACTS)], set()
        found: dict[int, None] = {}
        home: set[int] = set()
        spans = dict.fromkeys(span for span in map(self.searcher.concept_range, names) if span)
        for span in [*spans, None]:
            for rowid in await self.store.unranked_candidates(match, COMPARE_FACTS - len(found), span):
                found[rowid] = None
                if span:
                    home.add(rowid)
            if len(found) >= COMPARE_FACTS:
                break
        return list(found)[:COMPARE_FACTS], home

    async def _known_substances(self) -> list[str]:
        return [escape(n) for n in self.store.compare_config.get("substances", [])]

    async def autocomplete_substance(self, current: str) -> list[Choice]:
        names = list(
            dict.fromkeys([*await self.store.concept_names(), *self.store.compare_config.get("substances", [])])
        )
        text = normalize(current).lower()
        if text:
            pool = names + [a for a, terms in self.store.aliases.items() if terms and terms[0] in names]
            names = [n for n, _, _ in process.extract(text, pool, scorer=fuzz.WRatio, limit=CHOICES, score_cutoff=50)]
        return [Choice(clip(n, CHOICE_TEXT), clip(n, CHOICE_TEXT)) for n in dict.fromkeys(names)][:CHOICES]


def _content_words(name: str) -> list[str]:
    return [w for w in tokenize(name) if w not in STOPWORDS]


def _any_of(terms: Sequence[str]) -> str:
    phrases = list(dict.fromkeys(p for p in (fts_phrase(t) for t in terms) if p))
    return "(" + " OR ".join(phrases) + ")" if phrases else ""


def _stems(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in fts_tokens(text))


def _contains(fact_stems: Sequence[str], phrase: tuple[str, ...]) -> bool:
    if not phrase:
        return False
    if len(phrase) == 1:
        return phrase[0] in fact_stems
    joined = " " + " ".join(fact_stems) + " "
    return f" {' '.join(phrase)} " in joined


def _marker(fact_stems: Sequence[str], similar: Sequence[tuple[str, ...]], different: Sequence[tuple[str, ...]]) -> str:
    if any(_contains(fact_stems, m) for m in different):
        return "≠"
    if any(_contains(fact_stems, m) for m in similar):
        return "≈"
    return "•"


def _group_facts(
    facts: Sequence[FactRecord], groups: Sequence[dict[str, object]], stems: dict[str, tuple[str, ...]]
) -> list[tuple[str, list[FactRecord]]]:
    """Facts bucketed under the first compare group one of whose terms they contain (stems known)."""
    buckets: dict[str, list[FactRecord]] = {}
    order = [str(g["title"]) for g in groups] + ["📎 Other findings"]
    terms = [(str(g["title"]), [_stems(t) for t in g["terms"]]) for g in groups]  # type: ignore[attr-defined]
    for fact in facts:
        title = next(
            (title for title, phrases in terms if any(_contains(stems[fact.id], p) for p in phrases)),
            "📎 Other findings",
        )
        buckets.setdefault(title, []).append(fact)
    return [(t, buckets[t]) for t in order if t in buckets]


def _conflicts(facts: Sequence[FactRecord]) -> list[tuple[FactRecord, FactRecord]]:
    """Pairs of facts that say nearly the same thing with different numbers (e.g. 2 vs 12 doses).

    Words and numbers are read once per fact, not once per pair: with up to `COMPARE_FACTS` facts
    there are 7 000 pairs. Only facts that state a number can be in a conflict, so the others are
    never paired at all.
    """
    numbered = []
    for fact in facts:
        words = tokenize(fact.text)
        numbers = {_NUMBER_WORDS.get(w, w) for w in words if w.replace(".", "").isdigit() or w in _NUMBER_WORDS}
        if numbers:
            content = {
                stem(w)
                for w in words
                if w not in STOPWORDS and not w.replace(".", "").isdigit() and w not in _NUMBER_WORDS
            }
            numbered.append((fact, content, numbers))
    out = []
    for i, (a, sa, na) in enumerate(numbered):
        for b, sb, nb in numbered[i + 1 :]:
            if na != nb and len(sa & sb) / max(1, min(len(sa), len(sb))) >= 0.6:
                out.append((a, b))
    return out
