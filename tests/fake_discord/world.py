"""The fake's universe: one application/bot, one guild with a text channel and a forum, two humans.

`World.add_guild()` adds another guild (one text channel, a moderator and a member of its own) for
tests of a deployment that serves several servers; the first guild stays the default everywhere.

Why realistic payloads: discord.py indexes many keys directly (``data['attachment_size_limit']``,
``member['flags']``, ``app['bot_public']``...), so every object here carries the full field set
Discord sends (checked against the OpenAPI response schemas by the fake's self-check), not the
minimum that happens to work today.

IDs are fixed snowflakes (same every run) so tests can refer to them; objects created at run time
(messages, threads, interactions) get fresh, time-based snowflakes like Discord's.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (https://discord.com/developers/docs/topics/permissions)
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
MODERATOR_PERMS = EVERYONE_PERMS | MANAGE_THREADS | MANAGE_MESSAGES
BOT_PERMS = EVERYONE_PERMS | MANAGE_THREADS

# Gateway intents
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Application flags telling the client which privileged intents the app has been granted
APP_FLAG_GATEWAY_PRESENCE_LIMITED = 1 << 13
APP_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
APP_FLAG_APPLICATION_COMMAND_BADGE = 1 << 23
APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19

# Channel types / flags / message flags
CHANNEL_TEXT = 0
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_FORUM = 15
CHANNEL_FLAG_REQUIRE_TAG = 1 << 4
MSG_FLAG_EPHEMERAL = 1 << 6
MSG_FLAG_LOADING = 1 << 7

_FIXED_BASE_MS = 1704067200000  # 2024-01-01T00:00:00Z: when the fake's world "was created"


def fixed_snowflake(n: int) -> int:
    """A stable snowflake for world objects; all share a timestamp so they shard together."""
    return ((_FIXED_BASE_MS - DISCORD_EPOCH_MS) << 22) | (1 << 17) | n


class SnowflakeFactory:
    """Time-based snowflakes (timestamp, worker, increment) like Discord's, thread-safe."""

    def __init__(self, worker: int = 2) -> None:
        self._worker = worker & 0x1F
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            inc = next(self._counter) & 0xFFF
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (self._worker << 17) | inc


def iso(ts: float | None = None) -> str:
    """Discord's timestamp format: ISO 8601 with microseconds and +00:00."""
    when = _dt.datetime.fromtimestamp(ts if ts is not None else time.time(), tz=_dt.UTC)
    return when.isoformat(timespec="microseconds")


def snowflake_iso(snowflake: int) -> str:
    return iso(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000)


def user_payload(uid: int, username: str, *, bot: bool = False, global_name: str | None = None) -> dict[str, Any]:
    """A full user object (UserResponse)."""
    data: dict[str, Any] = {
        "id": str(uid),
        "username": username,
        "avatar": None,
        "discriminator": "0" if not bot else "4821",
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "global_name": global_name if not bot else None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }
    if bot:
        data["bot"] = True
    return data


def role_payload(
    rid: int, name: str, permissions: int, position: int, *, managed: bool = False, bot_id: int | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(rid),
        "name": name,
        "description": None,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": managed,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if bot_id is not None:
        data["tags"] = {"bot_id": str(bot_id)}
    return data


@dataclass
class Person:
    """A guild member the tests can act as (of the world's first guild unless ``guild_id`` says)."""

    key: str
    user: dict[str, Any]
    role_ids: list[int]
    joined_at: str
    guild_id: int | None = None

    @property
    def id(self) -> int:
        return int(self.user["id"])


@dataclass
class World:
    """All fixed ids and mutable state (channels, roles, members) of the fake universe."""

    application_id: int = fixed_snowflake(1)
    owner_id: int = fixed_snowflake(2)
    guild_id: int = fixed_snowflake(10)
    text_channel_id: int = fixed_snowflake(11)
    forum_channel_id: int = fixed_snowflake(12)
    moderator_role_id: int = fixed_snowflake(13)
    bot_role_id: int = fixed_snowflake(14)
    moderator_id: int = fixed_snowflake(20)
    member_id: int = fixed_snowflake(21)
    tag_names: tuple[str, ...] = ("ketamine", "psilocybin", "question", "paper")
    forum_require_tag: bool = False
    bot_permissions: int = BOT_PERMS
    guild_name: str = "Psychedelic Medicine Study Group"

    tag_ids: dict[str, int] = field(default_factory=dict)
    roles: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    bot_user: dict[str, Any] = field(default_factory=dict)
    owner_user: dict[str, Any] = field(default_factory=dict)
    #: further guilds (``add_guild``): id -> {"name", "roles", "text_channel_id"}
    extra_guilds: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        created = snowflake_iso(self.guild_id)
        self.bot_user = user_payload(self.application_id, "FactBot", bot=True)
        self.owner_user = user_payload(self.owner_id, "app_owner", global_name="App Owner")
        self.tag_ids = {name: fixed_snowflake(30 + i) for i, name in enumerate(self.tag_names)}
        self.roles = {
            self.guild_id: role_payload(self.guild_id, "@everyone", EVERYONE_PERMS, 0),
            self.moderator_role_id: role_payload(self.moderator_role_id, "Moderator", MODERATOR_PERMS, 2),
            self.bot_role_id: role_payload(
                self.bot_role_id, "FactBot", self.bot_permissions, 1, managed=True, bot_id=self.application_id
            ),
        }
        self.people = {
            "moderator": Person(
                "moderator",
                user_payload(self.moderator_id, "mod_mara", global_name="Mara (mod)"),
                [self.moderator_role_id],
                created,
            ),
            "member": Person(
                "member", user_payload(self.member_id, "curious_cat", global_name="Curious Cat"), [], created
            ),
            "bot": Person("bot", self.bot_user, [self.bot_role_id], created),
        }
        self.channels = {
            self.text_channel_id: self._text_channel(),
            self.forum_channel_id: self._forum_channel(),
        }

    # ---------------------------------------------------------------- guild objects

    def _text_channel(self) -> dict[str, Any]:
        return {
            "id": str(self.text_channel_id),
            "type": CHANNEL_TEXT,
            "guild_id": str(self.guild_id),
            "name": "general",
            "position": 0,
            "parent_id": None,
            "permission_overwrites": [],
            "topic": "Ask the fact bot here.",
            "nsfw": False,
            "last_message_id": None,
            "last_pin_timestamp": None,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 4320,
            "default_thread_rate_limit_per_user": 0,
            "flags": 0,
        }

    def _forum_channel(self) -> dict[str, Any]:
        return {
            "id": str(self.forum_channel_id),
            "type": CHANNEL_FORUM,
            "guild_id": str(self.guild_id),
            "name": "research-questions",
            "position": 1,
            "parent_id": None,
            "permission_overwrites": [],
            "topic": "One post per question; tag the substance.",
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "default_auto_archive_duration": 4320,
            "default_thread_rate_limit_per_user": 0,
            "flags": CHANNEL_FLAG_REQUIRE_TAG if self.forum_require_tag else 0,
            "available_tags": [
                {"id": str(tid), "name": name, "moderated": False, "emoji_id": None, "emoji_name": None}
                for name, tid in self.tag_ids.items()
            ],
            "default_reaction_emoji": None,
            "default_sort_order": None,
            "default_forum_layout": 0,
            "default_tag_setting": "match_some",
        }

    # ---------------------------------------------------------------- more than one guild

    @property
    def guild_ids(self) -> list[int]:
        return [self.guild_id, *self.extra_guilds]

    def guild_of(self, person: Person) -> int:
        return person.guild_id or self.guild_id

    def roles_of(self, guild_id: int) -> dict[int, dict[str, Any]]:
        return self.roles if guild_id == self.guild_id else self.extra_guilds[guild_id]["roles"]

    def guild_of_channel(self, channel_id: int) -> int:
        return int(self.channels[channel_id]["guild_id"])

    def bot_in(self, guild_id: int) -> Person:
        """The bot's member in a guild."""
        return next(p for p in self.people.values() if p.user is self.bot_user and self.guild_of(p) == guild_id)

    def add_guild(self, suffix: str = "b", name: str = "Second Server") -> int:
        """Another guild with the bot in it: @everyone, Moderator and bot roles, a text channel
        ("general") and two humans, ``moderator_<suffix>`` and ``member_<suffix>``. Returns its id."""
        base = 100 + 10 * len(self.extra_guilds)
        gid, text_id, mod_role, bot_role = (fixed_snowflake(base + i) for i in range(4))
        roles = {
            gid: role_payload(gid, "@everyone", EVERYONE_PERMS, 0),
            mod_role: role_payload(mod_role, "Moderator", MODERATOR_PERMS, 2),
            bot_role: role_payload(
                bot_role, "FactBot", self.bot_permissions, 1, managed=True, bot_id=self.application_id
            ),
        }
        self.extra_guilds[gid] = {"name": name, "roles": roles, "text_channel_id": text_id}
        channel = self._text_channel()
        channel.update({"id": str(text_id), "guild_id": str(gid)})
        self.channels[text_id] = channel
        joined = snowflake_iso(gid)
        for key, username, role_ids in (
            (f"moderator_{suffix}", f"mod_{suffix}", [mod_role]),
            (f"member_{suffix}", f"member_{suffix}", []),
        ):
            user = user_payload(fixed_snowflake(base + 4 + len(role_ids)), username, global_name=username.title())
            self.people[key] = Person(key, user, role_ids, joined, guild_id=gid)
        self.people[f"bot_{suffix}"] = Person(f"bot_{suffix}", self.bot_user, [bot_role], joined, guild_id=gid)
        return gid

    def person(self, who: str | int | Person) -> Person:
        """Look a member up by key ("moderator", "member", "bot") or user id."""
        if isinstance(who, Person):
            return who
        if isinstance(who, str) and who in self.people:
            return self.people[who]
        for p in self.people.values():
            if str(p.id) == str(who):
                return p
        raise KeyError(f"unknown person {who!r}; known: {sorted(self.people)}")

    def add_person(self, key: str, username: str, *, moderator: bool = False) -> Person:
        """Add another human member (e.g. for permission tests)."""
        uid = fixed_snowflake(40 + len(self.people))
        roles = [self.moderator_role_id] if moderator else []
        p = Person(key, user_payload(uid, username, global_name=username.title()), roles, snowflake_iso(self.guild_id))
        self.people[key] = p
        return p

    def base_permissions(self, person: Person) -> int:
        gid = self.guild_of(person)
        roles = self.roles_of(gid)
        perms = int(roles[gid]["permissions"])
        for rid in person.role_ids:
            perms |= int(roles[rid]["permissions"])
        if perms & ADMINISTRATOR or person.id == self.owner_id:
            return ALL_PERMISSIONS
        return perms

    def member_payload(self, person: Person, *, with_user: bool = True, permissions: bool = False) -> dict[str, Any]:
        """A guild member object; ``permissions`` adds the interaction-only ``permissions`` string."""
        data: dict[str, Any] = {
            "avatar": None,
            "banner": None,
            "communication_disabled_until": None,
            "deaf": False,
            "flags": 0,
            "joined_at": person.joined_at,
            "mute": False,
            "nick": None,
            "pending": False,
            "premium_since": None,
            "roles": [str(r) for r in person.role_ids],
            "unusual_dm_activity_until": None,
        }
        if with_user:
            data["user"] = dict(person.user)
        if permissions:
            data["permissions"] = str(self.base_permissions(person))
        return data

    def guild_payload(
        self,
        *,
        include_members: bool = True,
        threads: list[dict[str, Any]] | None = None,
        guild_id: int | None = None,
    ) -> dict[str, Any]:
        """The GUILD_CREATE payload (guild object plus gateway-only extra fields) of one guild."""
        gid = guild_id or self.guild_id
        extra = self.extra_guilds.get(gid)
        people = [p for p in self.people.values() if self.guild_of(p) == gid]
        members = [self.member_payload(p) for p in (people if include_members else [self.bot_in(gid)])]
        channels = [c for c in self.channels.values() if c.get("guild_id") == str(gid)]
        if threads is not None:
            threads = [t for t in threads if t.get("guild_id") == str(gid)]
        return {
            "id": str(gid),
            "name": extra["name"] if extra else self.guild_name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": list(self.roles_of(gid).values()),
            "emojis": [],
            "features": ["COMMUNITY", "NEWS"],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(extra["text_channel_id"] if extra else self.text_channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
            "incidents_data": None,
            # gateway-only GUILD_CREATE fields
            "joined_at": snowflake_iso(gid),
            "large": False,
            "unavailable": False,
            "member_count": len(people),
            "voice_states": [],
            "members": members,
            "channels": [c for c in channels if c["type"] not in (10, 11, 12)],
            "threads": threads if threads is not None else [c for c in channels if c["type"] in (10, 11, 12)],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "lazy": True,
            "version": int(time.time() * 1000),
        }

    def application_payload(self, flags: int) -> dict[str, Any]:
        """GET /oauth2/applications/@me (PrivateApplicationResponse + keys discord.py indexes)."""
        return {
            "id": str(self.application_id),
            "name": "FactBot",
            "icon": None,
            "description": "Answers questions about psychedelic and dissociative medicine from sourced facts.",
            "summary": "",
            "type": None,
            "bot": dict(self.bot_user),
            "rpc_origins": [],
            "bot_public": False,
            "bot_require_code_grant": False,
            "integration_types_config": {"0": {}},
            "verify_key": "a" * 64,
            "flags": flags,
            "flags_new": str(flags),
            "max_participants": None,
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "owner": dict(self.owner_user),
            "approximate_guild_count": 1,
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "team": None,
            "eligible_oauth2_scopes": ["bot", "applications.commands"],
            "hook": True,
            "storefront_available": False,
            "is_monetized": False,
            "is_verified": False,
            "is_discoverable": False,
        }

    def me_payload(self) -> dict[str, Any]:
        """GET /users/@me for a bot token (UserPIIResponse)."""
        data = dict(self.bot_user)
        data.update({"mfa_enabled": False, "locale": "en-US", "premium_type": 0, "email": None, "verified": True})
        return data
