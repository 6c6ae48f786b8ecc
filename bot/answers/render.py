"""Turning records into embeds: one look for facts and sources everywhere in the bot.

Every line that states something carries its fact id and its source; texts are cut with an
ellipsis and the fact id (so the full text is one `/fact id:` away) instead of failing a limit.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.answers.reply import COLOUR_ANSWER, COLOUR_ERROR, COLOUR_WARNING, FIELD_VALUE, Reply, clip
from bot.facts.models import FactRecord, PaperRecord, SourceRecord

TYPE_BADGES = {
    "claim": "💬 claim",
    "measurement": "📏 measurement",
    "procedure": "📋 procedure",
    "reference": "📚 reference",
    "account": "🗣️ account",
    "perspective": "🧭 perspective",
}


def escape(text: str) -> str:
    """Markdown-escaped text that also cannot form a mention (mentions are disabled anyway)."""
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def source_line(source: SourceRecord, *, link: bool = True) -> str:
    """`[Title](https://site) · Publisher · Date · 📄 Peer-reviewed paper` — the attribution under every fact."""
    title = escape(source.title)
    head = f"[{title}]({source.url})" if link and source.url else title
    parts = [head]
    if source.authors:
        names = ", ".join(source.authors[:3]) + (" et al." if len(source.authors) > 3 else "")
        parts.append(escape(names))
    if source.publisher and source.publisher != source.title:
        parts.append(escape(source.publisher))
    if source.date:
        parts.append(source.date)
    parts.append(source.tier.tag)
    return " · ".join(parts)


def short_source(source: SourceRecord) -> str:
    """`Frontiers in Psychiatry, 2023`-style label for footnotes and compact rows."""
    label = source.publisher or source.domain or clip(source.title, 60)
    return f"{label}, {source.year}" if source.year else label


def attribution(source: SourceRecord) -> str:
    """`Frontiers in Psychiatry, 2023 · 📄 paper`: a compact row's source and tier, escaped."""
    return f"{escape(short_source(source))} · {source.tier.badge} {escape(source.tier.short)}"


def fact_text(fact: FactRecord, limit: int) -> str:
    return clip(escape(fact.text), limit, f" (full text: /fact id:{fact.id})")


def fact_field(fact: FactRecord, rank: int | None = None, text_limit: int = 760) -> tuple[str, str]:
    """(name, value) of an embed field showing one fact with its badge, id and source."""
    badge = TYPE_BADGES.get(fact.type, fact.type)
    name = f"{rank}. {badge} · {fact.id}" if rank is not None else f"{badge} · {fact.id}"
    source = "— " + source_line(fact.source)
    text = fact_text(fact, min(text_limit, FIELD_VALUE - len(source) - 1))
    return name, f"{text}\n{source}"


def fact_row(fact: FactRecord, limit: int = 300, marker: str = "•") -> str:
    """One compact line: `• text — k-3f9a2c · Frontiers in Psychiatry`."""
    return f"{marker} {fact_text(fact, limit)} — `{fact.id}` · {attribution(fact.source)}"


def pack_rows(title: str, rows: Sequence[str]) -> list[tuple[str, str]]:
    """Rows packed into as many ≤1024-character fields as needed (`title`, `title (cont.)`)."""
    fields: list[tuple[str, str]] = []
    current: list[str] = []
    for row in rows:
        row = clip(row, FIELD_VALUE)
        if current and len("\n".join([*current, row])) > FIELD_VALUE:
            fields.append((title if not fields else f"{title} (cont.)", "\n".join(current)))
            current = []
        current.append(row)
    if current:
        fields.append((title if not fields else f"{title} (cont.)", "\n".join(current)))
    return fields


def answer_embed(title: str, description: str | None = None) -> discord.Embed:
    return discord.Embed(title=clip(title, 256), description=description, colour=COLOUR_ANSWER)


def message_reply(title: str, message: str, *, error: bool = False, ephemeral: bool = True) -> Reply:
    """A short, clear answer for a refusal, an empty query, a miss or an error."""
    embed = discord.Embed(title=title, description=message, colour=COLOUR_ERROR if error else COLOUR_WARNING)
    return Reply([embed], ephemeral=ephemeral)


def paper_field(paper: PaperRecord) -> tuple[str, str]:
    authors = ", ".join(paper.authors)
    lines = [
        f"**{escape(paper.title)}**",
        escape(authors),
        f"*{escape(paper.journal)}*" + (f", {paper.year}" if paper.year else ""),
    ]
    if paper.doi_url:
        lines.append(f"DOI: [{paper.doi}]({paper.doi_url})")
    if paper.tags:
        lines.append("Topics: " + ", ".join(escape(t) for t in paper.tags))
    return "📄 Paper", clip("\n".join(lines), FIELD_VALUE)
