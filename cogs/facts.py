"""/fact, /source, /protocol, /compare: parse the options, ask `Answers`, send what it rendered."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.answers import Answers
from bot.answers.reply import Reply
from bot.discord.services import Services
from bot.discord.views import fact_view
from cogs.common import answer, record_query, services, to_choices, user_cooldown

log = logging.getLogger("factbot.commands")
PRIVATE = "Only you see the answer (default: everyone in the channel)"


class Facts(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self._warming: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        svc: Services | None = getattr(self.bot, "services", None)
        if svc is None:  # `python -m bot commands` loads the cogs only to print the command payload
            return
        svc.backlog.watch_loop()
        self._warming = asyncio.create_task(self._warm_up(svc))

    async def cog_unload(self) -> None:
        if self._warming is not None:
            self._warming.cancel()

    async def _warm_up(self, svc: Services) -> None:
        """Load the sentence model and the search's word lists now (about a second of CPU, while the
        gateway connects), not during the first member's question."""
        try:
            async with svc.backlog.slot() as answers:
                await answers.fact("ketamine")
        except Exception:
            log.warning("warm-up search failed", exc_info=True)

    @app_commands.command(name="fact", description="Find sourced facts about ketamine and related medicine")
    @app_commands.describe(
        query="What you want to know, e.g. 'benzos and ketamine'", id="A fact id, e.g. k-3f9a2c", private=PRIVATE
    )
    @app_commands.checks.dynamic_cooldown(user_cooldown)
    async def fact(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 300] | None = None,
        id: app_commands.Range[str, 1, 50] | None = None,
        private: bool = False,
    ) -> None:
        if id:
            await answer(interaction, lambda answers: answers.fact_by_id(id, private=private), private=private)
            return
        owner, text = interaction.user.id, query or ""

        async def produce(answers: Answers) -> Reply:
            reply, page = await answers.fact(text, page=0, private=private)
            reply.view = fact_view(owner, page, private=private)
            # counted before it is sent, so /stats never lags behind an answer a member already saw
            await record_query(interaction, reply, found=page is not None)
            return reply

        await answer(interaction, produce, private=private)

    @fact.autocomplete("query")
    async def fact_query_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await services(interaction).backlog.quick(lambda a: a.autocomplete_fact(current), []))

    @app_commands.command(name="source", description="A source card: where a fact comes from and what it holds")
    @app_commands.describe(query="Part of a title, a paper or a site, e.g. 'montreal model'", private=PRIVATE)
    @app_commands.checks.dynamic_cooldown(user_cooldown)
    async def source(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 300], private: bool = False
    ) -> None:
        await answer(interaction, lambda answers: answers.source(query, private=private), private=private)

    @source.autocomplete("query")
    async def source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await services(interaction).backlog.quick(lambda a: a.autocomplete_source(current), []))

    @app_commands.command(name="protocol", description="A treatment protocol as the literature describes it")
    @app_commands.describe(name="e.g. the Montreal model", private=PRIVATE)
    @app_commands.checks.dynamic_cooldown(user_cooldown)
    async def protocol(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 100], private: bool = False
    ) -> None:
        await answer(interaction, lambda answers: answers.protocol(name, private=private), private=private)

    @protocol.autocomplete("name")
    async def protocol_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await services(interaction).backlog.quick(lambda a: a.autocomplete_protocol(current), []))

    @app_commands.command(name="compare", description="Two substances side by side, every row sourced")
    @app_commands.describe(first="e.g. ketamine", second="e.g. psilocybin", private=PRIVATE)
    @app_commands.checks.dynamic_cooldown(user_cooldown)
    async def compare(
        self,
        interaction: discord.Interaction,
        first: app_commands.Range[str, 1, 100],
        second: app_commands.Range[str, 1, 100],
        private: bool = False,
    ) -> None:
        await answer(interaction, lambda answers: answers.compare(first, second, private=private), private=private)

    @compare.autocomplete("first")
    @compare.autocomplete("second")
    async def substance_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await services(interaction).backlog.quick(lambda a: a.autocomplete_substance(current), []))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Facts(bot))
