"""`/fact`: the best facts for a query, one fact by id, and autocomplete while typing."""

from __future__ import annotations

import re

from bot.answers.base import MAX_RESULTS, PAGE_SIZE, AnswerBase, Choice, FactPage
from bot.answers.render import (
    TYPE_BADGES,
    answer_embed,
    escape,
    fact_field,
    fact_row,
    message_reply,
    pack_rows,
    source_line,
)
from bot.answers.reply import CHOICE_TEXT, CHOICES, Reply, clip
from bot.answers.safety import mentions_crisis
from bot.search.result import SearchResult
from bot.search.text import normalize, tokenize

FACT_ID = re.compile(r"^(?:id:)?\s*([a-z]-[0-9a-f]{6,40})$", re.IGNORECASE)
# The query as the answer's title shows it, whole up to this length (Discord's title limit is 256):
# the ◀ ▶ buttons read a long query back from there (`bot.discord.views.PageButton`).
TITLE_QUERY_CHARS = 240
_TITLE = re.compile(r"Facts for “(.*)”", re.DOTALL)


def fact_title(query: str) -> str:
    return f"Facts for “{clip(query, TITLE_QUERY_CHARS)}”"


def query_in_title(title: str | None) -> str | None:
    """The query a `/fact` answer's title shows (cut with … when it was longer), or None."""
    match = _TITLE.fullmatch(title or "")
    return match.group(1) if match else None


class FactAnswers(AnswerBase):
    """`/fact` answers."""

    async def fact(self, query: str, *, page: int = 0, private: bool = False) -> tuple[Reply, FactPage | None]:
        """Best facts for `query`, five a page, with what search did to the query."""
        cleaned = normalize(query)
        if FACT_ID.match(cleaned):
            return await self.fact_by_id(cleaned, private=private), None
        if not tokenize(cleaned):
            return message_reply(
                "Nothing to search for", "Type a few words, e.g. `/fact query: benzos and ketamine`."
            ), None
        result = await self.searcher.search(cleaned, limit=MAX_RESULTS)
        crisis = mentions_crisis(query)
        if not result.hits:
            reply = self.no_match(result)
            reply.crisis = crisis
            # A public question gets a public "no match" (what the asker chose), so it may be counted
            # as a miss; only text answered publicly is ever counted (see `cogs.common.record_query`).
            reply.ephemeral = private
            reply.searched = cleaned
            return reply, None
        pages = (len(result.hits) + PAGE_SIZE - 1) // PAGE_SIZE
        page = max(0, min(page, pages - 1))
        shown = result.hits[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        embed = answer_embed(fact_title(cleaned), self._search_note(result))
        for rank, hit in enumerate(shown, page * PAGE_SIZE + 1):
            name, value = fact_field(hit.fact, rank)
            embed.add_field(name=name, value=value, inline=False)
        embed.set_footer(text=f"Page {page + 1}/{pages} · {len(result.hits)} facts")
        reply = Reply([embed], ephemeral=private, crisis=crisis, searched=cleaned)
        return reply, FactPage(cleaned, page, pages, [h.fact.id for h in shown])

    def _search_note(self, result: SearchResult) -> str | None:
        """What search did and found: the question it read, real rewrites, and an honest verdict first."""
        notes = []
        if not result.answered:
            missing = ", ".join(f"**{escape(w)}**" for w in result.not_covered[:3])
            notes.append(
                f"The store has nothing on {missing}. Closest facts, which do not answer it:"
                if missing
                else "The store does not answer this directly. Closest facts:"
            )
        if result.focus:
            notes.append(f"Searched for the question: “{escape(clip(result.focus, 200))}”")
        if result.rewritten:
            notes.append(f"Showing results for **{escape(result.rewritten)}**")
        return "\n".join(notes) or None

    def no_match(self, result: SearchResult) -> Reply:
        text = f"No fact matches “{escape(clip(result.query, 200))}”."
        if result.suggestions:
            text += "\nDid you mean: " + ", ".join(f"**{escape(s)}**" for s in result.suggestions) + "?"
        text += "\nTry fewer or more common words, a substance name, or `/source` for a paper."
        return message_reply("No matching facts", text)

    async def fact_by_id(self, fact_id: str, *, private: bool = False) -> Reply:
        """One fact in full, its source, and the facts cited next to it in the concept overview."""
        match = FACT_ID.match(normalize(fact_id))
        fact = await self.store.fact(match.group(1)) if match else None
        if fact is None:
            near = await self.store.fact_ids_like(normalize(fact_id).lower()[:4], limit=5) if fact_id.strip() else []
            hint = f"\nDid you mean: {', '.join(f'`{i}`' for i in near)}?" if near else ""
            return message_reply("Unknown fact id", f"No fact has the id `{escape(clip(fact_id, 60))}`.{hint}")
        embed = answer_embed(f"{TYPE_BADGES.get(fact.type, fact.type)} · {fact.id}", escape(fact.text))
        embed.add_field(name="Source", value=source_line(fact.source), inline=False)
        embed.add_field(name="Concept", value=escape(fact.concept), inline=True)
        embed.add_field(
            name="Position", value=f"fact {fact.position} of {fact.source.fact_count} in this source", inline=True
        )
        neighbour_ids = (await self.store.citing_neighbours(fact.id))[:5]
        neighbours = await self.store.facts(neighbour_ids)
        if neighbours:
            rows = [fact_row(neighbours[i], 180) for i in neighbour_ids if i in neighbours]
            for name, value in pack_rows("Cited next to it in the overview", rows)[:2]:
                embed.add_field(name=name, value=value, inline=False)
        return Reply([embed], ephemeral=private, fact_ids=[fact.id])

    async def autocomplete_fact(self, current: str) -> list[Choice]:
        """Up to 25 choices while typing: completed query words first, then matching facts (by id)."""
        text = normalize(current)
        words = tokenize(text)
        if not words:
            names = await self.store.concept_names()
            examples = [*names, *(p.name for p in await self._all_protocols())]
            return [Choice(clip(e, CHOICE_TEXT), clip(e, CHOICE_TEXT)) for e in examples][:CHOICES]
        choices: list[Choice] = []
        if not text.endswith(" ") and len(words[-1]) >= 2:
            completed = self.searcher.complete_word(words[-1])
            if completed and completed != words[-1]:
                suggestion = " ".join([*words[:-1], completed])
                choices.append(Choice(clip(suggestion, CHOICE_TEXT), clip(suggestion, CHOICE_TEXT)))
                words = [*words[:-1], completed]
        # words only: a keystroke must not wait for the sentence model
        result = await self.searcher.search(" ".join(words), limit=CHOICES - len(choices), semantic=False)
        for hit in result.hits:
            choices.append(Choice(clip(f"{hit.fact.id} · {hit.fact.text}", CHOICE_TEXT), hit.fact.id))
        return choices[:CHOICES]
