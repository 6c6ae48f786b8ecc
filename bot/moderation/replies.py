"""Answers for moderators and operators: summaries, auto-replies, reports, stats, /about.

Like `bot.answers.answers`, everything here returns `Reply` objects, so the cogs and the offline console
render them the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import discord

from bot import __version__
from bot.answers.answers import Answers
from bot.answers.paper import PaperThread, match_paper, paper_thread
from bot.answers.render import answer_embed, escape, fact_field, message_reply, pack_rows
from bot.answers.reply import Reply, clip
from bot.answers.safety import mentions_crisis
from bot.answers.summary import build_summary, summary_replies
from bot.facts.store import FactStore
from bot.moderation.state import ASKER_KEY_DAYS, MIN_ASKERS, ModerationStore, Report, Stats
from bot.search.result import SearchResult


async def summary_messages(store: FactStore, concept_name: str, *, perspectives: bool = False) -> list[Reply] | None:
    """The messages `/summary` posts for a concept, or None when there is no such concept."""
    concept = await store.concept(concept_name)
    if concept is None:
        return None
    cited = [c.fact_id for c in concept.citations]
    if perspectives:
        cited += [c.fact_id for c in concept.perspective_citations]
    facts = await store.facts(cited)
    return summary_replies(build_summary(concept, facts, perspectives=perspectives))


async def paper_thread_for(answers: Answers, query: str) -> PaperThread | None:
    """The thread `/summary source:` posts for the paper a title, DOI or link names (None: no such paper)."""
    paper = match_paper(await answers.store.papers(), query)
    if paper is None:
        return None
    return await paper_thread(answers.store, paper, large=answers._large)


def unknown_paper(query: str, known: Sequence[str]) -> Reply:
    return message_reply(
        "Unknown paper",
        f"No known paper matches “{escape(clip(query, 120))}” (by title, DOI or link). Known: "
        + "; ".join(f"**{escape(clip(k, 90))}**" for k in known[:10]),
    )


def unknown_concept(name: str, known: Sequence[str]) -> Reply:
    return message_reply(
        "Unknown concept",
        f"There is no concept page called “{escape(clip(name, 80))}”. Known: "
        + ", ".join(f"**{escape(k)}**" for k in known),
    )


async def find_sources(answers: Answers, text: str) -> Reply:
    """The facts that best relate to a message, privately, with Share and Report buttons."""
    if not text.strip():
        return message_reply("Nothing to look up", "That message has no text to find sources for.")
    result = await answers.related_facts(text, limit=3)
    if not result.hits:
        return answers.no_match(result)
    title = "Facts related to this message" if result.answered else "Near misses: the store does not answer this"
    reply = answers.facts_reply(title, [h.fact for h in result.hits], _note(result))
    reply.crisis = mentions_crisis(text)
    reply.shareable = True
    return reply


def _note(result: SearchResult) -> str | None:
    notes = []
    if not result.answered and result.not_covered:
        notes.append("Nothing in the store on " + ", ".join(f"**{escape(w)}**" for w in result.not_covered[:3]) + ".")
    searched = result.rewritten or result.focus
    if searched:
        notes.append(f"Searched for: **{escape(clip(searched, 300))}**")
    return "\n".join(notes) or None


AUTOREPLY_POOL = 5  # the best this many are weighed; at most 3 are posted, higher tiers first
AUTOREPLY_SIMILARITY = 0.5  # a fact this close in meaning to the post is shown even with few shared words


async def autoreply(answers: Answers, title: str, body: str, threshold: float) -> Reply | None:
    """What the bot posts under a new forum post: only the facts above the relevance threshold."""
    text = f"{title}\n{body}".strip()
    result = await answers.related_facts(body, limit=AUTOREPLY_POOL, subject=title)
    if not result.answered:
        return None  # never post a near miss under someone's question
    strong = [h for h in result.hits if h.coverage >= threshold or h.similarity >= AUTOREPLY_SIMILARITY]
    if not strong:
        return None
    # Higher tiers first among the facts that clear the bar: a paper's fact before a clinic page's.
    strong = [h for _, h in sorted(enumerate(strong), key=lambda p: (-p[1].fact.source.tier.rank, p[0]))][:3]
    embed = answer_embed(
        "Sourced facts that may help", "Found automatically for this post; moderators can turn this off."
    )
    for rank, hit in enumerate(strong, 1):
        name, value = fact_field(hit.fact, rank, text_limit=500)
        embed.add_field(name=name, value=value, inline=False)
    return Reply([embed], crisis=mentions_crisis(text), fact_ids=[h.fact.id for h in strong])


def reports_reply(reports: Sequence[Report], status: str) -> Reply:
    """One guild's reports (the caller asks the store for the moderator's own guild only)."""
    if not reports:
        return message_reply("No reports", f"There are no {status} reports.")
    rows = [
        f"**#{r.number}** `{r.fact_id}` · {r.status} · <t:{int(r.created_at)}:R>\n{escape(clip(r.reason, 200))}"
        + (f"\nSource: {escape(clip(r.suggested_source, 120))}" if r.suggested_source else "")
        + (f"\nResolution: {escape(clip(r.resolution, 120))}" if r.resolution else "")
        for r in reports
    ]
    embed = answer_embed(
        f"{status.capitalize()} reports", "Resolve one with `/reports resolve:<number> note:<what you did>`."
    )
    for name, value in pack_rows("Reports", rows)[:5]:
        embed.add_field(name=name, value=value, inline=False)
    return Reply([embed], ephemeral=True)


def stats_reply(stats: Stats, started_at: float, retention_days: int) -> Reply:
    """One guild's statistics, with the rule that decides which query texts are shown."""
    embed = answer_embed(
        "Bot statistics",
        f"Uptime {format_duration(time.time() - started_at)} · {stats.queries_total} queries counted in this "
        f"server in the last {retention_days} days",
    )
    embed.add_field(name="Top queries", value=_ranked(stats.top_queries), inline=True)
    embed.add_field(name="Top misses (make them aliases)", value=_ranked(stats.top_misses), inline=True)
    embed.add_field(
        name="Reports", value=f"{stats.reports_open} open · {stats.reports_resolved} resolved", inline=False
    )
    hidden = f" ({stats.queries_hidden} not shown yet)" if stats.queries_hidden else ""
    embed.add_field(
        name="What is counted",
        value=f"Only public `/fact` questions asked in this server; `private:true` questions, Find sources and "
        f"other private answers are never stored. A question is listed once at least {MIN_ASKERS} different "
        f"members asked it{hidden}; who asked is kept only as a keyed hash that changes every {ASKER_KEY_DAYS} "
        f"days, never as a user id. Everything is deleted after {retention_days} days.",
        inline=False,
    )
    return Reply([embed], ephemeral=True)


def _ranked(rows: Sequence[tuple[str, int]]) -> str:
    return "\n".join(f"{n}× {escape(clip(q, 60))}" for q, n in rows) or "—"


async def about_reply(store: FactStore, started_at: float, latency_ms: float | None, shard: str) -> Reply:
    counts = await store.counts()
    embed = answer_embed("About this bot", "Answers from a curated fact store, with a source on every line.")
    embed.add_field(name="Version", value=__version__, inline=True)
    embed.add_field(
        name="Data",
        value=f"hash `{store.meta.get('data_hash', '?')}`\nbuilt {store.meta.get('built_at', '?')}",
        inline=True,
    )
    embed.add_field(
        name="Store",
        value=f"{counts['facts']} facts · {counts['sources']} sources · {counts['concepts']} concepts",
        inline=False,
    )
    embed.add_field(name="Uptime", value=format_duration(time.time() - started_at), inline=True)
    embed.add_field(
        name="Gateway latency", value=f"{latency_ms:.0f} ms" if latency_ms is not None else "—", inline=True
    )
    embed.add_field(name="Shard", value=shard, inline=True)
    return Reply([embed], ephemeral=True)


def format_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours}h {minutes}m {secs}s"


async def autoreply_status(moderation: ModerationStore, guild_id: int, mention: dict[int, str]) -> Reply:
    channels = await moderation.autoreply_channels(guild_id)
    listing = "\n".join(f"• {mention.get(c, f'channel {c}')}" for c in channels) or "No forum has auto-replies enabled."
    return Reply([answer_embed("Auto-replies", listing)], ephemeral=True)


def confirmation(title: str, text: str) -> Reply:
    return Reply([discord.Embed(title=title, description=text, colour=discord.Colour.green())], ephemeral=True)
