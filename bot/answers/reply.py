"""The one path every outgoing message takes: notice attached, nobody pinged, Discord's limits kept.

Commands, buttons, the forum features and the offline `ask` console all build a `Reply` and call
`finalize()`; what `ask --json` prints is `callback_body()` of the very same object, produced by
discord.py's own payload builder, so what is tested offline is what Discord receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import discord
from discord.webhook.async_ import interaction_message_response_params

EMBED_TOTAL = 6000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
EMBEDS_PER_MESSAGE = 10
CONTENT = 2000
CHOICES = 25
CHOICE_TEXT = 100
ELLIPSIS = "…"

COLOUR_ANSWER = discord.Colour(0x2B6CB0)
COLOUR_ERROR = discord.Colour(0xC53030)
COLOUR_WARNING = discord.Colour(0xD69E2E)


@dataclass
class Reply:
    """What a command answers, before the notice and limits are applied."""

    embeds: list[discord.Embed] = field(default_factory=list)
    content: str | None = None
    ephemeral: bool = False
    view: discord.ui.View | None = None
    notice: bool = True
    crisis: bool = False
    fact_ids: list[str] = field(default_factory=list)  # facts shown; they get a Report button
    shareable: bool = False  # a private answer whose facts the asker may post publicly (Share)
    # The query text a search answered, for the adapter's statistics (never sent). The answers layer
    # records nothing itself: only the adapter knows the guild, the member and whether it is private.
    searched: str | None = None

    def finalize(self, notice_text: str, crisis_text: str = "") -> Reply:
        """Attach the notice (and the crisis line when needed) and cut everything to Discord's limits."""
        content = self.content
        if self.crisis and crisis_text:
            content = f"{crisis_text}\n\n{content}" if content else crisis_text
        embeds = fit_embeds(self.embeds, notice_text if self.notice else None)
        if content is not None:
            content = clip(content, CONTENT)
        return Reply(
            embeds,
            content,
            self.ephemeral,
            self.view,
            notice=False,
            crisis=False,
            fact_ids=self.fact_ids,
            shareable=self.shareable,
        )

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `InteractionResponse.send_message` / `Webhook.send` / `Messageable.send`."""
        kwargs: dict[str, Any] = {"embeds": self.embeds, "allowed_mentions": discord.AllowedMentions.none()}
        if self.content is not None:
            kwargs["content"] = self.content
        if self.view is not None:
            kwargs["view"] = self.view
        return kwargs

    def callback_body(self, response_type: int = 4) -> dict[str, Any]:
        """The interaction-callback JSON discord.py sends for this reply (`{"type": 4, "data": …}`)."""
        flags = discord.MessageFlags(ephemeral=True) if self.ephemeral else discord.utils.MISSING
        params = interaction_message_response_params(
            type=response_type,
            content=self.content if self.content is not None else discord.utils.MISSING,
            embeds=self.embeds,
            view=self.view if self.view is not None else discord.utils.MISSING,
            allowed_mentions=discord.AllowedMentions.none(),
            flags=flags,
        )
        return dict(params.payload or {})

    def message_body(self) -> dict[str, Any]:
        """The body of a plain channel message (`POST /channels/{id}/messages`) for this reply."""
        body: dict[str, Any] = {
            "embeds": [e.to_dict() for e in self.embeds],
            "allowed_mentions": discord.AllowedMentions.none().to_dict(),
        }
        if self.content is not None:
            body["content"] = self.content
        if self.view is not None:
            body["components"] = self.view.to_components()
        return body


def clip(text: str, limit: int, suffix: str = "") -> str:
    """`text` cut to `limit` characters with an ellipsis (and `suffix`, e.g. a fact id) when cut."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(ELLIPSIS) - len(suffix))
    return text[:keep].rstrip() + ELLIPSIS + suffix


def embed_length(embed: discord.Embed) -> int:
    """Characters Discord counts toward the 6000 total (title, description, fields, footer, author)."""
    return len(embed)


def fit_embeds(embeds: list[discord.Embed], notice_text: str | None) -> list[discord.Embed]:
    """Copies of `embeds` within every per-embed and per-message limit, the notice as last footer."""
    embeds = [discord.Embed.from_dict(e.to_dict()) for e in embeds[:EMBEDS_PER_MESSAGE]]
    if notice_text:
        if not embeds:
            embeds = [discord.Embed(colour=COLOUR_ANSWER)]
        last = embeds[-1]
        footer = f"{last.footer.text} · {notice_text}" if last.footer.text else notice_text
        last.set_footer(text=clip(footer, FOOTER_TEXT))
    for embed in embeds:
        _fit_one(embed)
    budget = EMBED_TOTAL
    for index, embed in enumerate(embeds):
        reserve = sum(len(e.footer.text or "") for e in embeds[index + 1 :])
        _shrink_to(embed, budget - reserve)
        budget -= embed_length(embed)
    return [e for e in embeds if embed_length(e) or e.image or e.url]


def _fit_one(embed: discord.Embed) -> None:
    if embed.title:
        embed.title = clip(embed.title, EMBED_TITLE)
    if embed.description:
        embed.description = clip(embed.description, EMBED_DESCRIPTION)
    if embed.author.name:
        embed.set_author(
            name=clip(embed.author.name, AUTHOR_NAME), url=embed.author.url, icon_url=embed.author.icon_url
        )
    fields = embed.fields[:EMBED_FIELDS]
    embed.clear_fields()
    for f in fields:
        embed.add_field(
            name=clip(f.name or "\u200b", FIELD_NAME),
            value=clip(f.value or "\u200b", FIELD_VALUE),
            inline=bool(f.inline),
        )


def _shrink_to(embed: discord.Embed, budget: int) -> None:
    """Drop trailing fields, then shorten the description, until the embed fits `budget` characters."""
    while embed_length(embed) > budget and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if embed_length(embed) > budget and embed.description:
        over = embed_length(embed) - budget
        embed.description = clip(embed.description, max(0, len(embed.description) - over))
    if embed_length(embed) > budget and embed.title:
        over = embed_length(embed) - budget
        embed.title = clip(embed.title, max(1, len(embed.title) - over))
