"""`python -m bot ask …`: every command offline, through the same answers and the same finalize step.

`--json` prints exactly what discord.py would send: the interaction-callback body
(`{"type": 4, "data": {...}}`) for commands, the list of message bodies for `/summary`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from bot.answers.base import Choice, choices_json
from bot.answers.reply import Reply
from bot.config import Settings
from bot.discord.services import Services
from bot.discord.views import fact_view
from bot.moderation.replies import (
    about_reply,
    autoreply,
    find_sources,
    paper_thread_for,
    reports_reply,
    stats_reply,
    summary_messages,
    unknown_concept,
    unknown_paper,
)
from bot.moderation.state import ModerationStore


def _ask_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot ask", description="Answer a command offline.")
    parser.add_argument("--json", action="store_true", help="print the exact payload Discord would receive")
    sub = parser.add_subparsers(dest="what", required=True)
    fact = sub.add_parser("fact", help="/fact query:… or /fact id:…")
    fact.add_argument("query", nargs="*")
    fact.add_argument("--id")
    fact.add_argument("--page", type=int, default=1)
    fact.add_argument("--private", action="store_true")
    for name, help_text in (("source", "/source query:…"), ("protocol", "/protocol name:…")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("query", nargs="+")
        p.add_argument("--private", action="store_true")
    compare = sub.add_parser("compare", help="/compare first:… second:…")
    compare.add_argument("first")
    compare.add_argument("second")
    compare.add_argument("--private", action="store_true")
    summary = sub.add_parser("summary", help="/summary concept:… or --source PAPER (the messages it would post)")
    summary.add_argument("concept", nargs="?", default="")
    summary.add_argument("--perspectives", action="store_true")
    summary.add_argument("--source", help="/summary source:… — a paper (title, DOI or link) as a forum thread")
    find = sub.add_parser("find-sources", help="the 'Find sources' message menu on this text")
    find.add_argument("text", nargs="+")
    auto = sub.add_parser("autoreply", help="what the bot would reply under a new forum post")
    auto.add_argument("title")
    auto.add_argument("body", nargs="*")
    complete = sub.add_parser("autocomplete", help="choices while typing: fact | source | protocol | compare")
    complete.add_argument("command", choices=("fact", "source", "protocol", "compare"))
    complete.add_argument("current", nargs="?", default="")
    stats = sub.add_parser("stats", help="/stats (of --guild; without it, rows that belong to no guild)")
    reports = sub.add_parser("reports", help="/reports (of --guild; without it, reports filed outside a guild)")
    reports.add_argument("status", nargs="?", default="open", choices=("open", "resolved", "all"))
    for p in (stats, reports):
        p.add_argument("--guild", type=int, default=None, help="the server (guild) id whose state to show")
    sub.add_parser("about", help="/about")
    for p in sub.choices.values():
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the exact payload")
    return parser


async def ask(settings: Settings, argv: Sequence[str]) -> int:
    args = _ask_parser().parse_args(list(argv))
    services = await Services.open(settings)
    try:
        output = await _answer(services, args)
    finally:
        await services.close()
    if isinstance(output, list) and output and isinstance(output[0], Choice):
        print(json.dumps(choices_json(output), ensure_ascii=False, indent=2))
        return 0
    replies = [r for r in (output if isinstance(output, list) else [output]) if isinstance(r, Reply)]
    ready = [services.delivery.prepare(r) for r in replies]
    if args.json:
        bodies: Any = (
            [r.message_body() for r in ready] if args.what in ("summary", "autoreply") else ready[0].callback_body()
        )
        print(json.dumps(bodies, ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(render_text(r) for r in ready))
    return 0


async def _answer(services: Services, args: argparse.Namespace) -> Reply | list[Reply] | list[Choice]:
    answers = services.answers
    if args.what == "fact":
        if args.id:
            return await answers.fact_by_id(args.id, private=args.private)
        query = " ".join(args.query)

        reply, page = await answers.fact(query, page=max(0, args.page - 1), private=args.private)
        reply.view = fact_view(0, page, private=args.private)
        return reply
    if args.what == "source":
        return await answers.source(" ".join(args.query), private=args.private)
    if args.what == "protocol":
        return await answers.protocol(" ".join(args.query), private=args.private)
    if args.what == "compare":
        return await answers.compare(args.first, args.second, private=args.private)
    if args.what == "summary" and (args.source or not args.concept):
        thread = await paper_thread_for(answers, args.source or "")
        if thread is None:
            return unknown_paper(args.source or "", [p.title for p in await services.store.papers()])
        for reply in thread.messages[:1]:
            reply.content = f"Thread title: {thread.title}"
        return thread.messages
    if args.what == "summary":
        messages = await summary_messages(services.store, args.concept, perspectives=args.perspectives)
        return messages if messages is not None else unknown_concept(args.concept, await services.store.concept_names())
    if args.what == "find-sources":
        return await find_sources(answers, " ".join(args.text))
    if args.what == "autoreply":
        found = await autoreply(answers, args.title, " ".join(args.body), services.settings.autoreply_threshold)
        if found is None:
            reason = "the store does not answer this post, or no fact clears AUTOREPLY_THRESHOLD"
            return Reply(content=f"(no auto-reply: {reason})", notice=False)
        return found
    if args.what == "autocomplete":
        complete = {
            "fact": answers.autocomplete_fact,
            "source": answers.autocomplete_source,
            "protocol": answers.autocomplete_protocol,
            "compare": answers.autocomplete_substance,
        }[args.command]
        return await complete(args.current)
    if args.what == "stats":
        stats = await services.moderation.stats(args.guild)
        return stats_reply(stats, services.started_at, services.settings.stats_retention_days)
    if args.what == "reports":
        return reports_reply(await services.moderation.reports(args.guild, args.status), args.status)
    return await about_reply(services.store, services.started_at, None, "offline console")


def render_text(reply: Reply) -> str:
    """A readable terminal rendering of a finalized reply."""
    lines: list[str] = []
    if reply.ephemeral:
        lines.append("(only you can see this)")
    if reply.content:
        lines.append(reply.content)
    for embed in reply.embeds:
        if embed.title:
            lines.append(f"━━ {embed.title} ━━")
        if embed.description:
            lines.append(embed.description)
        for field in embed.fields:
            lines.append(f"\n▸ {field.name}\n{field.value}")
        if embed.footer.text:
            lines.append(f"\n— {embed.footer.text}")
    if reply.view is not None:
        labels = [
            getattr(item, "label", None) or getattr(getattr(item, "item", None), "label", "")
            for item in reply.view.children
        ]
        lines.append("[" + "] [".join(str(label) for label in labels) + "]")
    return "\n".join(lines)


async def print_commands(settings: Settings, *, as_json: bool) -> int:
    """The JSON array the command tree PUTs on sync."""
    from bot.discord.runtime import COGS, create_bot

    bot = create_bot(settings)
    for extension in COGS:
        await bot.load_extension(extension)
    payload = [command.to_dict(bot.tree) for command in bot.tree.get_commands()]
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for command in payload:
            print(f"/{command['name']}: {command.get('description') or '(message menu)'}")
    return 0


async def forget_user(settings: Settings, user_id: int) -> int:
    """`python -m bot forget-user <user id>`: a member's deletion request; prints what was removed."""
    store = await ModerationStore.open(
        settings.state_database_path, lock_timeout=settings.state_lock_timeout_seconds, url=settings.state_url
    )
    try:
        removed = await store.forget_user(user_id)
    finally:
        await store.close()
    held = "the PostgreSQL moderator state" if settings.state_url else settings.state_database_path
    print(f"Removed what {held} held about user {user_id}:")
    for what, count in removed.items():
        print(f"  {count:>5}  {what}")
    print(
        "Query statistics never held the user id (only keyed hashes; those under earlier keys cannot be linked).\n"
        "Messages already posted in Discord (the moderator log channel) are not touched: delete them there."
    )
    return 0
