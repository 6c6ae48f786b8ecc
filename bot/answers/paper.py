"""A known paper: finding it (title, match phrase, DOI or link), the facts that cite it, and the forum
thread `/summary source:` posts for it, the way members post a paper in the forum.

The thread holds the paper's metadata, **its own summary and abstract sentences** (facts of its
imported card, tier paper), and then, apart and each with its own source and tier, the store's
other facts that cite it: a clinic page quoting a paper is never shown as the paper.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import discord
from rapidfuzz import fuzz

from bot.answers.base import in_text
from bot.answers.render import answer_embed, escape, fact_row, pack_rows
from bot.answers.reply import Reply, clip
from bot.answers.summary import group_into_messages
from bot.facts.models import FactRecord, PaperRecord
from bot.facts.store import FactStore
from bot.search.text import STOPWORDS, fts_phrase, stems_of

THREAD_NAME = 100  # Discord's limit on a thread's name
MAX_TAGS = 5  # Discord's limit on a forum post's applied tags
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+")
_OWN_SECTIONS = ("Summary", "Abstract")


def doi_in(text: str) -> str | None:
    """The DOI a text names (`10.1177/0269…`, also inside a doi.org or journal link), lower case."""
    found = _DOI.search(text)
    return found[0].rstrip(".,;)]").lower() if found else None


def match_paper(papers: Sequence[PaperRecord], text: str) -> PaperRecord | None:
    """The paper a text names: by DOI first, then a `match` phrase, then a near-exact title."""
    doi = doi_in(text)
    if doi:
        found = next((p for p in papers if p.doi and p.doi.lower() == doi), None)
        if found:
            return found
    lowered = text.lower()
    for paper in papers:
        if any(m.lower() in lowered for m in paper.match) or fuzz.token_set_ratio(lowered, paper.title.lower()) >= 90:
            return paper
    return None


def thread_title(paper: PaperRecord) -> str:
    """`<paper title> (<first author> et al., <year>)`, within Discord's 100 characters."""
    names = [a for a in paper.authors if a.strip().lower() not in ("et al.", "et al")]
    surnames = [_surname(a) for a in names]
    if not surnames:
        who = ""
    elif len(paper.authors) == 1:
        who = surnames[0]
    elif len(paper.authors) == 2:
        who = f"{surnames[0]} and {surnames[1]}"
    else:
        who = f"{surnames[0]} et al."
    cite = ", ".join(p for p in (who, str(paper.year) if paper.year else "") if p)
    suffix = f" ({cite})" if cite else ""
    return clip(paper.title, THREAD_NAME - len(suffix)) + suffix


def _surname(author: str) -> str:
    """`Marguilho, M.` and `Miriam Marguilho` are both Marguilho."""
    author = author.strip()
    return author.split(",", 1)[0].strip() if "," in author else author.split()[-1]


def matching_tags(tag_names: Sequence[str], topics: Sequence[str]) -> list[int]:
    """Indexes of the forum tags that name one of the paper's topics (by word stems: the tag
    "Depression" matches the topic "Depressive Disorders"), at most Discord's five."""
    topic_stems = [{s for s in stems_of(t) if s not in STOPWORDS} for t in topics]
    chosen = []
    for index, name in enumerate(tag_names):
        stems = {s for s in stems_of(name) if s not in STOPWORDS}
        if stems and any(stems <= topic or (topic and topic <= stems) for topic in topic_stems):
            chosen.append(index)
    return chosen[:MAX_TAGS]


async def own_facts(store: FactStore, paper: PaperRecord) -> list[FactRecord]:
    """The paper's own sentences: the facts of its imported card (none when it has no card)."""
    return await store.facts_of_source(paper.source_id) if paper.source_id is not None else []


async def citing_facts(
    store: FactStore, paper: PaperRecord, *, large: bool, exclude: set[str], limit: int = 5
) -> list[FactRecord]:
    """Facts of other sources that name the paper, higher tiers first (then as ranked)."""
    found: dict[str, FactRecord] = {}
    for phrase in [*paper.match, *([paper.doi] if paper.doi else [])]:
        expression = fts_phrase(phrase)
        if not expression:
            continue
        match = in_text(expression)
        if large:  # bm25 of a long title phrase walks all its words' documents first
            rowids = await store.unranked_candidates(match, limit)
        else:
            rowids = [r for r, _ in await store.ranked_candidates(match, limit)]
        by_rowid = await store.facts_by_rowid(rowids)
        for rowid in rowids:
            fact = by_rowid.get(rowid)
            if fact is not None and fact.id not in exclude:
                found.setdefault(fact.id, fact)
    ranked = sorted(enumerate(found.values()), key=lambda pair: (-pair[1].source.tier.rank, pair[0]))
    return [fact for _, fact in ranked][:limit]


@dataclass
class PaperThread:
    """What `/summary source:` posts: a thread title, its messages and the topics its tags come from."""

    paper: PaperRecord
    title: str
    messages: list[Reply]

    @property
    def topics(self) -> tuple[str, ...]:
        return self.paper.tags


async def paper_thread(store: FactStore, paper: PaperRecord, *, large: bool = False) -> PaperThread:
    title = thread_title(paper)
    own = await own_facts(store, paper)
    head = [escape(", ".join(paper.authors)) if paper.authors else "Authors not recorded"]
    head.append(f"*{escape(paper.journal)}*" + (f", {paper.year}" if paper.year else ""))
    if paper.doi_url:
        head.append(f"DOI: [{paper.doi}]({paper.doi_url})")
    if paper.tags:
        head.append("Topics: " + ", ".join(escape(t) for t in paper.tags))
    embed = answer_embed(title, "\n".join(head))
    if paper.doi_url:
        embed.url = paper.doi_url
    embeds = [embed]
    if own:
        tier = own[0].source.tier
        embed.add_field(name=f"Source: {tier.tag}", value=escape(tier.meaning), inline=False)
        for section in _OWN_SECTIONS:
            rows = [fact_row(f, 400) for f in own if f.section == section]
            for name, value in pack_rows(f"The paper's {section.lower()}", rows):
                embed.add_field(name=name, value=value, inline=False)
    elif paper.summary:
        embed.add_field(
            name="Summary (from the bot's paper list; no card of the paper is imported)",
            value=clip(escape(paper.summary), 1000),
            inline=False,
        )
    citing = await citing_facts(store, paper, large=large, exclude={f.id for f in own})
    if citing:
        other = answer_embed(
            "What other sources in the store say about it",
            "Each line is a fact of the source named on it, not of the paper.",
        )
        other.colour = discord.Colour(0x4A5568)
        for name, value in pack_rows("Facts that cite it", [fact_row(f, 300) for f in citing]):
            other.add_field(name=name, value=value, inline=False)
        embeds.append(other)
    replies = [Reply(group, ephemeral=False, fact_ids=[]) for group in group_into_messages(embeds)]
    return PaperThread(paper, title, replies)
