"""The Discord runtime: the bot class, its command tree, command sync, heartbeat and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import sys
import time
import uuid
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.answers.render import message_reply
from bot.config import Settings, require_token
from bot.discord import faults, outage
from bot.discord.health import write_heartbeat
from bot.discord.logs import setup_logging
from bot.discord.services import Services
from bot.discord.views import DYNAMIC_ITEMS
from bot.facts.dbfaults import reported
from bot.facts.ingest import build_database, data_hash, stored_hash

log = logging.getLogger("factbot")
COGS = ("cogs.facts", "cogs.forum", "cogs.moderation")
HEARTBEAT_SECONDS = 30.0


class FactTree(app_commands.CommandTree[Any]):
    """One error handler for every app command: a short ephemeral answer, the traceback in the log."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        services: Services | None = getattr(interaction.client, "services", None)
        if isinstance(error, app_commands.CommandOnCooldown):
            reply = message_reply("Slow down", f"You can ask again in {error.retry_after:.0f} s.")
        elif isinstance(error, app_commands.MissingPermissions | app_commands.NoPrivateMessage):
            reply = message_reply(
                "Moderators only",
                "This command needs the **Manage Threads** permission"
                + (" and must be used in a server." if isinstance(error, app_commands.NoPrivateMessage) else "."),
            )
        elif isinstance(error, app_commands.CheckFailure):
            reply = message_reply("Not allowed", str(error) or "You cannot use this command here.")
        elif faults.is_storage_error(original := getattr(error, "original", error)):
            reference = faults.reference()  # a write the moderator state could not take: one line, no traceback
            command = interaction.command.qualified_name if interaction.command else "?"
            faults.log_fault(f"command {command}", original, reference, command=command)
            reply = faults.not_saved("change", reference)
        else:
            reference = uuid.uuid4().hex[:8]
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error(
                "command %s failed (error ref %s)",
                command,
                reference,
                exc_info=error,
                extra={"command": command, "error_ref": reference},
            )
            reply = message_reply(
                "Something went wrong",
                f"Sorry, that failed on our side (error ref `{reference}`). The moderators can look it up in the log.",
                error=True,
            )
        if services is None:
            return
        try:
            await services.delivery.respond(interaction, reply)
        except faults.DELIVERY_ERRORS:
            log.warning("could not deliver the error message for interaction %s", interaction.id)


class FactBotMixin:
    """Behaviour shared by the single-process and the sharded bot."""

    settings: Settings
    services: Services

    def _init_factbot(self, settings: Settings) -> None:
        self.settings = settings
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._extensions_loaded = False
        self.synced = False

    async def setup_hook(self) -> None:
        """Runs on every login attempt (a login that failed half-way is retried): idempotent."""
        bot: commands.Bot = self  # type: ignore[assignment]
        if getattr(self, "services", None) is None:
            self.services = await Services.open(self.settings)
        if not self._extensions_loaded:
            bot.add_dynamic_items(*DYNAMIC_ITEMS)
            for extension in COGS:
                await bot.load_extension(extension)
            self._extensions_loaded = True
        await self.sync_commands()
        self.start_heartbeat()

    def start_heartbeat(self) -> None:
        if self._heartbeat_task is None:
            self._heartbeat_task = asyncio.create_task(self._heartbeat_loop())

    async def sync_commands(self) -> None:
        """Sync only when what Discord holds (GET) differs from the tree, per guild or globally."""
        bot: commands.Bot = self  # type: ignore[assignment]
        targets: list[discord.Object | None] = [discord.Object(g) for g in self.settings.guild_ids] or [None]
        for guild in targets:
            if guild is not None:
                bot.tree.copy_global_to(guild=guild)
            local = [c.to_dict(bot.tree) for c in bot.tree.get_commands(guild=guild)]
            remote = await self._remote_commands(guild)
            where = f"guild {guild.id}" if guild else "globally"
            if command_fingerprint(local) == command_fingerprint(remote):
                log.info("commands unchanged %s; not syncing", where)
                continue
            await bot.tree.sync(guild=guild)
            self.synced = True
            log.info("synced %d commands %s", len(local), where)

    async def _remote_commands(self, guild: discord.Object | None) -> list[dict[str, Any]]:
        """The raw JSON Discord holds: `AppCommand.to_dict()` drops default_member_permissions and nsfw."""
        bot: commands.Bot = self  # type: ignore[assignment]
        app_id = bot.application_id
        assert app_id is not None
        if guild is None:
            return [dict(c) for c in await bot.http.get_global_commands(app_id)]
        return [dict(c) for c in await bot.http.get_guild_commands(app_id, guild.id)]

    async def _heartbeat_loop(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        while not bot.is_closed():
            self.write_heartbeat()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    def write_heartbeat(self, connected: bool | None = None) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        latency = bot.latency
        if connected is None:
            if isinstance(bot, commands.AutoShardedBot):
                shards = bot.shards.values()
                live = bool(shards) and all(not s.is_closed() for s in shards)
            else:
                live = bot.ws is not None and bot.ws.open  # the old socket stays set while reconnecting
            connected = bot.is_ready() and not bot.is_closed() and live
        write_heartbeat(
            self.settings.health_file,
            shard_ids=list(self.settings.shard_ids) or None,
            latency_ms=None if latency != latency or latency == float("inf") else round(latency * 1000, 1),
            connected=connected,
        )

    async def on_ready(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        log.info("ready as %s in %d guilds", bot.user, len(bot.guilds))
        self.write_heartbeat()

    async def on_resumed(self) -> None:
        log.info("gateway session resumed")
        self.write_heartbeat()

    async def on_disconnect(self) -> None:
        """discord.py keeps `is_ready()` true across a drop; the health file must not."""
        self.write_heartbeat(connected=False)

    async def on_connect(self) -> None:
        self.write_heartbeat()

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """An event handler (a forum auto-reply) that failed on a write or a send: one line, not a traceback."""
        error = sys.exc_info()[1]
        if error is not None and (faults.is_storage_error(error) or isinstance(error, faults.DELIVERY_ERRORS)):
            faults.log_fault(f"event {event_method}", error, faults.reference())
            return
        await super().on_error(event_method, *args, **kwargs)  # type: ignore[misc]

    async def close(self) -> None:
        """The Discord side only: `_serve` owns the databases and closes them after this."""
        bot: commands.Bot = self  # type: ignore[assignment]
        if self._heartbeat_task:
            self._heartbeat_task.cancel()
        for view in list(bot.persistent_views):
            view.stop()
        await super().close()  # type: ignore[misc]
        write_heartbeat(self.settings.health_file, shard_ids=None, latency_ms=None, connected=False)

    async def forget_session(self) -> None:
        """After a failed login attempt: drop the half-made HTTP session so the next attempt starts clean."""
        bot: commands.Bot = self  # type: ignore[assignment]
        with contextlib.suppress(Exception):
            await bot.http.close()
        bot.http.clear()
        bot.http.connector = discord.utils.MISSING
        self.write_heartbeat(connected=False)


class FactBot(FactBotMixin, commands.Bot):
    def __init__(self, settings: Settings) -> None:
        super().__init__(**_bot_options(settings))
        self._init_factbot(settings)


class ShardedFactBot(FactBotMixin, commands.AutoShardedBot):
    def __init__(self, settings: Settings) -> None:
        options = _bot_options(settings)
        options["shard_count"] = settings.shard_count
        if settings.shard_ids:
            options["shard_ids"] = list(settings.shard_ids)
        super().__init__(**options)
        self._init_factbot(settings)


def _bot_options(settings: Settings) -> dict[str, Any]:
    intents = discord.Intents.default()
    intents.message_content = settings.message_content_intent
    return {
        "command_prefix": commands.when_mentioned,
        "help_command": None,
        "intents": intents,
        "tree_cls": FactTree,
        "allowed_mentions": discord.AllowedMentions.none(),
        "max_messages": 200,
        "chunk_guilds_at_startup": False,
        "allowed_installs": app_commands.AppInstallationType(guild=True, user=False),
        "max_ratelimit_timeout": faults.MAX_RATE_LIMIT_WAIT,  # a longer 429 is reported, not slept through
    }


def create_bot(settings: Settings) -> FactBot | ShardedFactBot:
    return ShardedFactBot(settings) if settings.shard_count else FactBot(settings)


def command_fingerprint(payload: list[dict[str, Any]]) -> str:
    """A stable hash of what matters in a command list, so local and remote can be compared."""
    return hashlib.sha256(
        json.dumps(
            [_canonical(c) for c in sorted(payload, key=lambda c: (c.get("type", 1), c["name"]))], sort_keys=True
        ).encode()
    ).hexdigest()


_COMMAND_KEYS = (
    "name",
    "description",
    "type",
    "options",
    "default_member_permissions",
    "nsfw",
    "contexts",
    "integration_types",
    "name_localizations",
    "description_localizations",
)
_OPTION_KEYS = (
    "name",
    "description",
    "type",
    "required",
    "choices",
    "options",
    "autocomplete",
    "channel_types",
    "min_value",
    "max_value",
    "min_length",
    "max_length",
)


def _canonical(command: dict[str, Any], keys: tuple[str, ...] = _COMMAND_KEYS) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        value = command.get(key)
        if value in (None, [], {}, False) and key not in ("type",):
            continue
        if key == "options":
            value = [_canonical(o, _OPTION_KEYS) for o in value or []]
        if key == "default_member_permissions":
            value = str(value)
        if key == "description" and command.get("type", 1) != 1:
            continue  # Discord stores "" for context menus
        out[key] = value
    out.setdefault("type", 1)
    return out


def point_at_discord(settings: Settings) -> None:
    """Honour DISCORD_API_BASE / DISCORD_GATEWAY_URL (REST proxies, and tests against a local fake)."""
    discord.http.Route.BASE = settings.discord_api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


STOP_SECONDS = 2.5  # SIGTERM to exit, whatever the bot is doing; compose waits 15 s, the issue allows 3


async def _serve(settings: Settings, token: str) -> None:
    """Open the databases, then connect (waiting out outages) until SIGTERM/SIGINT; then close everything."""
    services = await Services.open(settings, build=False)  # a bad file is one line before any network traffic
    bot = create_bot(settings)
    bot.services = services
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop(signame: str) -> None:
        if not stopping.is_set():
            log.info("%s received; shutting down", signame)
            stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop, sig.name)
    serving = asyncio.create_task(_connect(bot, settings, token))
    stopped = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done() and not stopping.is_set():
            serving.result()  # LoginFailure, PrivilegedIntentsRequired: reported by `run`
    finally:
        stopped.cancel()
        await _shutdown(bot, services, serving, time.monotonic() + STOP_SECONDS)


async def _connect(bot: FactBot | ShardedFactBot, settings: Settings, token: str) -> None:
    bot.start_heartbeat()  # the health file says "disconnected" from the first second, not "missing"
    await outage.until_reachable(settings, token, lambda: bot.login(token), bot.forget_session)
    await bot.connect(reconnect=True)


async def _shutdown(
    bot: FactBot | ShardedFactBot, services: Services, serving: asyncio.Task[None], deadline: float
) -> None:
    """Cancel whatever the bot was doing (a backoff sleep, a handshake), close Discord, then the databases."""
    serving.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(serving, timeout=max(0.1, deadline - time.monotonic() - 1.0))
    try:
        await asyncio.wait_for(bot.close(), timeout=max(0.1, deadline - time.monotonic() - 0.5))
    except Exception as exc:  # TimeoutError included
        log.warning("Discord connection not closed cleanly (%s); closing the databases anyway", outage.reason(exc))
    await services.close()
    write_heartbeat(bot.settings.health_file, shard_ids=None, latency_ms=None, connected=False)


def run(settings: Settings) -> int:
    """`python -m bot run`: 0 after a clean stop; 2 with one line for a bad token, intent or file."""
    token = require_token(settings)
    setup_logging(settings)
    point_at_discord(settings)
    outage.install(settings)
    started = time.monotonic()
    # Before the event loop, so SIGTERM mid-build unwinds (bot.cli) and the half-built file is removed.
    with reported("fact database", settings.database_path, "the previous database (if any) was kept"):
        if stored_hash(settings.database_path) != data_hash(settings.data_dir):
            log.info("fact database out of date: rebuilding %s from %s", settings.database_path, settings.data_dir)
            build_database(settings.data_dir, settings.database_path)
    try:
        asyncio.run(_serve(settings, token))
    except discord.LoginFailure:
        print(
            "error: Discord rejected DISCORD_TOKEN (401 Unauthorized): check it in the developer portal "
            "(Bot → Reset Token); not retrying",
            file=sys.stderr,
        )
        return 2
    except discord.PrivilegedIntentsRequired:
        print(
            "error: Discord refused the Message Content intent: switch on Bot → Message Content Intent "
            "in the developer portal, or set MESSAGE_CONTENT_INTENT=false",
            file=sys.stderr,
        )
        return 2
    log.info("stopped cleanly after %.1f s", time.monotonic() - started)
    return 0
