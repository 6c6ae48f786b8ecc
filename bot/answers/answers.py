"""The answers behind every command: search and the store in, a `Reply` out.

Cogs, buttons and the offline console call these methods and nothing else, so an answer is
assembled exactly one way. Nothing here knows about interactions; views get attached by
`bot.discord.views` from the plain data each answer carries (`Reply.view` is set only there).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.facts.models import FactRecord, PaperRecord, ProtocolRecord, SourceRecord
from bot.answers.render import (
    TYPE_BADGES,
    answer_embed,
    escape,
    fact_field,
    fact_row,
    message_reply,
    pack_rows,
    paper_field,
    source_line,
)
from bot.answers.reply import CHOICE_TEXT, CHOICES, Reply, clip
from bot.answers.safety import mentions_crisis
from bot.search.searcher import (
    SMALL_STORE,
    STOPWORDS,
    Searcher,
    SearchResult,
    fts_phrase,
    fts_tokens,
    normalize,
    stem,
    tokenize,
)

PAGE_SIZE = 5
MAX_RESULTS = 25
COMPARE_FACTS = 120
PROTOCOL_CANDIDATES = 60
PROTOCOL_LINES_PER_STAGE = 4
STAGE_TITLES = {
    "eligibility": "1 · Who it is for, who is excluded",
    "preparation": "2 · Preparation",
    "course": "3 · Course and schedule",
    "session": "4 · The session itself",
    "aftercare": "5 · After-care and maintenance",
}
PROTOCOL_DISCLAIMER = (
    "This describes what the studies and clinics in the sources did. It is not a dosing instruction "
    "and not what anyone should take."
)
FACT_ID = re.compile(r"^(?:id:)?\s*([a-z]-[0-9a-f]{6,40})$", re.IGNORECASE)
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

MissRecorder = Callable[[str, bool], Awaitable[None]]


@dataclass
class FactPage:
    """What the pager needs to show another page of the same `/fact` answer."""

    query: str
    page: int
    pages: int
    fact_ids: list[str] = field(default_factory=list)


@dataclass
class Choice:
    """An autocomplete choice; both parts at most 100 characters (Discord's rule)."""

    name: str
    value: str


class Answers:
    """Every command's answer, built from one open store."""

    def __init__(self, searcher: Searcher, on_query: MissRecorder | None = None) -> None:
        self.searcher = searcher
        self.store = searcher.store
        self.on_query = on_query
        # Protocols and the facts of their stages are static data of the open store (a rebuild
        # opens a new store and a new `Answers`), so each is worked out once, not per request.
        self._protocols: list[ProtocolRecord] | None = None
        self._protocol_stages: dict[str, dict[str, list[FactRecord]]] = {}
        self._sources: list[SourceRecord] | None = None

    @property
    def _large(self) -> bool:
        """Whether ranking every FTS5 match is too costly here (see `bot.search.SMALL_STORE`)."""
        return self.store.fact_count > SMALL_STORE

    async def _top_sources(self) -> list[SourceRecord]:
        """The 2 000 largest sources, the pool fuzzy title matching chooses from.

        Read once per store: it is re-read on every keystroke of `/source` autocomplete otherwise
        (a join, a sort and 2 000 JSON author lists: 15 ms at a million facts).
        """
        if self._sources is None:
            self._sources = await self.store.sources(limit=2000)
        return self._sources

    async def _all_protocols(self) -> list[ProtocolRecord]:
        if self._protocols is None:
            self._protocols = await self.store.protocols()
        return self._protocols

    # --- /fact ---------------------------------------------------------------------------------

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
        if self.on_query:
            await self.on_query(cleaned, bool(result.hits))
        crisis = mentions_crisis(query)
        if not result.hits:
            reply = self.no_match(result)
            reply.crisis = crisis
            return reply, None
        pages = (len(result.hits) + PAGE_SIZE - 1) // PAGE_SIZE
        page = max(0, min(page, pages - 1))
        shown = result.hits[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        embed = answer_embed(f"Facts for “{clip(cleaned, 200)}”", self._search_note(result))
        for rank, hit in enumerate(shown, page * PAGE_SIZE + 1):
            name, value = fact_field(hit.fact, rank)
            embed.add_field(name=name, value=value, inline=False)
        embed.set_footer(text=f"Page {page + 1}/{pages} · {len(result.hits)} facts")
        reply = Reply([embed], ephemeral=private, crisis=crisis)
        return reply, FactPage(cleaned, page, pages, [h.fact.id for h in shown])

    def _search_note(self, result: SearchResult) -> str | None:
        notes = []
        if result.rewritten:
            notes.append(f"Showing results for **{escape(result.rewritten)}**")
        if result.unknown:
            notes.append("No fact mentions: " + ", ".join(f"“{escape(w)}”" for w in result.unknown[:5]))
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
        result = await self.searcher.search(" ".join(words), limit=CHOICES - len(choices))
        for hit in result.hits:
            choices.append(Choice(clip(f"{hit.fact.id} · {hit.fact.text}", CHOICE_TEXT), hit.fact.id))
        return choices[:CHOICES]

    # --- /source -------------------------------------------------------------------------------

    async def source(self, query: str, *, private: bool = False) -> Reply:
        """A source card: where it is from, what it holds, and its facts most relevant to the query."""
        cleaned = normalize(query)
        if not tokenize(cleaned):
            return message_reply("Nothing to search for", "Type part of a title, e.g. `/source query: montreal model`.")
        paper = await self._paper_for(cleaned)
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
        if source is None:
            assert paper is not None
            return await self._paper_card(paper, cleaned, private)
        mix = await self.store.source_type_mix(source.id)
        embed = answer_embed(source.title)
        embed.url = source.url
        embed.add_field(name="Site", value=f"[{source.domain}]({source.url})", inline=True)
        embed.add_field(name="Publisher", value=escape(source.publisher) or "—", inline=True)
        embed.add_field(name="Date", value=source.date or "not given", inline=True)
        if source.authors:
            embed.add_field(name="Authors", value=escape(", ".join(source.authors)), inline=False)
        embed.add_field(
            name=f"{source.fact_count} facts",
            value=", ".join(f"{n} {t}" for t, n in mix.items()) or "—",
            inline=False,
        )
        paper = paper or await self._paper_for(source.title)
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
                return max(found, key=lambda s: (fuzz.token_set_ratio(query, s.title), s.fact_count))
        sources = await self._top_sources()
        best = process.extractOne(query, [s.title for s in sources], scorer=fuzz.WRatio, score_cutoff=80)
        return sources[best[2]] if best else None

    async def _paper_for(self, text: str) -> PaperRecord | None:
        lowered = text.lower()
        for paper in await self.store.papers():
            if (
                any(m.lower() in lowered for m in paper.match)
                or fuzz.token_set_ratio(lowered, paper.title.lower()) >= 90
            ):
                return paper
        return None

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
        mentions: list[FactRecord] = []
        for phrase in paper.match:
            expression = fts_phrase(phrase)
            if expression:
                match = _in_text(expression)
                if self._large:  # bm25 of a long title phrase walks all its words' documents first
                    rowids = await self.store.unranked_candidates(match, 5)
                else:
                    rowids = [r for r, _ in await self.store.ranked_candidates(match, 5)]
                mentions += (await self.store.facts_by_rowid(rowids)).values()
        lines = [fact_row(f, 220) for f in {f.id: f for f in mentions}.values()][:4]
        for name, value in pack_rows("Facts that cite it", lines)[:2]:
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

    # --- /protocol -----------------------------------------------------------------------------

    async def find_protocol(self, name: str) -> tuple[ProtocolRecord | None, list[ProtocolRecord]]:
        protocols = await self._all_protocols()
        wanted = normalize(name).lower()
        for proto in protocols:
            if wanted in (proto.key, proto.name.lower(), *[a.lower() for a in proto.aliases]):
                return proto, protocols
        keys = {f"{p.name} {' '.join(p.aliases)}": p for p in protocols}
        best = process.extractOne(wanted, list(keys), scorer=fuzz.WRatio, score_cutoff=75) if wanted else None
        return (keys[best[0]] if best else None), protocols

    async def protocol(self, name: str, *, private: bool = False) -> Reply:
        """A protocol as the literature describes it, stage by stage, every line sourced."""
        proto, protocols = await self.find_protocol(name)
        if proto is None:
            listing = "\n".join(f"• **{escape(p.name)}** — `{p.key}`" for p in protocols)
            return message_reply(
                "Unknown protocol", f"No protocol is called “{escape(clip(name, 100))}”. Known protocols:\n{listing}"
            )
        stages = await self.protocol_facts(proto)
        embed = answer_embed(proto.name, f"{escape(proto.description)}\n\n⚠️ {PROTOCOL_DISCLAIMER}")
        for stage, facts in stages.items():
            rows = [fact_row(f, 330) for f in facts]
            for title, value in pack_rows(STAGE_TITLES[stage], rows)[:2]:
                embed.add_field(name=title, value=value, inline=False)
        if not stages:
            embed.add_field(
                name="No facts yet", value="The fact store holds no facts for this protocol's stages.", inline=False
            )
        return Reply([embed], ephemeral=private)

    async def protocol_facts(self, proto: ProtocolRecord) -> dict[str, list[FactRecord]]:
        """Facts per stage: each matches the protocol's scope and the stage; each used once, in file order.

        Worked out once per protocol and open store. Callers get fresh lists (the records are frozen).
        """
        if proto.key not in self._protocol_stages:
            self._protocol_stages[proto.key] = await self._select_protocol_facts(proto)
        return {stage: list(facts) for stage, facts in self._protocol_stages[proto.key].items()}

    async def _select_protocol_facts(self, proto: ProtocolRecord) -> dict[str, list[FactRecord]]:
        """The selection itself. Small stores rank each stage's matches by BM25; large ones take the
        first matches unranked, because bm25 over a common scope word ("montreal" is in a quarter of
        a million facts) costs 30–180 ms per stage there."""
        scope = " OR ".join(p for p in (fts_phrase(s) for s in proto.scope) if p)
        used: set[str] = set()
        stages: dict[str, list[FactRecord]] = {}
        pinned = await self.store.facts(list(proto.fact_ids))
        for stage in proto.stages:
            selectors = " OR ".join(p for p in (fts_phrase(s) for s in stage.selectors) if p)
            if not scope or not selectors:
                continue
            match = _in_text(f"({scope}) AND ({selectors})")
            if self._large:
                rowids = await self.store.unranked_candidates(match, PROTOCOL_CANDIDATES)
            else:
                rowids = [r for r, _ in await self.store.ranked_candidates(match, PROTOCOL_CANDIDATES)]
            facts = await self.store.facts_by_rowid(rowids)
            ranked = [
                facts[r] for r in rowids if r in facts and facts[r].type in proto.types and facts[r].id not in used
            ]
            ranked.sort(key=lambda f: f.type not in ("procedure", "measurement"))  # stable: keeps BM25 order
            chosen = sorted(ranked[:PROTOCOL_LINES_PER_STAGE], key=lambda f: (f.source.id, f.position))
            used.update(f.id for f in chosen)
            if chosen:
                stages[stage.key] = chosen
        extra = [f for f in pinned.values() if f.id not in used]
        if extra:
            stages.setdefault("course", []).extend(extra)
        return stages

    async def autocomplete_protocol(self, current: str) -> list[Choice]:
        protocols = list(await self._all_protocols())
        text = normalize(current).lower()
        if text:
            scored = sorted(
                protocols,
                key=lambda p: -max(fuzz.WRatio(text, s.lower()) for s in (p.name, p.key, *p.aliases)),
            )
            protocols = scored
        return [Choice(clip(p.name, CHOICE_TEXT), p.key) for p in protocols][:CHOICES]

    # --- /compare ------------------------------------------------------------------------------

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
            n for n, e in ((name_a, expr_a), (name_b, expr_b)) if not e or not await self.store.matches_any(_in_text(e))
        ]
        if unknown:
            return message_reply(
                "Nothing to compare",
                "No fact mentions " + " or ".join(f"**{escape(u)}**" for u in unknown) + ". "
                "Substances the store knows include: " + ", ".join(await self._known_substances()) + ".",
            )
        rowids, home = await self._co_mentions(_in_text(f"{expr_a} AND {expr_b}"), [*terms_a, *terms_b])
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
            marked.sort(key=lambda mf: (mf[1].rowid not in home, mf[0] != "≈", mf[1].source.id, mf[1].position))
            for name, value in pack_rows(title, [fact_row(f, 240, marker) for marker, f in marked[:4]])[:1]:
                embed.add_field(name=name, value=value, inline=False)
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

    # --- helpers shared by moderator features ---------------------------------------------------

    async def related_facts(self, text: str, limit: int = 3) -> SearchResult:
        """Facts that best relate to free text (a message, a forum post)."""
        return await self.searcher.search(text, limit=limit)

    def facts_reply(
        self, title: str, facts: Sequence[FactRecord], note: str | None = None, *, private: bool = True
    ) -> Reply:
        embed = answer_embed(title, note)
        for rank, fact in enumerate(facts[:PAGE_SIZE], 1):
            name, value = fact_field(fact, rank, text_limit=600)
            embed.add_field(name=name, value=value, inline=False)
        return Reply([embed], ephemeral=private, fact_ids=[f.id for f in facts[:PAGE_SIZE]])


def _content_words(name: str) -> list[str]:
    return [w for w in tokenize(name) if w not in STOPWORDS]


def _in_text(expression: str) -> str:
    """Restrict an FTS5 expression to the fact text (not the source title column)."""
    return f"{{text}} : ({expression})"


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


def choices_json(choices: Sequence[Choice]) -> list[dict[str, str]]:
    return [{"name": c.name, "value": c.value} for c in choices]
