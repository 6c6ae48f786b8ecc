"""The fake gateway: HELLO/heartbeat/IDENTIFY/READY/GUILD_CREATE, RESUME with replay, sharding.

Why it behaves this way (all checked against discord.py 2.7.1's ``gateway.py``):

* discord.py connects to ``<gateway>?v=10&encoding=json&compress=zlib-stream`` (``zstd-stream`` if
  ``zstandard`` is importable). For zlib-stream we do what Discord does: one ``zlib.compressobj``
  per connection, every message flushed with ``Z_SYNC_FLUSH`` and sent as a binary frame, so the
  client's streaming decompressor (which waits for the ``00 00 ff ff`` suffix) is really exercised.
  Without ``compress`` we send plain text frames (discord.py accepts both).
* Sessions outlive connections: events pushed while a shard is disconnected are buffered and
  replayed on RESUME (op 6) before ``RESUMED``, exactly like Discord. A client closing with 1000/1001
  ends its session (a later RESUME gets op 9 ``false``), as on Discord.
* Events are routed per shard with Discord's formula ``(guild_id >> 22) % num_shards``; DMs go to
  shard 0. Intents gate events, privileged intents the app lacks close the socket with 4014, and
  MESSAGE_CREATE/UPDATE content is blanked without the MESSAGE_CONTENT intent (unless the bot is
  the author or is mentioned).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .world import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

BUFFER_LIMIT = 5000

_GUILD_INTENT_EVENTS = {
    "GUILD_UPDATE",
    "GUILD_DELETE",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_UPDATE",
    "GUILD_ROLE_DELETE",
    "CHANNEL_CREATE",
    "CHANNEL_UPDATE",
    "CHANNEL_DELETE",
    "CHANNEL_PINS_UPDATE",
    "THREAD_CREATE",
    "THREAD_UPDATE",
    "THREAD_DELETE",
    "THREAD_LIST_SYNC",
    "THREAD_MEMBER_UPDATE",
    "STAGE_INSTANCE_CREATE",
    "STAGE_INSTANCE_UPDATE",
    "STAGE_INSTANCE_DELETE",
}
_MEMBER_INTENT_EVENTS = {"GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE", "THREAD_MEMBERS_UPDATE"}
_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"}
_REACTION_EVENTS = {
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "MESSAGE_REACTION_REMOVE_ALL",
    "MESSAGE_REACTION_REMOVE_EMOJI",
}


def shard_for(guild_id: int, num_shards: int) -> int:
    """Discord's sharding formula."""
    return (int(guild_id) >> 22) % max(1, num_shards)


@dataclass
class GatewayConnection:
    """One websocket. Sends are serialised so seq order == wire order and zlib state stays valid."""

    ws: web.WebSocketResponse
    path: str
    query: dict[str, str]
    transport: Any
    compress: str | None
    opened_at: float = field(default_factory=time.monotonic)
    session: GatewaySession | None = None
    identified: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    heartbeats: int = 0
    close_code: int | None = None
    _zlib: Any = None

    def __post_init__(self) -> None:
        if self.compress == "zlib-stream":
            self._zlib = zlib.compressobj()

    @property
    def open(self) -> bool:
        return not self.ws.closed

    async def send_locked(self, payload: dict[str, Any]) -> None:
        """Send one gateway payload; caller holds ``self.lock``."""
        if self.ws.closed:
            raise ConnectionResetError("gateway socket closed")
        raw = json.dumps(payload, separators=(",", ":")).encode()
        if self._zlib is not None:
            await self.ws.send_bytes(self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
        else:
            await self.ws.send_str(raw.decode())

    async def send(self, payload: dict[str, Any]) -> None:
        async with self.lock:
            await self.send_locked(payload)


@dataclass
class GatewaySession:
    """A Discord session: survives disconnects, owns the sequence number and the replay buffer."""

    session_id: str
    shard: tuple[int, int] | None
    intents: int
    identify: dict[str, Any]
    seq: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    conn: GatewayConnection | None = None
    resumable: bool = True
    superseded: bool = False
    ready_at: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def shard_id(self) -> int:
        return self.shard[0] if self.shard else 0

    @property
    def shard_count(self) -> int:
        return self.shard[1] if self.shard else 1

    def covers_guild(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.shard_id == 0
        return shard_for(guild_id, self.shard_count) == self.shard_id

    @property
    def connected(self) -> bool:
        return self.conn is not None and self.conn.open

    async def push(self, event: str, data: dict[str, Any]) -> int:
        """Assign the next seq, buffer for RESUME, send if connected. Returns the seq."""
        async with self.lock:
            self.seq += 1
            payload = {"op": OP_DISPATCH, "t": event, "s": self.seq, "d": data}
            self.buffer.append(payload)
            if len(self.buffer) > BUFFER_LIMIT:
                del self.buffer[: len(self.buffer) - BUFFER_LIMIT]
            conn = self.conn
            if conn is not None and conn.open:
                # if the socket just died the event stays buffered; a RESUME will replay it
                with contextlib.suppress(ConnectionResetError, RuntimeError):
                    await conn.send(payload)
            return self.seq


def _wants(event: str, data: dict[str, Any], intents: int) -> bool:
    if event in _GUILD_INTENT_EVENTS:
        return bool(intents & INTENT_GUILDS)
    if event in _MEMBER_INTENT_EVENTS:
        return bool(intents & INTENT_GUILD_MEMBERS)
    if event in _MESSAGE_EVENTS:
        return bool(intents & (INTENT_GUILD_MESSAGES if data.get("guild_id") else INTENT_DIRECT_MESSAGES))
    if event in _REACTION_EVENTS:
        return bool(intents & INTENT_GUILD_MESSAGE_REACTIONS) if data.get("guild_id") else True
    return True


class Gateway:
    """Owns sessions and connections; the aiohttp websocket handler lives here."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []

    # ------------------------------------------------------------------ helpers for the fake

    def live_sessions(self, shard: int | None = None) -> list[GatewaySession]:
        out = [s for s in self.sessions.values() if s.resumable and not s.superseded]
        if shard is not None:
            out = [s for s in out if s.shard_id == shard]
        return out

    def sessions_for(self, guild_id: int | None, shard: int | None = None) -> list[GatewaySession]:
        if shard is not None:
            return self.live_sessions(shard)
        return [s for s in self.live_sessions() if s.covers_guild(guild_id)]

    def _filter_for(self, session: GatewaySession, event: str, data: dict[str, Any]) -> dict[str, Any] | None:
        if not _wants(event, data, session.intents):
            return None
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & INTENT_MESSAGE_CONTENT:
            bot_id = str(self.fake.world.application_id)
            author = (data.get("author") or {}).get("id")
            mentioned = any(str(m.get("id")) == bot_id for m in data.get("mentions") or [])
            if data.get("guild_id") and author != bot_id and not mentioned:
                data = dict(data)
                for key, empty in (("content", ""), ("embeds", []), ("attachments", []), ("components", [])):
                    if key in data:
                        data[key] = empty
                data.pop("poll", None)
        return data

    async def dispatch(
        self, event: str, data: dict[str, Any], *, guild_id: int | None = None, shard: int | None = None
    ) -> list[GatewaySession]:
        """Push a DISPATCH to every live session that would receive it on Discord."""
        gid = guild_id if guild_id is not None else (int(data["guild_id"]) if data.get("guild_id") else None)
        targets = []
        for session in self.sessions_for(gid, shard):
            filtered = self._filter_for(session, event, data)
            if filtered is None:
                continue
            await session.push(event, filtered)
            targets.append(session)
        self.fake._record_event(event, data, targets)
        return targets

    async def close_all(self, code: int, *, shard: int | None = None, abrupt: bool = False) -> int:
        conns = [
            c for c in self.connections if c.open and (shard is None or (c.session and c.session.shard_id == shard))
        ]
        for conn in conns:
            conn.close_code = code
            if abrupt and conn.transport is not None:
                conn.transport.abort()
            else:
                await conn.ws.close(code=code, message=b"fake close")
        return len(conns)

    async def send_op(self, payload: dict[str, Any], *, shard: int | None = None) -> int:
        conns = [c for c in self.connections if c.open and c.session and (shard is None or c.session.shard_id == shard)]
        for conn in conns:
            await conn.send(payload)
        return len(conns)

    # ------------------------------------------------------------------ websocket handler

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        query = dict(request.query)
        compress = query.get("compress")
        transport = request.transport
        await ws.prepare(request)
        conn = GatewayConnection(
            ws=ws,
            path=request.path,
            query=query,
            transport=transport,
            compress=compress if compress == "zlib-stream" else None,
        )
        self.connections.append(conn)
        fake.gateway_connects.append({"path": request.path, "query": query, "at": time.time()})
        fake._notify()

        if query.get("v") not in ("10",):
            fake._violation("gateway", f"gateway connect with v={query.get('v')!r}; discord.py should use v=10")
            await ws.close(code=4012, message=b"Invalid API version")
            return ws
        if query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Decode error")
            return ws
        if compress not in (None, "zlib-stream", "zstd-stream"):
            await ws.close(code=4002, message=b"Invalid compression")
            return ws
        if compress == "zstd-stream":
            fake.notes.append("client asked for zstd-stream; the fake sends plain text frames instead")

        await conn.send(
            {
                "op": OP_HELLO,
                "d": {
                    "heartbeat_interval": fake.heartbeat_interval_ms,
                    "_trace": ['["gateway-prd-fake",{"micros":0.0}]'],
                },
                "s": None,
                "t": None,
            }
        )
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                try:
                    payload = json.loads(msg.data)
                except (TypeError, ValueError):
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_payload(conn, payload)
        finally:
            code = ws.close_code
            conn.close_code = conn.close_code or code
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # A client-initiated 1000/1001 close ends the session on Discord.
                if conn.close_code in (1000, 1001) and code in (1000, 1001):
                    session.resumable = False
            fake.gateway_disconnects.append(
                {"session_id": session.session_id if session else None, "code": conn.close_code, "at": time.time()}
            )
            fake._notify()
        return ws

    async def _on_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        fake = self.fake
        op = payload.get("op")
        d = payload.get("d")
        if op == OP_HEARTBEAT:
            conn.heartbeats += 1
            await conn.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            return
        if op == OP_IDENTIFY:
            await self._identify(conn, d or {})
            return
        if op == OP_RESUME:
            await self._resume(conn, d or {})
            return
        if conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
            return
        if op == OP_PRESENCE_UPDATE:
            fake.presence_updates.append(d)
            return
        if op == OP_REQUEST_GUILD_MEMBERS:
            await self._request_members(conn, d or {})
            return
        if op == OP_VOICE_STATE_UPDATE:
            fake.notes.append(f"voice state update ignored: {d!r}")
            return
        fake._violation("gateway", f"unknown gateway opcode {op!r}")
        await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        fake = self.fake
        fake.identifies.append(d)
        fake._notify()
        if conn.identified:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if fake.check_token and d.get("token") != fake.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        props = d.get("properties")
        if not isinstance(props, dict) or not {"os", "browser", "device"} <= props.keys():
            fake._violation("gateway", f"IDENTIFY properties must have os/browser/device: {props!r}")
        intents = d.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~fake.privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard_raw = d.get("shard")
        shard: tuple[int, int] | None = None
        if shard_raw is not None:
            if (
                not isinstance(shard_raw, list)
                or len(shard_raw) != 2
                or not all(isinstance(x, int) for x in shard_raw)
                or not 0 <= shard_raw[0] < shard_raw[1]
            ):
                await conn.ws.close(code=4010, message=b"Invalid shard.")
                return
            shard = (shard_raw[0], shard_raw[1])
        if fake.session_start_remaining <= 0:
            await conn.ws.close(code=4000, message=b"Session start limit reached")
            return
        fake.session_start_remaining -= 1

        # A fresh IDENTIFY for the same shard replaces the old session (the old process is gone).
        for old in self.sessions.values():
            if old.shard == shard and old.conn is None:
                old.superseded = True

        session = GatewaySession(session_id=secrets.token_hex(16), shard=shard, intents=intents, identify=d)
        session.conn = conn
        conn.session = session
        conn.identified = True
        self.sessions[session.session_id] = session

        world = fake.world
        guild_ids = [g for g in world.guild_ids if session.covers_guild(g)]
        ready = {
            "v": 10,
            "user_settings": {},
            "user": fake.world.me_payload(),
            "session_type": "normal",
            "session_id": session.session_id,
            "resume_gateway_url": fake.resume_gateway_url,
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east", "us-central"],
            "game_relationships": [],
            "auth": {},
            "application": {"id": str(world.application_id), "flags": fake.application_flags},
            "_trace": ['["gateway-prd-fake",{"micros":0.0}]'],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        await session.push("READY", ready)
        for gid in guild_ids:
            guild = world.guild_payload(
                include_members=bool(intents & INTENT_GUILD_MEMBERS), threads=fake._active_threads(), guild_id=gid
            )
            await session.push("GUILD_CREATE", guild)
        session.ready_at = time.monotonic()
        fake._notify()

    async def _resume(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        fake = self.fake
        session = self.sessions.get(str(d.get("session_id")))
        record: dict[str, Any] = {
            "session_id": d.get("session_id"),
            "seq": d.get("seq"),
            "path": conn.path,
            "ok": False,
            "replayed": 0,
        }
        fake.resumes.append(record)
        if fake.check_token and d.get("token") != fake.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            fake._notify()
            return
        seq = d.get("seq")
        if (
            session is None
            or not session.resumable
            or session.superseded
            or not isinstance(seq, int)
            or seq > session.seq
        ):
            await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            fake._notify()
            return
        async with session.lock:
            missed = [p for p in session.buffer if p["s"] > seq]
            if session.buffer and missed and missed[0]["s"] != seq + 1:
                # the gap is older than our buffer: Discord would invalidate
                await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
                fake._notify()
                return
            old = session.conn
            session.conn = conn
            conn.session = session
            conn.identified = True
            async with conn.lock:
                for payload in missed:
                    await conn.send_locked(payload)
            record["replayed"] = len(missed)
        if old is not None and old is not conn and old.open:
            await old.ws.close(code=4000, message=b"session resumed elsewhere")
        await session.push("RESUMED", {"_trace": ['["gateway-prd-fake",{"micros":0.0}]']})
        record["ok"] = True
        fake._notify()

    async def _request_members(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        fake = self.fake
        session = conn.session
        assert session is not None
        world = fake.world
        gid = int(d.get("guild_id") or 0)
        if gid not in world.guild_ids:
            return
        query = d.get("query")
        user_ids = d.get("user_ids")
        if query == "" and not session.intents & INTENT_GUILD_MEMBERS:
            await conn.ws.close(code=4013, message=b"Requesting all members needs GUILD_MEMBERS.")
            return
        people = [p for p in world.people.values() if world.guild_of(p) == gid]
        if user_ids:
            ids = {str(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
            people = [p for p in people if str(p.id) in ids]
        elif query:
            people = [p for p in people if p.user["username"].lower().startswith(str(query).lower())]
        limit = d.get("limit") or 0
        if limit:
            people = people[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(gid),
            "members": [world.member_payload(p) for p in people],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        if d.get("presences"):
            chunk["presences"] = []
        await session.push("GUILD_MEMBERS_CHUNK", chunk)
