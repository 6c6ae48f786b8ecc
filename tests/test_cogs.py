"""Cog callbacks driven with spec'd mock interactions: what is sent, to whom, and how it looks."""

from __future__ import annotations

import re
from unittest.mock import MagicMock

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.config import DEFAULT_NOTICE
from bot.discord.runtime import FactTree
from bot.discord.services import Services
from bot.discord.views import ReportButton, ReportModal, ShareButton
from cogs.facts import Facts
from cogs.moderation import Moderation
from tests.helpers import assert_safe, click, mock_interaction, page_button, sent, text_of, tree_for_tests


@pytest.fixture
def facts_cog() -> Facts:
    return Facts(MagicMock(spec=commands.Bot))


async def test_fact_answer_is_public_paged_sourced_and_pings_nobody(services: Services, facts_cog: Facts) -> None:
    interaction = mock_interaction(services)
    await facts_cog.fact.callback(facts_cog, interaction, query="benzos", id=None, private=False)
    kwargs = sent(interaction)
    assert_safe(kwargs, DEFAULT_NOTICE)
    assert kwargs["ephemeral"] is False
    embed = kwargs["embeds"][0]
    assert embed.title == "Facts for “benzos”"
    assert embed.description == "Showing results for **benzos (benzodiazepine, benzodiazepines, BZDR)**"
    assert len(embed.fields) == 5
    assert embed.fields[0].name.startswith("1. 💬 claim · k-")
    assert (
        "— [The Montreal model: an integrative biomedical-psychedelic ...](https://frontiersin.org)"
        in embed.fields[0].value
    )
    # lexical matches plus the semantically nearest facts: more than one page
    assert re.match(r"Page 1/[2-5] · \d+ facts · Not medical advice", embed.footer.text)
    assert [c.custom_id for c in kwargs["view"].children][:2] == [
        "factbot:page:prev:1001:0:0:=benzos",
        "factbot:page:next:1001:0:0:=benzos",
    ]


async def test_private_option_makes_the_answer_ephemeral(services: Services, facts_cog: Facts) -> None:
    interaction = mock_interaction(services)
    await facts_cog.fact.callback(facts_cog, interaction, query="spravato", id=None, private=True)
    assert sent(interaction)["ephemeral"] is True


async def test_only_the_asker_can_page_and_paging_edits_in_place(services: Services, facts_cog: Facts) -> None:
    asker = mock_interaction(services, user_id=1)
    await facts_cog.fact.callback(facts_cog, asker, query="benzos", id=None, private=False)
    view = sent(asker)["view"]
    assert page_button(view, "prev").item.disabled and not page_button(view, "next").item.disabled
    next_id = page_button(view, "next").custom_id
    stranger = await click(services, next_id, user_id=2)
    refusal = sent(stranger)
    assert refusal["ephemeral"] is True
    assert "Only the person who asked can page" in text_of(refusal)
    stranger.response.edit_message.assert_not_called()
    owner_click = await click(services, next_id, user_id=1)
    edited = owner_click.response.edit_message.call_args.kwargs
    assert edited["embeds"][0].footer.text.startswith("Page 2/5 · 25 facts")
    assert edited["embeds"][0].fields[0].name.startswith("6. ")
    assert edited["allowed_mentions"].to_dict() == {"parse": []}
    page2 = edited["view"]
    assert not page_button(page2, "next").item.disabled and not page_button(page2, "prev").item.disabled
    back = await click(services, page_button(page2, "prev").custom_id, user_id=1)
    assert back.response.edit_message.call_args.kwargs["embeds"][0].footer.text.startswith("Page 1/5")


async def test_paging_buttons_hold_their_state_in_the_custom_id(services: Services, facts_cog: Facts) -> None:
    """No timeout, no memory: a private answer to a long question pages from its custom id and title alone."""
    long = "what do the studies say about ketamine infusions for treatment resistant depression and anxiety"
    asker = mock_interaction(services, user_id=7)
    await facts_cog.fact.callback(facts_cog, asker, query=long, id=None, private=True)
    kwargs = sent(asker)
    view, title = kwargs["view"], kwargs["embeds"][0].title
    assert view.timeout is None
    next_id = page_button(view, "next").custom_id
    assert len(next_id) <= 100 and next_id.startswith("factbot:page:next:7:0:1:#"), next_id  # the query is too long
    turned = await click(services, next_id, user_id=7, title=title)
    edited = turned.response.edit_message.call_args.kwargs
    assert edited["embeds"][0].title == title and edited["embeds"][0].footer.text.startswith("Page 2/")
    # a title that no longer shows the query it was built for: ask again, never page a different question
    stale = await click(services, next_id, user_id=7, title="Facts for “something else”")
    assert "run `/fact` again" in text_of(sent(stale))


async def test_fact_by_id_shows_the_fact_in_full_with_its_neighbours(services: Services, facts_cog: Facts) -> None:
    interaction = mock_interaction(services)
    await facts_cog.fact.callback(facts_cog, interaction, query=None, id="k-b76280", private=False)
    kwargs = sent(interaction)
    embed = kwargs["embeds"][0]
    assert embed.title == "💬 claim · k-b76280"
    assert embed.description == "Ketamine is currently the only NMDA antagonist recognized as a medical treatment."
    assert [item.custom_id for item in kwargs["view"].children] == ["factbot:report:k-b76280"]
    cited = "\n".join(f.value for f in embed.fields if f.name.startswith("Cited next to it in the overview"))
    assert [line.split("`")[-2] for line in cited.splitlines()] == ["k-b735d4", "k-ccf9d3", "k-cdfa91", "k-fd636b"]


async def test_unknown_id_and_empty_query_get_clear_ephemeral_answers(services: Services, facts_cog: Facts) -> None:
    unknown = mock_interaction(services)
    await facts_cog.fact.callback(facts_cog, unknown, query=None, id="k-ffffff", private=False)
    assert sent(unknown)["ephemeral"] is True
    assert "No fact has the id `k-ffffff`." in text_of(sent(unknown))
    empty = mock_interaction(services)
    await facts_cog.fact.callback(facts_cog, empty, query="   ", id=None, private=False)
    assert "Type a few words" in text_of(sent(empty))


async def test_autocomplete_choices_fit_discords_rules(services: Services, facts_cog: Facts) -> None:
    for current in ("", "k", "ketam", "benzos and ket", "x" * 200, '"NEAR('):
        interaction = mock_interaction(services)
        choices = await facts_cog.fact_query_autocomplete(interaction, current)
        assert len(choices) <= 25
        assert all(1 <= len(c.name) <= 100 and 1 <= len(c.value) <= 100 for c in choices)
    protocols = await facts_cog.protocol_autocomplete(mock_interaction(services), "mont")
    assert protocols[0].value == "montreal"


async def test_protocol_montreal_contains_the_course_as_the_study_gave_it(services: Services, facts_cog: Facts) -> None:
    interaction = mock_interaction(services)
    await facts_cog.protocol.callback(facts_cog, interaction, name="montreal", private=False)
    kwargs = sent(interaction)
    text = text_of(kwargs)
    assert kwargs["embeds"][0].title == "The Montreal model"
    assert (
        "six infusions administered over 4 weeks, with a dosage of 0.5 mg/kg infused over 40 minutes, twice per week "
        "for the first 2 weeks and once weekly for the final 2 weeks" in text
    )
    assert "It is not a dosing instruction and not what anyone should take." in text
    stages = [f.name for f in kwargs["embeds"][0].fields]
    order = [
        "1 · Who it is for",
        "2 · Preparation",
        "3 · Course and schedule",
        "4 · The session itself",
        "5 · After-care and maintenance",
    ]
    positions = [next(i for i, s in enumerate(stages) if s.startswith(o)) for o in order]
    assert positions == sorted(positions)
    for field in kwargs["embeds"][0].fields:
        for line in field.value.splitlines():
            assert line.count("`k-") == 1, line  # every line carries its fact id


async def test_compare_shows_difference_similarity_and_conflict(services: Services, facts_cog: Facts) -> None:
    interaction = mock_interaction(services)
    await facts_cog.compare.callback(facts_cog, interaction, first="special k", second="shrooms", private=False)
    text = text_of(sent(interaction))
    assert (
        "≠ Ketamine's subjective effects are distinguished from psilocybin primarily by higher scores on the "
        "'disembodiment' subscale." in text
    )
    assert "≈ Ketamine and psilocybin appear to act as 'psychoplastogens,'" in text
    assert "⚔️ Conflicting facts" in text
    assert "as two doses of psilocybin" in text and "as 12 psilocybin treatments" in text
    assert "There is no concept page for psilocybin yet" in text


async def test_compare_same_or_unknown_substance_is_helpful(services: Services, facts_cog: Facts) -> None:
    same = mock_interaction(services)
    await facts_cog.compare.callback(facts_cog, same, first="ket", second="special k", private=False)
    assert "both mean **ketamine**" in text_of(sent(same))
    unknown = mock_interaction(services)
    await facts_cog.compare.callback(facts_cog, unknown, first="ketamine", second="unobtanium", private=False)
    assert "No fact mentions **unobtanium**" in text_of(sent(unknown))
    assert sent(unknown)["ephemeral"] is True


async def test_members_without_manage_threads_are_refused_clearly(services: Services) -> None:
    cog = Moderation(MagicMock(spec=commands.Bot))
    interaction = mock_interaction(services, manage_threads=False)
    command = cog.summary
    with pytest.raises(app_commands.MissingPermissions) as refused:
        for check in command.checks:
            if not await discord.utils.maybe_coroutine(check, interaction):
                raise app_commands.CheckFailure()
    tree = FactTree(tree_for_tests())
    await tree.on_error(interaction, refused.value)
    kwargs = sent(interaction)
    assert kwargs["ephemeral"] is True
    assert "This command needs the **Manage Threads** permission." in text_of(kwargs)
    moderator = mock_interaction(services, manage_threads=True)
    assert all([await discord.utils.maybe_coroutine(c, moderator) for c in command.checks])


async def test_errors_get_a_reference_and_use_followup_when_already_answered(services: Services) -> None:
    tree = FactTree(tree_for_tests())
    interaction = mock_interaction(services)
    interaction.response.is_done.return_value = True
    await tree.on_error(interaction, app_commands.CommandInvokeError(MagicMock(), RuntimeError("boom")))
    interaction.response.send_message.assert_not_called()
    kwargs = interaction.followup.send.call_args.kwargs
    assert kwargs["ephemeral"] is True
    assert "Sorry, that failed on our side (error ref `" in text_of(kwargs)
    assert "boom" not in text_of(kwargs)


async def test_cooldown_answer(services: Services) -> None:
    tree = FactTree(tree_for_tests())
    interaction = mock_interaction(services)
    await tree.on_error(interaction, app_commands.CommandOnCooldown(app_commands.Cooldown(5, 30), 12.4))
    assert "You can ask again in 12 s." in text_of(sent(interaction))


async def test_report_button_opens_a_modal_and_submit_stores_the_report(services: Services) -> None:
    click = mock_interaction(services, custom_id="factbot:report:k-5b8224,k-e29aee")
    button = ReportButton(["k-5b8224", "k-e29aee"])
    await button.callback(click)
    modal: ReportModal = click.response.send_modal.call_args.args[0]
    assert modal.fact_id.default == "k-5b8224"
    submit = mock_interaction(services, user_id=4242)
    modal.fact_id._value = "K-5B8224 "
    modal.problem._value = "The dose is per kg of bodyweight, please say so."
    modal.source._value = "doi:10.3389/fpsyt.2023"
    await modal.on_submit(submit)
    assert "Report #1 on `k-5b8224` was sent to the moderators." in text_of(sent(submit))
    stored = await services.moderation.reports(111)
    assert [(r.fact_id, r.reporter_id, r.status) for r in stored] == [("k-5b8224", 4242, "open")]


async def test_share_button_posts_publicly(services: Services) -> None:
    click = mock_interaction(services)
    await ShareButton(["k-5b8224"]).callback(click)
    kwargs = sent(click)
    assert kwargs["ephemeral"] is False
    assert "`k-5b8224`" in text_of(kwargs) or "k-5b8224" in text_of(kwargs)
    assert_safe(kwargs, DEFAULT_NOTICE)
