"""Buttons and modals: paging, "Report", "Share", and the summary preview.

Report and Share buttons are `DynamicItem`s whose custom id carries the fact ids, so they keep
working after the view times out, after a reconnect and after a restart. Both are limited per member
(`bot.moderation.limits`), and a report goes only to its own guild's moderator log, gathered into
one summary message while reports flood in (`bot.discord.reportlog`). The ◀ ▶ paging buttons are
`DynamicItem`s too (`PageButton`): their custom id holds the asker, the page and the query.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, Self

import discord

from bot.answers.answers import Answers
from bot.answers.base import FactPage
from bot.answers.fact import query_in_title
from bot.answers.render import message_reply
from bot.answers.reply import Reply
from bot.config import Settings
from bot.discord.backlog import Backlog
from bot.discord.delivery import Delivery
from bot.discord.faults import DELIVERY_ERRORS, is_storage_error, log_fault, not_saved, not_sent, reference
from bot.discord.reportlog import LoggedReport, post_report_to_log
from bot.facts.store import FactStore
from bot.moderation.limits import HOUR, REPORTS_PER_HOUR, Limits, retry_after, wait_text
from bot.moderation.state import ModerationStore

log = logging.getLogger(__name__)
CUSTOM_ID_LIMIT = 100
_IDS = r"[a-z]-[0-9a-f]{6,40}(?:,[a-z]-[0-9a-f]{6,40})*"


class Services(Protocol):
    """What buttons and forms use of `bot.discord.services.Services`.

    Declared here, not imported, so that the services (which attach these buttons through
    `Delivery`) can import this module and nothing here imports them back.
    """

    settings: Settings
    store: FactStore
    answers: Answers
    moderation: ModerationStore
    delivery: Delivery
    limits: Limits
    backlog: Backlog


def services_of(interaction: discord.Interaction) -> Services:
    return interaction.client.services  # type: ignore[attr-defined,no-any-return]


def _ids(text: str) -> list[str]:
    return [i for i in text.split(",") if i][:5]


class _FactIdsButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"factbot:(?!)"):
    """A button whose custom id carries the fact ids it acts on (`factbot:<action>:k-…,k-…`)."""

    action = ""
    label = ""
    emoji = ""
    style = discord.ButtonStyle.secondary

    def __init__(self, fact_ids: list[str]) -> None:
        self.fact_ids = fact_ids[:5]
        super().__init__(
            discord.ui.Button(
                label=self.label,
                emoji=self.emoji,
                style=self.style,
                custom_id=f"factbot:{self.action}:{','.join(self.fact_ids)}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(_ids(match["ids"]))


class ReportButton(_FactIdsButton, template=rf"factbot:report:(?P<ids>{_IDS})"):
    """Opens the report modal for the facts of the message it sits on."""

    action, label, emoji = "report", "Report", "🚩"

    async def callback(self, interaction: discord.Interaction) -> None:
        if await report_limit_reached(interaction):
            return
        await interaction.response.send_modal(ReportModal(self.fact_ids))


class ShareButton(_FactIdsButton, template=rf"factbot:share:(?P<ids>{_IDS})"):
    """Posts the facts of a private answer publicly, in the channel or thread it was asked in."""

    action, label, emoji, style = "share", "Share", "📣", discord.ButtonStyle.primary

    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        wait = services.limits.shares.take(interaction.user.id)
        if wait is not None:
            note = message_reply(
                "Shared enough for now",
                f"You shared sources {services.limits.shares.limit} times in the last hour: thank you! "
                f"You can share again in {wait_text(wait)}.",
            )
            await services.delivery.respond(interaction, note)
            return
        facts = await services.store.facts(self.fact_ids)
        reply = services.answers.facts_reply(
            "Sources shared from this discussion",
            [facts[i] for i in self.fact_ids if i in facts],
            f"Shared by {interaction.user.display_name}",
            private=False,
        )
        await services.delivery.respond(interaction, reply)


class ReportModal(discord.ui.Modal, title="Report a fact"):
    fact_id: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(label="Fact id", max_length=50)
    problem: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
        label="What is wrong?",
        style=discord.TextStyle.paragraph,
        min_length=5,
        max_length=1000,
        placeholder="e.g. the dose in this fact does not match the paper",
    )
    source: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
        label="A better source (optional)", required=False, max_length=300, placeholder="DOI, link or citation"
    )

    def __init__(self, fact_ids: list[str]) -> None:
        super().__init__(timeout=900)
        self.fact_ids = fact_ids
        self.fact_id.default = fact_ids[0] if fact_ids else ""
        if len(fact_ids) > 1:
            self.fact_id.placeholder = ", ".join(fact_ids)[:100]

    async def on_submit(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        fact_id = self.fact_id.value.strip().lower()
        fact = await services.store.fact(fact_id)
        if fact is None:
            await services.delivery.respond(
                interaction,
                message_reply(
                    "Unknown fact id",
                    f"No fact has the id `{discord.utils.escape_markdown(fact_id[:50])}`; "
                    f"the facts on that answer are {', '.join(self.fact_ids)}.",
                ),
            )
            return
        if await report_limit_reached(interaction):  # another report form may have been open
            return
        try:
            problem, source = self.problem.value.strip(), self.source.value.strip()
            report_id = await services.moderation.add_report(
                fact.id, interaction.user.id, interaction.guild_id, problem, source
            )
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            ref = reference()  # disk full, read-only volume, lock timeout: nothing was stored; the bot serves on
            log_fault("saving a report", exc, ref, guild_id=interaction.guild_id)
            await services.delivery.respond(interaction, not_saved("report", ref))
            return
        to = "the moderators" if interaction.guild_id else "the bot's operator (no server, so no moderators)"
        await services.delivery.respond(
            interaction, message_reply("Thank you", f"Report #{report_id} on `{fact.id}` was sent to {to}.")
        )
        report = LoggedReport(report_id, fact.id, self.problem.value, self.source.value, interaction.user)
        await post_report_to_log(services, interaction.client, interaction.guild_id, report)


async def report_limit_reached(interaction: discord.Interaction) -> bool:
    """REPORTS_PER_HOUR per member: past it, a polite private note instead of the form."""
    services = services_of(interaction)
    now = time.time()
    wait = retry_after(await services.moderation.recent_reports(interaction.user.id, now - HOUR), REPORTS_PER_HOUR, now)
    if wait is None:
        return False
    note = message_reply(
        "Thank you, that is enough for now",
        f"You sent {REPORTS_PER_HOUR} reports in the last hour, and the moderators will look at each one. "
        f"You can send another in {wait_text(wait)}.",
    )
    await services.delivery.respond(interaction, note)
    return True


def report_view(fact_ids: list[str]) -> discord.ui.View | None:
    if not fact_ids:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(ReportButton(fact_ids))
    return view


def buttons_for(reply: Reply) -> discord.ui.View | None:
    """The buttons under an answer that shows facts: Report, and Share when it may be shared."""
    return share_view(reply.fact_ids) if reply.shareable else report_view(reply.fact_ids)


def share_view(fact_ids: list[str]) -> discord.ui.View | None:
    if not fact_ids:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(ShareButton(fact_ids))
    view.add_item(ReportButton(fact_ids))
    return view


def page_custom_id(step: str, owner_id: int, page: int, private: bool, query: str) -> str:
    """`factbot:page:<prev|next>:<owner>:<page shown>:<private 0|1>:` and the query: `=<text>` when
    the whole id fits Discord's 100 characters, else `#<digest>` of the text (read from the title)."""
    head = f"factbot:page:{step}:{owner_id}:{page}:{int(private)}:"
    whole = f"{head}={query}"
    if len(whole.encode("utf-16-le")) // 2 <= CUSTOM_ID_LIMIT:  # Discord counts UTF-16 units
        return whole
    return f"{head}#{_digest(query)}"


def _digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:12]


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"factbot:page:(?P<step>prev|next):(?P<owner>\d+):(?P<page>\d+):(?P<private>[01]):(?P<query>[=#].*)",
):
    """◀ or ▶ under a `/fact` answer. Everything it needs is in its custom id — who asked, the page
    shown, whether it was private, and the query — so it pages after a restart, a reconnect, and in
    whichever process the click reaches; only the person who asked can page."""

    def __init__(self, step: str, owner_id: int, page: int, private: bool, query: str | None, *, pages: int) -> None:
        self.step, self.owner_id, self.page, self.private, self.query = step, owner_id, page, private, query
        last = page <= 0 if step == "prev" else page >= pages - 1
        super().__init__(
            discord.ui.Button(
                emoji="◀️" if step == "prev" else "▶️",
                label="Previous" if step == "prev" else "Next",
                style=discord.ButtonStyle.secondary,
                custom_id=page_custom_id(step, owner_id, page, private, query or ""),
                disabled=last,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        kept = match["query"]
        query: str | None = kept[1:]
        if kept.startswith("#"):  # a long query: the answer's title shows it (whole up to 240 characters)
            embeds = interaction.message.embeds if interaction.message else []
            query = query_in_title(embeds[0].title) if embeds else None
            if query is None or _digest(query) != kept[1:]:
                query = None
        return cls(match["step"], int(match["owner"]), int(match["page"]), match["private"] == "1", query, pages=2)

    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        if interaction.user.id != self.owner_id:
            reply = message_reply(
                "Not your answer", "Only the person who asked can page through it. Run `/fact` yourself!"
            )
            await services.delivery.respond(interaction, reply)
            return
        if self.query is None:
            reply = message_reply("Ask again", "This answer can no longer be paged: run `/fact` again.")
            await services.delivery.respond(interaction, reply)
            return
        query, private, target = self.query, self.private, self.page + (1 if self.step == "next" else -1)

        async def produce(answers: Answers) -> Reply:
            reply, page = await answers.fact(query, page=target, private=private)
            reply.view = fact_view(self.owner_id, page, private=private)
            return reply

        try:
            await services.backlog.answer(interaction, produce, ephemeral=True, update=True)
        except Exception:  # a DynamicItem's error is only logged by discord.py: the member must hear of it
            reference = uuid.uuid4().hex[:8]
            log.exception("paging failed (error ref %s)", reference, extra={"error_ref": reference})
            reply = message_reply(
                "Something went wrong", f"Sorry, paging failed (error ref `{reference}`).", error=True
            )
            with contextlib.suppress(discord.HTTPException):
                await services.delivery.respond(interaction, reply)


def fact_view(owner_id: int, page: FactPage | None, *, private: bool = False) -> discord.ui.View | None:
    """◀ ▶ and Report when there is more than one page, else just Report."""
    if page is None:
        return None
    if page.pages <= 1:
        return report_view(page.fact_ids)
    view = discord.ui.View(timeout=None)
    for step in ("prev", "next"):
        view.add_item(PageButton(step, owner_id, page.page, private, page.query, pages=page.pages))
    view.add_item(ReportButton(page.fact_ids))
    return view


class ConfirmView(discord.ui.View):
    """Post / Cancel under a moderator's ephemeral preview."""

    def __init__(self, owner_id: int, on_post: Callable[[discord.Interaction], Awaitable[None]]) -> None:
        super().__init__(timeout=300)
        self.owner_id = owner_id
        self.on_post = on_post

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:
        """Posting failed after discord.py's own retries (or the audit write did): say so on the preview."""
        ref = reference()
        log_fault("posting a summary", error, ref, guild_id=interaction.guild_id)
        reply = not_saved("audit entry", ref) if is_storage_error(error) else not_sent("summary", error, ref)
        try:
            await services_of(interaction).delivery.edit(interaction, reply)
        except DELIVERY_ERRORS:
            log.warning("could not tell the moderator that posting failed (error ref %s)", ref)

    @discord.ui.button(label="Post", style=discord.ButtonStyle.success, custom_id="factbot:preview:post")
    async def post(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.stop()
        await self.on_post(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="factbot:preview:cancel")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.stop()
        await services_of(interaction).delivery.edit(interaction, message_reply("Cancelled", "Nothing was posted."))


DYNAMIC_ITEMS = (ReportButton, ShareButton, PageButton)
