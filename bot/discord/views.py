"""Buttons and modals: paging, "Report", "Share", and the summary preview.

Report and Share buttons are `DynamicItem`s whose custom id carries the fact ids, so they keep
working after the view times out, after a reconnect and after a restart. Both are limited per member
(`bot.moderation.limits`), and a report goes only to its own guild's moderator log, gathered into
one summary message while reports flood in (`bot.discord.reportlog`). Paging keeps per-answer state
in a `View` that only the person who asked may use; its buttons disable on timeout.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, Self

import discord

from bot.answers.answers import Answers
from bot.answers.base import FactPage
from bot.answers.render import message_reply
from bot.answers.reply import Reply
from bot.config import Settings
from bot.discord.delivery import Delivery
from bot.discord.faults import DELIVERY_ERRORS, is_storage_error, log_fault, not_saved, not_sent, reference
from bot.discord.reportlog import LoggedReport, post_report_to_log
from bot.facts.store import FactStore
from bot.moderation.limits import HOUR, REPORTS_PER_HOUR, Limits, retry_after, wait_text
from bot.moderation.state import ModerationStore

log = logging.getLogger(__name__)
PAGER_TIMEOUT = 600.0
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


PageRenderer = Callable[[int], Awaitable[tuple[Reply, FactPage | None]]]


class FactPager(discord.ui.View):
    """◀ ▶ through one `/fact` answer; only the person who asked can page."""

    def __init__(self, owner_id: int, page: FactPage, render: PageRenderer, services: Services | None) -> None:
        super().__init__(timeout=PAGER_TIMEOUT)
        self.owner_id = owner_id
        self.page = page
        self.render = render
        self.services = services
        self.origin: discord.Interaction | None = None
        self.previous.disabled = page.page <= 0
        self.next.disabled = page.page >= page.pages - 1
        self.add_item(ReportButton(page.fact_ids))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if custom_id.startswith("factbot:report:") or interaction.user.id == self.owner_id:
            return True
        reply = message_reply("Not your answer", "Only the person who asked can page through it. Run `/fact` yourself!")
        if self.services:
            await self.services.delivery.respond(interaction, reply)
        return False

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        reply, page = await self.render(self.page.page + step)
        if page is None or self.services is None:
            return
        pager = FactPager(self.owner_id, page, self.render, self.services)
        pager.origin = self.origin
        reply.view = pager
        self.stop()
        await self.services.delivery.edit(interaction, reply)

    @discord.ui.button(emoji="◀️", label="Previous", style=discord.ButtonStyle.secondary, custom_id="factbot:page:prev")
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[FactPager]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(emoji="▶️", label="Next", style=discord.ButtonStyle.secondary, custom_id="factbot:page:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[FactPager]) -> None:
        await self._turn(interaction, +1)

    async def on_timeout(self) -> None:
        self.previous.disabled = True
        self.next.disabled = True
        if self.origin is not None:
            try:
                await self.origin.edit_original_response(view=self)
            except discord.HTTPException:
                log.debug("pager message already gone")


def fact_view(
    owner_id: int, page: FactPage | None, render: PageRenderer, services: Services | None
) -> discord.ui.View | None:
    """The pager when there is more than one page, else just the Report button."""
    if page is None:
        return None
    if page.pages > 1:
        return FactPager(owner_id, page, render, services)
    return report_view(page.fact_ids)


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


DYNAMIC_ITEMS = (ReportButton, ShareButton)
