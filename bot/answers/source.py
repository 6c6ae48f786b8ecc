"""`/source`: a source card or a known paper's card, with its most relevant facts."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from bot.answers.base import AnswerBase, Choice
from bot.answers.paper import citing_facts, doi_in, match_paper, own_facts
from bot.answers.render import (
    answer_embed,
    escape,
    fact_row,
    message_reply,
    pack_rows,
    paper_field,
)
from bot.answers.reply import CHOICE_TEXT, CHOICES, Reply, clip
from bot.facts.models import FactRecord, PaperRecord, SourceRecord
from bot.search.text import STOPWORDS, fts_phrase, normalize, tokenize

#: Tiers whose sources may carry a known paper's metadata when no paper card is imported for it.
SCHOLARLY_TIERS = frozenset({"paper", "review"})


class SourceAnswers(AnswerBase):
    """`/source` answers."""

    async def source(self, query: str, *, private: bool = False) -> Reply:
        """A source card: where it is from, what it holds, and its facts most relevant to the query."""
        cleaned = normalize(query)
        if not tokenize(cleaned):
            return message_reply("Nothing to search for", "Type part of a title, e.g. `/source query: montreal model`.")
        paper = await self._paper_for(query)
        if paper is not None and paper.source_id is not None and doi_in(query):
            return await self._paper_card(paper, cleaned, private)  # a DOI or a link names the paper exactly
        source = await self._best_source(cleaned)
        if (
            paper is not None
            and source is not None
            and fuzz.token_set_ratio(cleaned.lower(), source.title.lower()) < 80
        ):
            source = None  # the query names a known paper better than it names this source
        if source is None and paper is None:
            titles = [s.title for s in (await self._top_sources())[:400]]
            near = process.extract(cleaned, titles, scorer=fuzz.WRatio, limit=3, score_cutoff=50)
            hint = "\nDid you mean: " + "; ".join(f"**{escape(t)}**" for t, _, _ in near) + "?" if near else ""
            return message_reply("No matching source", f"No source title matches “{escape(clip(cleaned, 200))}”.{hint}")
        if source is None or (paper is not None and paper.source_id == source.id):
            assert paper is not None
            return await self._paper_card(paper, cleaned, private)  # a paper with its card: the paper's view
        mix = await self.store.source_type_mix(source.id)
        embed = answer_embed(source.title)
        embed.url = source.url
        site = f"[{source.domain or 'the page'}]({source.url})" if source.url else "not recorded"
        embed.add_field(name="Site", value=site, inline=True)
        embed.add_field(name="Publisher", value=escape(source.publisher) or "—", inline=True)
        embed.add_field(name="Date", value=source.date or "not given", inline=True)
        if source.authors:
            embed.add_field(name="Authors", value=escape(", ".join(source.authors)), inline=False)
        embed.add_field(
            name=f"{source.fact_count} facts",
            value=", ".join(f"{n} {t}" for t, n in mix.items()) or "—",
            inline=False,
        )
        embed.add_field(name=f"Tier: {source.tier.tag}", value=escape(source.tier.meaning), inline=False)
        paper = paper or await self._paper_for(source.title)
        if paper and paper.source_id != source.id and (paper.source_id or source.tier.key not in SCHOLARLY_TIERS):
            paper = None  # a page about a paper is not the paper: never show its facts as the paper's
        if paper:
            name, value = paper_field(paper)
            embed.add_field(name=name, value=value, inline=False)
        relevant = await self._relevant_in_source(cleaned, source)
        for name, value in pack_rows("Most relevant facts", [fact_row(f, 220) for f in relevant])[:2]:
            embed.add_field(name=name, value=value, inline=False)
        return Reply([embed], ephemeral=private)

    async def _best_source(self, query: str) -> SourceRecord | None:
        words = [w for w in tokenize(query) if w not in STOPWORDS]
        phrases = [p for p in (fts_phrase(w) for w in words) if p]
        if phrases:
            found = await self.store.search_sources(" OR ".join(phrases), 10)
            if found:
                return max(found, key=lambda s: (fuzz.token_set_ratio(query.lower(), s.title.lower()), s.fact_count))
        sources = await self._top_sources()
        best = process.extractOne(query, [s.title for s in sources], scorer=fuzz.WRatio, score_cutoff=80)
        return sources[best[2]] if best else None

    async def _paper_for(self, text: str) -> PaperRecord | None:
        return match_paper(await self.store.papers(), text)

    async def _relevant_in_source(self, query: str, source: SourceRecord) -> list[FactRecord]:
        result = await self.searcher.search(query, limit=200)
        relevant = [h.fact for h in result.hits if h.fact.source.id == source.id][:3]
        if len(relevant) < 3:
            seen = {f.id for f in relevant}
            relevant += [f for f in (await self.store.facts_of_source(source.id))[:6] if f.id not in seen][
                : 3 - len(relevant)
            ]
        return relevant

    async def _paper_card(self, paper: PaperRecord, query: str, private: bool) -> Reply:
        embed = answer_embed(paper.title, escape(paper.summary) or None)
        if paper.doi_url:
            embed.url = paper.doi_url
        name, value = paper_field(paper)
        embed.add_field(name=name, value=value, inline=False)
        own = await own_facts(self.store, paper)
        if own:
            tier = own[0].source.tier
            embed.add_field(
                name=f"Tier: {tier.tag}",
                value=f"{escape(tier.meaning)}\n{len(own)} facts: its own summary and abstract sentences.",
                inline=False,
            )
        citing = await citing_facts(self.store, paper, large=self._large, exclude={f.id for f in own})
        lines = [fact_row(f, 220) for f in citing][:4]
        for name, value in pack_rows("Facts that cite it (each from the source named on it)", lines)[:2]:
            embed.add_field(name=name, value=value, inline=False)
        return Reply([embed], ephemeral=private)

    async def autocomplete_source(self, current: str) -> list[Choice]:
        text = normalize(current).lower()
        titles = list(
            dict.fromkeys([s.title for s in await self._top_sources()] + [p.title for p in await self.store.papers()])
        )
        if text:
            ranked = process.extract(text, titles, scorer=fuzz.WRatio, limit=CHOICES, score_cutoff=40)
            titles = [t for t, _, _ in ranked]
        return [Choice(clip(t, CHOICE_TEXT), clip(t, CHOICE_TEXT)) for t in titles[:CHOICES]]
