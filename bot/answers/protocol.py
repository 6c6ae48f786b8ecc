"""`/protocol`: a protocol as the literature describes it, stage by stage, every line sourced."""

from __future__ import annotations

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
from bot.facts.models import FactRecord, ProtocolRecord
from bot.search.text import fts_phrase, normalize

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


class ProtocolAnswers(AnswerBase):
    """`/protocol` answers."""

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
            match = in_text(f"({scope}) AND ({selectors})")
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
