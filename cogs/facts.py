"""/fact, /source, /protocol, /compare: parse the options, ask `Answers`, send what it rendered."""

from __future__ import annotations

import time

import discord
from discord import app_commands
from discord.ext import commands

from bot.answers.base import FactPage
from bot.answers.reply import Reply
from bot.discord.views import FactPager, fact_view
from cogs.common import answer, log_command, record_query, services, to_choices, user_cooldown

PRIVATE = "Only you see the answer (default: everyone in the channel)"


class Facts(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

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
            await answer(interaction, lambda answers: answers.fact_by_id(id, private=private))
            return
        started = time.perf_counter()
        svc = services(interaction)
        text = query or ""

        async def render(page_number: int) -> tuple[Reply, FactPage | None]:
            return await svc.answers.fact(text, page=page_number, private=private)

        reply, page = await render(0)
        reply.view = fact_view(interaction.user.id, page, render, svc)
        if isinstance(reply.view, FactPager):
            reply.view.origin = interaction  # so the buttons can be disabled in place on timeout
        await svc.delivery.respond(interaction, reply)
        await record_query(interaction, reply, found=page is not None)
        log_command(interaction, started, len(page.fact_ids) if page else 0)

    @fact.autocomplete("query")
    async def fact_query_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await services(interaction).answers.autocomplete_fact(current))

    @app_commands.command(name="source", description="A source card: where a fact comes from and what it holds")
    @app_commands.describe(query="Part of a title, a paper or a site, e.g. 'montreal model'", private=PRIVATE)
    @app_commands.checks.dynamic_cooldown(user_cooldown)
    async def source(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 300], private: bool = False
    ) -> None:
        await answer(interaction, lambda answers: answers.source(query, private=private))

    @source.autocomplete("query")
    async def source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await services(interaction).answers.autocomplete_source(current))

    @app_commands.command(name="protocol", description="A treatment protocol as the literature describes it")
    @app_commands.describe(name="e.g. the Montreal model", private=PRIVATE)
    @app_commands.checks.dynamic_cooldown(user_cooldown)
    async def protocol(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 100], private: bool = False
    ) -> None:
        await answer(interaction, lambda answers: answers.protocol(name, private=private))

    @protocol.autocomplete("name")
    async def protocol_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await services(interaction).answers.autocomplete_protocol(current))

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
        await answer(interaction, lambda answers: answers.compare(first, second, private=private))

    @compare.autocomplete("first")
    @compare.autocomplete("second")
    async def substance_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(await services(interaction).answers.autocomplete_substance(current))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Facts(bot))
