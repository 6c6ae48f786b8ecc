"""A concept's overview as postable messages: citations become numbered footnotes.

`[fact:28|…]` and the bare labels glued after sentences are replaced by `[n]`; each footnote
resolves to a fact id and its source ("[3] … — `k-3f9a2c` · Frontiers in Psychiatry, 2023").
Model-written perspectives are added only when asked, labelled as machine-written with their
stated confidence. Long summaries are split into several embeds and messages within limits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.answers.render import answer_embed, attribution, escape
from bot.answers.reply import EMBED_DESCRIPTION, EMBED_TOTAL, EMBEDS_PER_MESSAGE, Reply, clip
from bot.facts.models import CitationRecord, ConceptRecord, FactRecord

# Room left in every message for titles and the notice footer.
_MESSAGE_BUDGET = EMBED_TOTAL - 600
_DESCRIPTION_BUDGET = EMBED_DESCRIPTION - 96
_NUMERIC_REFS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_ADJACENT_MARKERS = re.compile(r"(\[\d+\])(?:,\s*|\s+)(?=\[\d+\])")


@dataclass
class Summary:
    title: str
    paragraphs: list[str]
    footnotes: list[str]
    perspectives: list[tuple[str, str]]  # (heading, text)

    def text(self) -> str:
        return "\n\n".join(self.paragraphs + self.footnotes + [t for _, t in self.perspectives])


class _Numbering:
    def __init__(self, facts: dict[str, FactRecord]) -> None:
        self.facts = facts
        self.numbers: dict[str, int] = {}

    def marker(self, fact_id: str) -> str:
        """A placeholder marker; `_finish` turns it into `[n]` after the exporter's numeric refs are gone."""
        if fact_id not in self.numbers:
            self.numbers[fact_id] = len(self.numbers) + 1
        return f"\x01{self.numbers[fact_id]}\x02"

    def footnotes(self) -> list[str]:
        lines = []
        for fact_id, number in self.numbers.items():
            fact = self.facts[fact_id]
            lines.append(
                f"[{number}] {clip(escape(fact.text), 160)} — `{fact.id}` · {attribution(fact.source)}"
            )
        return lines


def _with_markers(text: str, citations: Sequence[CitationRecord], numbering: _Numbering) -> str:
    """The paragraph with each citation span replaced by its footnote marker."""
    out = []
    position = 0
    for citation in sorted(citations, key=lambda c: c.start):
        before = text[position : citation.start]
        out.append(before.rstrip() + " " if before.strip() else before)
        out.append(numbering.marker(citation.fact_id))
        position = citation.end
    out.append(text[position:])
    joined = _NUMERIC_REFS.sub("", "".join(out))  # "[21, 46]" points into a list we do not have
    joined = joined.replace("\x01", "[").replace("\x02", "]")
    joined = _ADJACENT_MARKERS.sub(r"\1", joined)
    return re.sub(r"\s+([.,;])", r"\1", joined).strip()


def build_summary(concept: ConceptRecord, facts: dict[str, FactRecord], *, perspectives: bool = False) -> Summary:
    numbering = _Numbering(facts)
    paragraphs = []
    for index, paragraph in enumerate(concept.overview):
        cited = [c for c in concept.citations if c.paragraph == index]
        paragraphs.append(escape_keep_markers(_with_markers(paragraph, cited, numbering)))
    extra = []
    if perspectives:
        for index, perspective in enumerate(concept.perspectives):
            cited = [c for c in concept.perspective_citations if c.paragraph == index]
            text = _with_markers(perspective.text, cited, numbering)
            heading = (
                f"🤖 Machine-written perspective {index + 1} · {perspective.model} · "
                f"stated confidence {perspective.confidence}%"
            )
            extra.append((heading, escape_keep_markers(text)))
    return Summary(f"{concept.name[:1].upper()}{concept.name[1:]} — summary", paragraphs, numbering.footnotes(), extra)


def escape_keep_markers(text: str) -> str:
    """Markdown-escaped prose whose `[n]` footnote markers stay readable."""
    return escape(text).replace("\\[", "[").replace("\\]", "]")


def summary_replies(summary: Summary) -> list[Reply]:
    """The messages to post, in order: overview, footnotes, then (if asked) perspectives."""
    embeds: list[discord.Embed] = []
    for chunk in _chunks(summary.paragraphs, _DESCRIPTION_BUDGET):
        embeds.append(answer_embed(summary.title if not embeds else f"{summary.title} (cont.)", chunk))
    for chunk in _chunks(summary.footnotes, _DESCRIPTION_BUDGET, sep="\n"):
        embeds.append(answer_embed("Sources for the numbered citations", chunk))
    for heading, text in summary.perspectives:
        embed = answer_embed(clip(heading, 256), clip(text, _DESCRIPTION_BUDGET))
        embed.colour = discord.Colour(0x718096)
        embed.set_footer(text="Written by a language model, not by the cited authors; check the numbered facts.")
        embeds.append(embed)
    return [Reply(group, ephemeral=False) for group in group_into_messages(embeds)]


def _chunks(items: Sequence[str], budget: int, sep: str = "\n\n") -> list[str]:
    chunks: list[str] = []
    current = ""
    for item in items:
        item = clip(item, budget)
        candidate = f"{current}{sep}{item}" if current else item
        if len(candidate) > budget and current:
            chunks.append(current)
            current = item
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def group_into_messages(embeds: Sequence[discord.Embed]) -> list[list[discord.Embed]]:
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        length = len(embed)
        if current and (size + length > _MESSAGE_BUDGET or len(current) == EMBEDS_PER_MESSAGE):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += length
    if current:
        messages.append(current)
    return messages
