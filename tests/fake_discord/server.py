"""``FakeDiscord``: Discord's REST API (v10) and gateway on 127.0.0.1, strict like the real thing.

Why strict: the point of the fake is to catch, offline, what production Discord would reject or
what would make users see "This interaction failed". So:

* every JSON (or multipart ``payload_json``) body is validated against the OpenAPI file plus
  Discord's unstated rules (see ``schema.py``); failures are answered 400/50035 *and* recorded in
  ``violations`` so a test fails even if the bot swallows the HTTPException;
* interaction callbacks obey the 3-second rule (late -> 404/10062), the acknowledge-once rule
  (-> 400/40060) and the allowed callback types per interaction type;
* unknown routes are recorded in ``unhandled`` and answered ``404 {"message": "404: Not Found",
  "code": 0}`` so a missing route is loud, not a silent hang;
* every JSON response carries ``Content-Type: application/json`` *exactly*: discord.py's
  ``json_or_text`` compares the header with ``==`` and treats anything else (e.g. aiohttp's
  ``json_response`` default ``application/json; charset=utf-8``) as text, which then crashes
  ``InteractionCallbackResponse``;
* the fake's own 2xx responses are validated against the spec's response schemas; mismatches go to
  ``fake_errors`` (a bug in the fake, reported separately so nobody blames the bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import schema
from .gateway import OP_INVALID_SESSION, OP_RECONNECT, Gateway, GatewaySession, shard_for
from .interactions import (
    ALLOWED_CALLBACKS,
    APPLICATION_COMMAND,
    APPLICATION_COMMAND_AUTOCOMPLETE,
    APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_UPDATE_MESSAGE,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    UPDATE_MESSAGE,
    InteractionRecord,
    ResponseEvent,
    median_ms,
)
from .world import (
    APP_FLAG_APPLICATION_COMMAND_BADGE,
    APP_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED,
    APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED,
    APP_FLAG_GATEWAY_PRESENCE_LIMITED,
    CHANNEL_FLAG_REQUIRE_TAG,
    CHANNEL_FORUM,
    CHANNEL_PUBLIC_THREAD,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    INTENT_MESSAGE_CONTENT,
    MANAGE_THREADS,
    MSG_FLAG_EPHEMERAL,
    MSG_FLAG_LOADING,
    PRIVILEGED_INTENTS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Person,
    SnowflakeFactory,
    World,
    iso,
)

log = logging.getLogger("fake_discord")

JSON_CT = "application/json"
DEFAULT_TOKEN = "fake-bot-token.NOT-A-REAL-TOKEN.0123456789"
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
#: Message flags a bot may set when creating a message / interaction reply.
_SETTABLE_FLAGS = (1 << 2) | MSG_FLAG_EPHEMERAL | (1 << 12) | (1 << 15)


class DiscordHTTPError(Exception):
    """Raised by route handlers to answer the way Discord answers an error."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


@dataclass
class RecordedRequest:
    """One HTTP request the bot made, with what the fake answered."""

    method: str
    path: str  # relative to api_base, e.g. "/channels/123/messages"
    template: str | None  # the spec's path template, e.g. "/channels/{channel_id}/messages"
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[dict[str, Any]]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int | None = None
    response: Any = None

    @property
    def route(self) -> str:
        return f"{self.method} {self.template or self.path}"


@dataclass
class Violation:
    """Something production Discord would reject or users would notice."""

    kind: str  # invalid-body | interaction | gateway | auth | permissions | state
    message: str
    method: str | None = None
    path: str | None = None
    body: Any = None
    errors: list[schema.FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        where = f" [{self.method} {self.path}]" if self.method else ""
        detail = "".join(f"\n      - {e.dotted()}: {e.code}: {e.message} ({e.detail})" for e in self.errors)
        return f"{self.kind}: {self.message}{where}{detail}"


Handler = Callable[[RecordedRequest], Awaitable[tuple[int, Any]]]


@dataclass
class InjectedFault:
    """One failure the fake plays for a route (see ``FakeDiscord.fail_next``); ``hits`` counts its answers."""

    method: str
    template: str
    status: int
    remaining: int
    retry_after: float
    delay: float
    hits: int = 0

    async def respond(self, req: RecordedRequest, notify: Callable[[], None]) -> web.Response:
        self.hits += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        req.status = self.status
        notify()
        if self.status == 429:
            body = {"message": "You are being rate limited.", "retry_after": self.retry_after, "global": False}
            req.response = body
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(max(1, round(self.retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": str(self.retry_after),
                "X-RateLimit-Bucket": "fake-bucket",
                "X-RateLimit-Scope": "user",
            }
            response = json_response(body, 429)
            response.headers.update(headers)
            return response
        if self.status == 500:
            req.response = {"message": "500: Internal Server Error", "code": 0}
            return json_response(req.response, 500)
        req.response = f"<html><body><h1>{self.status}</h1>upstream unavailable</body></html>"
        return web.Response(status=self.status, text=req.response, content_type="text/html")


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in {"1", "true", "yes"}


def json_response(data: Any, status: int = 200) -> web.Response:
    """A response whose Content-Type is exactly ``application/json`` (see module docstring)."""
    return web.Response(status=status, body=json.dumps(data).encode(), headers={"Content-Type": JSON_CT})


class FakeDiscord:
    """A local Discord (REST v10 + gateway). Use as ``async with FakeDiscord() as fake:``.

    Connection details for the bot: ``fake.api_base`` (``http://127.0.0.1:PORT/api/v10``),
    ``fake.gateway_url`` (``ws://127.0.0.1:PORT/gateway``), ``fake.token``; ``fake.bot_env()``
    gives the env vars for ``python -m bot run``.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        check_token: bool = True,
        ack_deadline: float = 3.0,
        token_ttl: float = 15 * 60.0,
        heartbeat_interval_ms: int = 41250,
        privileged_intents: int = PRIVILEGED_INTENTS,
        recommended_shards: int = 1,
        forum_require_tag: bool = False,
        echo_events: bool = True,
        validate_responses: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.check_token = check_token
        self.ack_deadline = ack_deadline
        self.token_ttl = token_ttl
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.privileged_intents = privileged_intents
        self.recommended_shards = recommended_shards
        self.echo_events = echo_events
        self.validate_responses = validate_responses
        self.host = host
        self.requested_port = port  # 0: any free port; a fixed one lets a test start the fake after the bot
        self.world = World(forum_require_tag=forum_require_tag)
        self.snowflake = SnowflakeFactory()
        self.session_start_total = 1000
        self.session_start_remaining = 1000

        # What happened (read these in tests)
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.unhandled: list[str] = []
        self.fake_errors: list[str] = []
        self.notes: list[str] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.gateway_connects: list[dict[str, Any]] = []
        self.gateway_disconnects: list[dict[str, Any]] = []
        self.presence_updates: list[Any] = []
        self.dispatched: list[tuple[str, dict[str, Any], list[str]]] = []
        self.sync_puts = 0
        self.sync_log: list[dict[str, Any]] = []
        self.rtt_ms: list[float] = []

        # State
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.reactions: list[tuple[str, int, int, str]] = []  # (op, channel, message, emoji)
        self.interactions: dict[int, InteractionRecord] = {}
        self._by_token: dict[str, InteractionRecord] = {}
        self._awaiting_starter: set[int] = set()  # forum posts whose starter message is not sent yet

        self.gateway = Gateway(self)
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._register_handlers()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._changed: asyncio.Event | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._faults: list[InjectedFault] = []

    # ================================================================== lifecycle

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind a free port on 127.0.0.1 and start serving."""
        schema.load_spec()  # parse once, before the bot starts timing anything
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway-resume", self.gateway.handle)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._api)
        app.router.add_route("*", "/{tail:.*}", self._not_api)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        self._port = sock.getsockname()[1]
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.SockSite(self._runner, sock)
        await site.start()

    async def close(self) -> None:
        """Stop timers, close sockets (1001 Going Away) and the server."""
        for t in self._timers:
            t.cancel()
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self.gateway.connections):
            if conn.open:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=1001, message=b"fake shutting down"), 2)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        if self._port is None:
            if self.requested_port:
                return self.requested_port  # known before start: the bot may be pointed at it first
            raise RuntimeError("FakeDiscord not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """Deliberately different from ``gateway_url`` so tests can see the client honours it."""
        return f"ws://{self.host}:{self.port}/gateway-resume"

    @property
    def application_flags(self) -> int:
        flags = APP_FLAG_APPLICATION_COMMAND_BADGE
        if self.privileged_intents & INTENT_GUILD_PRESENCES:
            flags |= APP_FLAG_GATEWAY_PRESENCE_LIMITED
        if self.privileged_intents & INTENT_GUILD_MEMBERS:
            flags |= APP_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED
        if self.privileged_intents & INTENT_MESSAGE_CONTENT:
            flags |= APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED
        return flags

    def bot_env(self) -> dict[str, str]:
        """Environment for ``python -m bot run`` against this fake."""
        return {
            "DISCORD_TOKEN": self.token,
            "DISCORD_API_BASE": self.api_base,
            "DISCORD_GATEWAY_URL": self.gateway_url,
        }

    @contextlib.contextmanager
    def patch_discord_py(self) -> Iterator[None]:
        """Point an in-process discord.py at the fake (``Route.BASE``/``DEFAULT_GATEWAY``), then restore."""
        import yarl
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

        old_base, old_gw = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        Route.BASE = self.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gw

    # ================================================================== recording & waiting

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        """Wait until ``predicate()`` is true (re-checked whenever the fake records something)."""
        assert self._changed is not None, "FakeDiscord not started"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            self._changed.clear()
            if predicate():
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))

    async def wait_for_ready(self, count: int = 1, timeout: float = 10.0) -> list[GatewaySession]:
        """Wait until ``count`` sessions have been sent READY (+ their GUILD_CREATEs)."""
        await self.wait_until(lambda: len(self.gateway.live_sessions()) >= count, timeout, f"{count} READY session(s)")
        return self.gateway.live_sessions()

    async def wait_for_resume(self, count: int = 1, timeout: float = 15.0) -> dict[str, Any]:
        await self.wait_until(
            lambda: sum(r["ok"] for r in self.resumes) >= count, timeout, f"{count} successful RESUME(s)"
        )
        return [r for r in self.resumes if r["ok"]][count - 1]

    async def wait_for_identify(self, count: int = 1, timeout: float = 10.0) -> dict[str, Any]:
        await self.wait_until(lambda: len(self.identifies) >= count, timeout, f"{count} IDENTIFY(s)")
        return self.identifies[count - 1]

    async def wait_for_request(
        self, method: str, template: str, count: int = 1, timeout: float = 10.0
    ) -> RecordedRequest:
        """Wait for the ``count``-th request to (method, spec template); returns it."""
        await self.wait_until(
            lambda: len(self.requests_to(method, template)) >= count, timeout, f"{method} {template} x{count}"
        )
        return self.requests_to(method, template)[count - 1]

    async def wait_for_commands(self, guild_id: int | None = None, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until commands have been synced (globally or to ``guild_id``)."""
        await self.wait_until(lambda: guild_id in self.commands, timeout, f"command sync (guild={guild_id})")
        return self.commands[guild_id]

    def requests_to(self, method: str, template: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method.upper() and r.template == template]

    def _violation(
        self,
        kind: str,
        message: str,
        *,
        req: RecordedRequest | None = None,
        errors: list[schema.FieldError] | None = None,
        record: InteractionRecord | None = None,
    ) -> None:
        v = Violation(
            kind,
            message,
            req.method if req else None,
            req.path if req else None,
            req.json if req else None,
            list(errors or []),
        )
        self.violations.append(v)
        if record is not None:
            record.violations.append(str(v))
            record._touch()
        log.warning("fake discord violation: %s", v)
        self._notify()

    def _record_event(self, event: str, data: dict[str, Any], targets: list[GatewaySession]) -> None:
        self.dispatched.append((event, data, [s.session_id for s in targets]))
        self._notify()

    def problems(self) -> list[str]:
        out = [str(v) for v in self.violations]
        out += [f"unhandled route: {u}" for u in self.unhandled]
        out += [f"FAKE BUG (not the bot): {e}" for e in self.fake_errors]
        return out

    def assert_clean(self) -> None:
        """Fail if the bot broke a Discord rule, hit an unknown route, or the fake misbehaved."""
        problems = self.problems()
        if problems:
            raise AssertionError("Fake Discord saw problems:\n  " + "\n  ".join(problems))

    def median_rtt_ms(self) -> float | None:
        """Median dispatch -> callback time over all acknowledged interactions."""
        return median_ms(self.rtt_ms)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ================================================================== gateway controls

    async def dispatch(self, event: str, data: dict[str, Any], *, shard: int | None = None) -> int:
        """Push a raw DISPATCH event (routed by ``data['guild_id']`` like Discord). Returns #sessions."""
        return len(await self.gateway.dispatch(event, data, shard=shard))

    async def close_gateway(self, code: int = 4000, *, shard: int | None = None, abrupt: bool = False) -> int:
        """Close gateway sockets with ``code`` (or drop TCP if ``abrupt``); the bot should RESUME."""
        return await self.gateway.close_all(code, shard=shard, abrupt=abrupt)

    async def send_reconnect(self, *, shard: int | None = None) -> int:
        """Send op 7 RECONNECT; discord.py closes and RESUMEs."""
        return await self.gateway.send_op({"op": OP_RECONNECT, "d": None, "s": None, "t": None}, shard=shard)

    async def invalidate_session(self, *, resumable: bool = False, shard: int | None = None) -> int:
        """Send op 9; with ``resumable=False`` the session is gone and the bot must IDENTIFY again."""
        if not resumable:
            for s in self.gateway.live_sessions(shard):
                s.resumable = False
        return await self.gateway.send_op({"op": OP_INVALID_SESSION, "d": resumable, "s": None, "t": None}, shard=shard)

    def _active_threads(self) -> list[dict[str, Any]]:
        return [
            c
            for c in self.world.channels.values()
            if c["type"] in (10, 11, 12) and not c["thread_metadata"]["archived"]
        ]

    # ================================================================== HTTP plumbing

    async def _not_api(self, request: web.Request) -> web.Response:
        self.unhandled.append(f"{request.method} {request.path}")
        self._notify()
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            body: Any = None
            files: list[dict[str, Any]] = []
            reader = await request.multipart()
            async for part in reader:
                if part is None:
                    break
                name = getattr(part, "name", None)
                data = await part.read()  # type: ignore[union-attr]
                if name == "payload_json":
                    body = json.loads(data.decode() or "null")
                else:
                    files.append(
                        {
                            "field": name,
                            "filename": getattr(part, "filename", None),
                            "size": len(data),
                            "content_type": part.headers.get("Content-Type"),
                        }
                    )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        if ctype != JSON_CT:
            self.notes.append(f"{request.method} {request.path}: body with content-type {ctype!r}")
        return json.loads(raw.decode()), []

    async def _api(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method.upper()
        match = schema.route_table().match(path)
        template, params = (match[0], match[1]) if match else (None, {})
        req = RecordedRequest(
            method, path, template, params, dict(request.query), None, [], {k: v for k, v in request.headers.items()}
        )
        self.requests.append(req)
        injected = self._injected(req)
        if injected is not None:
            return await injected.respond(req, self._notify)
        try:
            try:
                req.json, req.files = await self._read_body(request)
            except (ValueError, UnicodeDecodeError):
                raise DiscordHTTPError(400, 50109, "The request body contains invalid JSON.") from None
            status, body = await self._handle(req)
        except DiscordHTTPError as err:
            status, body = err.status, err.body()
        req.status, req.response = status, body
        self._notify()
        if status == 204 or body is None:
            return web.Response(status=204 if status < 300 else status)
        if self.validate_responses and 200 <= status < 300 and template:
            self._self_check(template, method, status, body)
        return json_response(body, status)

    def fail_next(
        self,
        method: str,
        template: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float = 0.5,
        delay: float = 0.0,
    ) -> InjectedFault:
        """Answer the next ``times`` matching requests with ``status`` the way Discord's edge does.

        429 carries ``retry_after`` in the body and the headers (and ``Via``, which discord.py checks
        to tell a rate limit from a Cloudflare ban); 500 is Discord's JSON error; 502 and 503 are the
        HTML page of a proxy. ``delay`` holds the answer back first (a slow or hanging Discord).
        ``template`` is the spec's path template, e.g. ``/gateway/bot``.
        """
        fault = InjectedFault(method.upper(), template, status, times, retry_after, delay)
        self._faults.append(fault)
        return fault

    def _injected(self, req: RecordedRequest) -> InjectedFault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.method == req.method and fault.template == req.template:
                fault.remaining -= 1
                return fault
        return None

    def _self_check(self, template: str, method: str, status: int, body: Any) -> None:
        validator = schema.response_validator(template, method, status)
        if validator is None:
            return
        errs = schema.schema_errors(validator, body)
        if errs:
            self.fake_errors.append(
                f"{method} {template} -> {status} response does not match the spec: "
                + "; ".join(f"{e.dotted()}: {e.detail}" for e in errs[:5])
            )

    def _check_auth(self, req: RecordedRequest) -> None:
        if req.template and (
            req.template.startswith("/interactions/")
            or req.template.startswith("/webhooks/{webhook_id}/{webhook_token}")
        ):
            return  # token-authenticated routes; discord.py sends no Authorization here
        auth = req.headers.get("Authorization", "")
        ok = auth.startswith("Bot ") and (not self.check_token or auth == f"Bot {self.token}")
        if not ok:
            self._violation("auth", f"bad or missing Authorization header {auth[:12]!r}...", req=req)
            raise DiscordHTTPError(401, 0, "401: Unauthorized")

    async def _handle(self, req: RecordedRequest) -> tuple[int, Any]:
        if req.template is None:
            self.unhandled.append(f"{req.method} {req.path}")
            raise DiscordHTTPError(404, 0, "404: Not Found")
        op = schema.operation_for(req.template, req.method)
        if op is None:
            self.unhandled.append(f"{req.method} {req.template} (method not in spec)")
            raise DiscordHTTPError(405, 0, "405: Method Not Allowed")
        self._check_auth(req)
        handler = self._handlers.get((req.method, req.template))
        if handler is None:
            self.unhandled.append(f"{req.method} {req.template}")
            raise DiscordHTTPError(404, 0, "404: Not Found")
        if req.json is not None or op.has_body:
            self._validate_body(req)
        return await handler(req)

    def _validate_body(self, req: RecordedRequest) -> None:
        assert req.template is not None
        errors: list[schema.FieldError] = []
        validator = schema.request_validator(req.template, req.method)
        if validator is not None:
            errors += schema.schema_errors(validator, req.json)
        errors += self._extra_rules(req)
        if errors:
            self._violation(
                "invalid-body",
                "request body rejected (400 Invalid Form Body)",
                req=req,
                errors=errors,
                record=self._record_for_request(req),
            )
            if all(e.code == "EMPTY_MESSAGE" for e in errors):
                raise DiscordHTTPError(400, 50006, "Cannot send an empty message")
            raise DiscordHTTPError(400, 50035, "Invalid Form Body", schema.errors_to_discord(errors))

    def _extra_rules(self, req: RecordedRequest) -> list[schema.FieldError]:
        body, t, m = req.json, req.template, req.method
        files = bool(req.files)
        if t in (
            "/applications/{application_id}/commands",
            "/applications/{application_id}/guilds/{guild_id}/commands",
        ):
            if m == "PUT":
                return schema.bulk_command_rules(body)
            if m == "POST" and isinstance(body, Mapping):
                return schema.command_rules(body)
        if t and t.endswith("/commands/{command_id}") and m == "PATCH" and isinstance(body, Mapping) and "name" in body:
            return (
                schema.command_rules({"type": 1, "description": "x", **body})
                if "description" not in body
                else schema.command_rules(body)
            )
        if not isinstance(body, Mapping):
            return []
        if t == "/channels/{channel_id}/messages" and m == "POST":
            return schema.message_rules(body, has_files=files)
        if t == "/channels/{channel_id}/messages/{message_id}" and m == "PATCH":
            return schema.message_rules(body, require_content=False)
        if t == "/channels/{channel_id}/threads" and m == "POST" and isinstance(body.get("message"), Mapping):
            return schema.message_rules(body["message"], ("message",), has_files=files)
        if t == "/webhooks/{webhook_id}/{webhook_token}" and m == "POST":
            return schema.message_rules(body, has_files=files)
        if t and t.startswith("/webhooks/{webhook_id}/{webhook_token}/messages/") and m == "PATCH":
            return schema.message_rules(body, require_content=False)
        if t == "/interactions/{interaction_id}/{interaction_token}/callback":
            ctype = body.get("type")
            if ctype == CHANNEL_MESSAGE_WITH_SOURCE:
                return (
                    schema.message_rules(body.get("data"), ("data",), has_files=files)
                    if body.get("data") is not None
                    else [
                        schema.FieldError(
                            ("data",), "EMPTY_MESSAGE", "Cannot send an empty message", "type 4 without data"
                        )
                    ]
                )
            if ctype in (UPDATE_MESSAGE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE):
                return schema.message_rules(body.get("data"), ("data",), require_content=False)
        return []

    def _record_for_request(self, req: RecordedRequest) -> InteractionRecord | None:
        token = req.params.get("interaction_token") or req.params.get("webhook_token")
        return self._by_token.get(token) if token else None

    # ================================================================== route table

    def _register_handlers(self) -> None:
        h = self._handlers
        h[("GET", "/users/@me")] = self._h_me
        h[("GET", "/users/{user_id}")] = self._h_user
        h[("GET", "/oauth2/applications/@me")] = self._h_application
        h[("GET", "/applications/@me")] = self._h_application
        h[("GET", "/gateway")] = self._h_gateway
        h[("GET", "/gateway/bot")] = self._h_gateway_bot
        for t in (
            "/applications/{application_id}/commands",
            "/applications/{application_id}/guilds/{guild_id}/commands",
        ):
            h[("GET", t)] = self._h_commands_get
            h[("PUT", t)] = self._h_commands_put
            h[("POST", t)] = self._h_command_post
            h[("GET", t + "/{command_id}")] = self._h_command_get
            h[("PATCH", t + "/{command_id}")] = self._h_command_patch
            h[("DELETE", t + "/{command_id}")] = self._h_command_delete
        h[("GET", "/applications/{application_id}/guilds/{guild_id}/commands/permissions")] = self._h_empty_list
        h[("POST", "/interactions/{interaction_id}/{interaction_token}/callback")] = self._h_callback
        h[("POST", "/webhooks/{webhook_id}/{webhook_token}")] = self._h_followup
        for t in (
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
        ):
            h[("GET", t)] = self._h_webhook_message_get
            h[("PATCH", t)] = self._h_webhook_message_patch
            h[("DELETE", t)] = self._h_webhook_message_delete
        h[("GET", "/channels/{channel_id}")] = self._h_channel_get
        h[("PATCH", "/channels/{channel_id}")] = self._h_channel_patch
        h[("GET", "/channels/{channel_id}/messages")] = self._h_messages_list
        h[("POST", "/channels/{channel_id}/messages")] = self._h_message_create
        h[("GET", "/channels/{channel_id}/messages/{message_id}")] = self._h_message_get
        h[("PATCH", "/channels/{channel_id}/messages/{message_id}")] = self._h_message_patch
        h[("DELETE", "/channels/{channel_id}/messages/{message_id}")] = self._h_message_delete
        h[("POST", "/channels/{channel_id}/threads")] = self._h_thread_create
        h[("POST", "/channels/{channel_id}/typing")] = self._h_no_content
        h[("PUT", "/channels/{channel_id}/thread-members/@me")] = self._h_no_content
        h[("DELETE", "/channels/{channel_id}/thread-members/@me")] = self._h_no_content
        h[("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")] = self._h_reaction
        h[("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")] = self._h_reaction
        h[("GET", "/guilds/{guild_id}")] = self._h_guild
        h[("GET", "/guilds/{guild_id}/channels")] = self._h_guild_channels
        h[("GET", "/guilds/{guild_id}/roles")] = self._h_guild_roles
        h[("GET", "/guilds/{guild_id}/members/{user_id}")] = self._h_guild_member
        h[("GET", "/guilds/{guild_id}/threads/active")] = self._h_active_threads

    # ------------------------------------------------------------------ simple routes

    async def _h_me(self, req: RecordedRequest) -> tuple[int, Any]:
        return 200, self.world.me_payload()

    async def _h_user(self, req: RecordedRequest) -> tuple[int, Any]:
        try:
            return 200, dict(self.world.person(req.params["user_id"]).user)
        except KeyError:
            raise DiscordHTTPError(404, 10013, "Unknown User") from None

    async def _h_application(self, req: RecordedRequest) -> tuple[int, Any]:
        return 200, self.world.application_payload(self.application_flags)

    async def _h_gateway(self, req: RecordedRequest) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _h_gateway_bot(self, req: RecordedRequest) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": self.session_start_total,
                "remaining": self.session_start_remaining,
                "reset_after": 14400000,
                "max_concurrency": 1,
            },
        }

    async def _h_empty_list(self, req: RecordedRequest) -> tuple[int, Any]:
        return 200, []

    async def _h_no_content(self, req: RecordedRequest) -> tuple[int, Any]:
        self._channel(req.params["channel_id"])
        return 204, None

    async def _h_reaction(self, req: RecordedRequest) -> tuple[int, Any]:
        cid, mid = int(req.params["channel_id"]), int(req.params["message_id"])
        self._channel(cid)
        self._message(mid, cid)
        self.reactions.append((req.method, cid, mid, req.params["emoji_name"]))
        return 204, None

    async def _h_guild(self, req: RecordedRequest) -> tuple[int, Any]:
        self._guild(req.params["guild_id"])
        g = self.world.guild_payload(guild_id=int(req.params["guild_id"]))
        for k in (
            "joined_at",
            "large",
            "unavailable",
            "member_count",
            "voice_states",
            "members",
            "channels",
            "threads",
            "presences",
            "stage_instances",
            "guild_scheduled_events",
            "soundboard_sounds",
            "embedded_activities",
            "lazy",
            "version",
        ):
            g.pop(k, None)
        g.update(
            {
                "home_header": None,
                "nsfw": False,
                "approximate_member_count": g["member_count"],
                "approximate_presence_count": 0,
            }
        )
        return 200, g

    async def _h_guild_channels(self, req: RecordedRequest) -> tuple[int, Any]:
        self._guild(req.params["guild_id"])
        return 200, [
            copy.deepcopy(c)
            for c in self.world.channels.values()
            if c["type"] not in (10, 11, 12) and c.get("guild_id") == req.params["guild_id"]
        ]

    async def _h_guild_roles(self, req: RecordedRequest) -> tuple[int, Any]:
        self._guild(req.params["guild_id"])
        return 200, list(self.world.roles_of(int(req.params["guild_id"])).values())

    async def _h_guild_member(self, req: RecordedRequest) -> tuple[int, Any]:
        self._guild(req.params["guild_id"])
        try:
            return 200, self.world.member_payload(self.world.person(req.params["user_id"]))
        except KeyError:
            raise DiscordHTTPError(404, 10007, "Unknown Member") from None

    async def _h_active_threads(self, req: RecordedRequest) -> tuple[int, Any]:
        self._guild(req.params["guild_id"])
        threads = self._active_threads()
        members = [self._thread_member(int(t["id"])) for t in threads]
        return 200, {"threads": copy.deepcopy(threads), "members": members}

    def _guild(self, gid: str | int) -> None:
        if str(gid) not in map(str, self.world.guild_ids):
            raise DiscordHTTPError(404, 10004, "Unknown Guild")

    def _channel(self, cid: str | int) -> dict[str, Any]:
        try:
            return self.world.channels[int(cid)]
        except (KeyError, ValueError):
            raise DiscordHTTPError(404, 10003, "Unknown Channel") from None

    def _message(self, mid: str | int, cid: str | int | None = None) -> dict[str, Any]:
        try:
            msg = self.messages[int(mid)]
        except (KeyError, ValueError):
            raise DiscordHTTPError(404, 10008, "Unknown Message") from None
        if cid is not None and str(msg["channel_id"]) != str(cid):
            raise DiscordHTTPError(404, 10008, "Unknown Message")
        return msg

    # ------------------------------------------------------------------ commands

    def _cmd_scope(self, req: RecordedRequest) -> int | None:
        if req.params.get("application_id") != str(self.world.application_id):
            self._violation(
                "state", f"command route for foreign application {req.params.get('application_id')}", req=req
            )
            raise DiscordHTTPError(403, 50001, "Missing Access")
        gid = req.params.get("guild_id")
        if gid is not None:
            self._guild(gid)
            return int(gid)
        return None

    def _normalise_command(
        self, body: Mapping[str, Any], scope: int | None, old: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Echo a command the way Discord does: what was sent plus server fields (id, version...)."""
        nullable = {"default_member_permissions", "contexts", "name_localizations", "description_localizations"}

        def strip(node: Any) -> Any:  # Discord omits null optionals in what it echoes back
            if isinstance(node, dict):
                return {k: strip(v) for k, v in node.items() if v is not None}
            if isinstance(node, list):
                return [strip(v) for v in node]
            return node

        cmd = {
            k: (copy.deepcopy(v) if k in nullable else strip(v))
            for k, v in body.items()
            if k != "id" and (v is not None or k in nullable)
        }
        cmd["type"] = cmd.get("type") or 1
        cmd.setdefault("integration_types", [0])
        cmd.setdefault("description", "")
        dmp = cmd.get("default_member_permissions")
        cmd["default_member_permissions"] = None if dmp is None else str(dmp)
        cmd.setdefault("nsfw", False)
        if scope is not None:
            cmd["guild_id"] = str(scope)
        cmd["application_id"] = str(self.world.application_id)
        cmd["id"] = old["id"] if old else str(self.snowflake())
        same = old is not None and {k: v for k, v in old.items() if k != "version"} == cmd
        cmd["version"] = old["version"] if (old and same) else str(self.snowflake())
        return cmd

    async def _h_commands_get(self, req: RecordedRequest) -> tuple[int, Any]:
        return 200, copy.deepcopy(self.commands.get(self._cmd_scope(req), []))

    async def _h_commands_put(self, req: RecordedRequest) -> tuple[int, Any]:
        scope = self._cmd_scope(req)
        existing = {(c["type"], c["name"]): c for c in self.commands.get(scope, [])}
        new = [
            self._normalise_command(c, scope, existing.get((c.get("type") or 1, c.get("name"))))
            for c in (req.json or [])
        ]
        self.commands[scope] = new
        self.sync_puts += 1
        self.sync_log.append({"guild_id": scope, "names": [c["name"] for c in new], "at": time.time()})
        return 200, copy.deepcopy(new)

    async def _h_command_post(self, req: RecordedRequest) -> tuple[int, Any]:
        scope = self._cmd_scope(req)
        cmds = self.commands.setdefault(scope, [])
        key = (req.json.get("type") or 1, req.json.get("name"))
        old = next((c for c in cmds if (c["type"], c["name"]) == key), None)
        cmd = self._normalise_command(req.json, scope, old)
        if old is not None:
            cmds[cmds.index(old)] = cmd
            return 200, copy.deepcopy(cmd)
        cmds.append(cmd)
        return 201, copy.deepcopy(cmd)

    def _find_command(self, req: RecordedRequest) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        cmds = self.commands.get(self._cmd_scope(req), [])
        for c in cmds:
            if c["id"] == req.params["command_id"]:
                return cmds, c
        raise DiscordHTTPError(404, 10063, "Unknown application command")

    async def _h_command_get(self, req: RecordedRequest) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._find_command(req)[1])

    async def _h_command_patch(self, req: RecordedRequest) -> tuple[int, Any]:
        cmds, old = self._find_command(req)
        merged = {
            **{k: v for k, v in old.items() if k not in ("id", "version", "application_id", "guild_id")},
            **req.json,
        }
        cmd = self._normalise_command(merged, self._cmd_scope(req), old)
        cmds[cmds.index(old)] = cmd
        return 200, copy.deepcopy(cmd)

    async def _h_command_delete(self, req: RecordedRequest) -> tuple[int, Any]:
        cmds, old = self._find_command(req)
        cmds.remove(old)
        return 204, None

    def find_command(self, name: str, *, type: int = 1, guild_id: int | None = None) -> dict[str, Any]:
        """A synced command by name: guild-scoped first (``guild_id`` or the world guild), then global."""
        scopes: list[int | None] = [guild_id if guild_id is not None else self.world.guild_id, None]
        for scope in scopes:
            for c in self.commands.get(scope, []):
                if c["name"] == name and c["type"] == type:
                    return c
        raise LookupError(
            f"command {name!r} (type {type}) has not been synced; synced: "
            + str({k: [c["name"] for c in v] for k, v in self.commands.items()})
        )

    # ------------------------------------------------------------------ messages

    def _render_components(self, components: Any) -> list[dict[str, Any]]:
        counter = [0]

        def walk(node: Any) -> Any:
            if isinstance(node, list):
                return [walk(n) for n in node]
            if isinstance(node, dict):
                out = {k: walk(v) for k, v in node.items() if v is not None}
                if "type" in out:
                    counter[0] += 1
                    out.setdefault("id", counter[0])
                return out
            return node

        rendered: list[dict[str, Any]] = walk(copy.deepcopy(components or []))
        return rendered

    @staticmethod
    def _render_embeds(embeds: Any) -> list[dict[str, Any]]:
        out = []
        for e in embeds or []:
            e = {k: copy.deepcopy(v) for k, v in e.items() if v is not None}
            e.setdefault("type", "rich")
            for f in e.get("fields") or []:
                f.setdefault("inline", False)
            e["content_scan_version"] = 0
            out.append(e)
        return out

    def _mentions(self, content: str) -> tuple[list[dict[str, Any]], list[str]]:
        users, roles = [], []
        for uid in re.findall(r"<@!?(\d+)>", content or ""):
            with contextlib.suppress(KeyError):
                users.append(dict(self.world.person(uid).user))
        for rid in re.findall(r"<@&(\d+)>", content or ""):
            if int(rid) in self.world.roles:
                roles.append(rid)
        return users, roles

    def _attachments(
        self, channel_id: int, body: Mapping[str, Any], files: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        out = []
        for i, f in enumerate(files):
            aid = self.snowflake()
            meta: dict[str, Any] = next((a for a in body.get("attachments") or [] if str(a.get("id")) == str(i)), {})
            name = f.get("filename") or meta.get("filename") or f"file{i}"
            out.append(
                {
                    "id": str(aid),
                    "filename": name,
                    "size": f["size"],
                    "url": f"https://cdn.discordapp.com/attachments/{channel_id}/{aid}/{name}",
                    "proxy_url": f"https://media.discordapp.net/attachments/{channel_id}/{aid}/{name}",
                    "content_type": f.get("content_type") or "application/octet-stream",
                }
            )
            if meta.get("description"):
                out[-1]["description"] = meta["description"]
        return out

    def make_message(
        self,
        *,
        channel_id: int,
        body: Mapping[str, Any],
        author: Person | None = None,
        msg_type: int = 0,
        files: list[dict[str, Any]] | None = None,
        flags: int = 0,
        message_id: int | None = None,
        interaction: InteractionRecord | None = None,
    ) -> dict[str, Any]:
        """Build and store a full message object (MessageResponse shape)."""
        author = author or self.world.people["bot"]
        mid = message_id or self.snowflake()
        content = body.get("content") or ""
        mentions, mention_roles = self._mentions(content)
        msg: dict[str, Any] = {
            "type": msg_type,
            "content": content,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": self._attachments(channel_id, body, files or []),
            "embeds": self._render_embeds(body.get("embeds")),
            "timestamp": iso(),
            "edited_timestamp": None,
            "flags": flags | (int(body.get("flags") or 0) & _SETTABLE_FLAGS & ~MSG_FLAG_EPHEMERAL),
            "components": self._render_components(body.get("components")),
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": dict(author.user),
            "pinned": False,
            "mention_everyone": False,
            "tts": bool(body.get("tts")),
        }
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        if body.get("poll"):
            msg["poll"] = copy.deepcopy(body["poll"])
        channel = self.world.channels.get(channel_id)
        if channel is not None and channel["type"] in (10, 11, 12):
            channel["message_count"] += 1 if int(channel["id"]) != mid else 0
            channel["total_message_sent"] += 1 if int(channel["id"]) != mid else 0
            msg["position"] = channel["total_message_sent"] if int(channel["id"]) != mid else 0
        if channel is not None:
            channel["last_message_id"] = str(mid)
        if interaction is not None:
            app = str(self.world.application_id)
            msg["application_id"] = app
            msg["webhook_id"] = app
            msg["interaction_metadata"] = self._interaction_metadata(interaction)
            ip = interaction.payload
            if interaction.type == APPLICATION_COMMAND:
                msg["interaction"] = {
                    "id": str(interaction.id),
                    "type": interaction.type,
                    "name": (ip.get("data") or {}).get("name", ""),
                    "user": msg["interaction_metadata"]["user"],
                }
        self.messages[mid] = msg
        return msg

    def _interaction_metadata(self, rec: InteractionRecord | None) -> dict[str, Any]:
        """``message.interaction_metadata`` for a message created in response to ``rec``."""
        if rec is None:  # a modal opened by an interaction the fake did not record
            return {
                "id": str(self.snowflake()),
                "type": APPLICATION_COMMAND,
                "user": dict(self.world.people["member"].user),
                "authorizing_integration_owners": {"0": str(self.world.guild_id)},
            }
        ip = rec.payload
        meta: dict[str, Any] = {
            "id": str(rec.id),
            "type": rec.type,
            "user": (ip.get("member") or {}).get("user") or ip.get("user"),
            "authorizing_integration_owners": ip.get("authorizing_integration_owners", {}),
        }
        data = ip.get("data") or {}
        if rec.type == APPLICATION_COMMAND and data.get("type") == 3:
            meta["target_message_id"] = data.get("target_id")
        if rec.type == APPLICATION_COMMAND and data.get("type") == 2:
            meta["target_user"] = (data.get("resolved") or {}).get("users", {}).get(str(data.get("target_id")))
        if rec.type == MESSAGE_COMPONENT:
            meta["interacted_message_id"] = (ip.get("message") or {}).get("id")
        if rec.type == MODAL_SUBMIT:
            meta["triggering_interaction_metadata"] = self._interaction_metadata(rec.triggered_by)
        if rec.original is not None:
            meta["original_response_message_id"] = rec.original["id"]
        return {k: v for k, v in meta.items() if v is not None}

    def _gateway_message(self, msg: dict[str, Any]) -> dict[str, Any]:
        data = copy.deepcopy(msg)
        channel = self.world.channels.get(int(msg["channel_id"]))
        if channel is not None and channel.get("guild_id"):
            data["guild_id"] = channel["guild_id"]
            with contextlib.suppress(KeyError):
                data["member"] = self.world.member_payload(self.world.person(msg["author"]["id"]), with_user=False)
        return data

    def _echo(self, event: str, data: dict[str, Any]) -> None:
        if self.echo_events:
            self._spawn(self.gateway.dispatch(event, data))

    def _echo_message(self, event: str, msg: dict[str, Any]) -> None:
        if int(msg.get("flags") or 0) & MSG_FLAG_EPHEMERAL:
            return
        if event == "MESSAGE_DELETE":
            data = {"id": msg["id"], "channel_id": msg["channel_id"]}
            channel = self.world.channels.get(int(msg["channel_id"]))
            if channel and channel.get("guild_id"):
                data["guild_id"] = channel["guild_id"]
            self._echo(event, data)
        else:
            self._echo(event, self._gateway_message(msg))

    def _bot_can(self, channel: dict[str, Any], perm: int) -> bool:
        perms = self.world.base_permissions(self.world.people["bot"])
        return bool(perms & VIEW_CHANNEL) and bool(perms & perm)

    async def _h_message_create(self, req: RecordedRequest) -> tuple[int, Any]:
        channel = self._channel(req.params["channel_id"])
        ctype = channel["type"]
        if ctype == CHANNEL_FORUM:
            self._violation("state", "POST /messages to a forum channel (use POST /channels/{id}/threads)", req=req)
            raise DiscordHTTPError(400, 50008, "Cannot send messages in a non-text channel")
        is_thread = ctype in (10, 11, 12)
        if not self._bot_can(channel, SEND_MESSAGES_IN_THREADS if is_thread else SEND_MESSAGES):
            self._violation("permissions", "bot lacks permission to send here", req=req)
            raise DiscordHTTPError(403, 50013, "Missing Permissions")
        if is_thread:
            meta = channel["thread_metadata"]
            if meta["locked"] and not self._bot_can(channel, MANAGE_THREADS):
                raise DiscordHTTPError(403, 50083, "Thread is archived")
            if meta["archived"]:
                meta["archived"] = False
            if int(channel["id"]) in self._awaiting_starter:
                self._violation("state", "posted in a forum post before its author's starter message exists", req=req)
                raise DiscordHTTPError(
                    403, 40058, "Cannot message this thread until after the post author has sent an initial message."
                )
        body = req.json or {}
        ref = body.get("message_reference")
        msg = self.make_message(channel_id=int(channel["id"]), body=body, files=req.files, msg_type=19 if ref else 0)
        if ref:
            msg["message_reference"] = {
                "type": 0,
                "channel_id": channel["id"],
                "message_id": str(ref.get("message_id")),
                "guild_id": channel.get("guild_id"),
            }
            with contextlib.suppress(KeyError, ValueError):
                msg["referenced_message"] = copy.deepcopy(self.messages[int(ref.get("message_id"))])
        self._echo_message("MESSAGE_CREATE", msg)
        return 200, copy.deepcopy(msg)

    async def _h_messages_list(self, req: RecordedRequest) -> tuple[int, Any]:
        channel = self._channel(req.params["channel_id"])
        limit = int(req.query.get("limit", 50))
        msgs = sorted(
            (
                m
                for m in self.messages.values()
                if m["channel_id"] == channel["id"] and not int(m.get("flags") or 0) & MSG_FLAG_EPHEMERAL
            ),
            key=lambda m: int(m["id"]),
            reverse=True,
        )
        if "before" in req.query:
            msgs = [m for m in msgs if int(m["id"]) < int(req.query["before"])]
        if "after" in req.query:
            msgs = [m for m in msgs if int(m["id"]) > int(req.query["after"])]
        return 200, copy.deepcopy(msgs[:limit])

    async def _h_message_get(self, req: RecordedRequest) -> tuple[int, Any]:
        self._channel(req.params["channel_id"])
        return 200, copy.deepcopy(self._message(req.params["message_id"], req.params["channel_id"]))

    def _apply_edit(
        self, msg: dict[str, Any], body: Mapping[str, Any], files: list[dict[str, Any]], req: RecordedRequest
    ) -> None:
        if "content" in body:
            msg["content"] = body["content"] or ""
            msg["mentions"], msg["mention_roles"] = self._mentions(msg["content"])
        if "embeds" in body:
            msg["embeds"] = self._render_embeds(body["embeds"])
        if "components" in body:
            msg["components"] = self._render_components(body["components"])
        if "attachments" in body:
            keep = {str(a.get("id")) for a in body["attachments"] or []}
            msg["attachments"] = [a for a in msg["attachments"] if a["id"] in keep]
        if files:
            msg["attachments"] += self._attachments(int(msg["channel_id"]), body, files)
        if body.get("flags") is not None:
            suppress = 1 << 2
            msg["flags"] = (int(msg["flags"]) & ~suppress) | (int(body["flags"]) & suppress)
        was_loading = int(msg["flags"]) & MSG_FLAG_LOADING
        msg["flags"] = int(msg["flags"]) & ~MSG_FLAG_LOADING
        if not was_loading:
            msg["edited_timestamp"] = iso()
        errs = schema.message_rules(msg, require_content=True)
        if errs:
            self._violation(
                "invalid-body",
                "edit would leave an empty message",
                req=req,
                errors=errs,
                record=self._record_for_request(req),
            )
            raise DiscordHTTPError(400, 50006, "Cannot send an empty message")

    async def _h_message_patch(self, req: RecordedRequest) -> tuple[int, Any]:
        self._channel(req.params["channel_id"])
        msg = self._message(req.params["message_id"], req.params["channel_id"])
        body = req.json or {}
        if msg["author"]["id"] != str(self.world.application_id) and set(body) - {"flags"}:
            self._violation("permissions", "editing another user's message", req=req)
            raise DiscordHTTPError(403, 50005, "Cannot edit a message authored by another user")
        candidate = copy.deepcopy(msg)
        self._apply_edit(candidate, body, req.files, req)
        msg.clear()
        msg.update(candidate)
        self._echo_message("MESSAGE_UPDATE", msg)
        return 200, copy.deepcopy(msg)

    async def _h_message_delete(self, req: RecordedRequest) -> tuple[int, Any]:
        channel = self._channel(req.params["channel_id"])
        msg = self._message(req.params["message_id"], req.params["channel_id"])
        if msg["author"]["id"] != str(self.world.application_id) and not self._bot_can(channel, 1 << 13):
            raise DiscordHTTPError(403, 50013, "Missing Permissions")
        del self.messages[int(msg["id"])]
        self._echo_message("MESSAGE_DELETE", msg)
        return 204, None

    # ------------------------------------------------------------------ channels & threads

    def _thread_member(self, thread_id: int, person: Person | None = None) -> dict[str, Any]:
        person = person or self.world.people["bot"]
        return {"id": str(thread_id), "user_id": str(person.id), "join_timestamp": iso(), "flags": 1}

    def _new_thread(self, parent: dict[str, Any], name: str, owner: Person, body: Mapping[str, Any]) -> dict[str, Any]:
        tid = self.snowflake()
        thread = {
            "id": str(tid),
            "type": CHANNEL_PUBLIC_THREAD,
            "last_message_id": None,
            "flags": 0,
            "guild_id": parent["guild_id"],
            "name": name,
            "parent_id": parent["id"],
            "rate_limit_per_user": body.get("rate_limit_per_user") or 0,
            "bitrate": 64000,
            "user_limit": 0,
            "rtc_region": None,
            "owner_id": str(owner.id),
            "thread_metadata": {
                "archived": False,
                "archive_timestamp": iso(),
                "auto_archive_duration": body.get("auto_archive_duration")
                or parent.get("default_auto_archive_duration", 4320),
                "locked": False,
                "create_timestamp": iso(),
            },
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "applied_tags": [str(t) for t in body.get("applied_tags") or []],
        }
        self.world.channels[tid] = thread
        return thread

    def _check_tags(
        self, forum: dict[str, Any], tags: list[Any], req: RecordedRequest | None, actor_perms: int
    ) -> None:
        known = {t["id"]: t for t in forum.get("available_tags") or []}
        errors = []
        for i, tag in enumerate(tags):
            tag_def = known.get(str(tag))
            if tag_def is None:
                errors.append(
                    schema.FieldError(
                        ("applied_tags", i),
                        "BASE_TYPE_CHOICES",
                        "Value must be one of the forum's tags.",
                        f"unknown tag id {tag}",
                    )
                )
            elif tag_def["moderated"] and not actor_perms & MANAGE_THREADS:
                raise DiscordHTTPError(403, 50013, "Missing Permissions")
        if len(set(map(str, tags))) != len(tags):
            errors.append(
                schema.FieldError(
                    ("applied_tags",), "LIST_ITEM_VALUE_DUPLICATE", "List items must be unique.", str(tags)
                )
            )
        if errors:
            if req is not None:
                self._violation("invalid-body", "bad applied_tags", req=req, errors=errors)
            raise DiscordHTTPError(400, 50035, "Invalid Form Body", schema.errors_to_discord(errors))
        if int(forum.get("flags") or 0) & CHANNEL_FLAG_REQUIRE_TAG and not tags:
            if req is not None:
                self._violation("invalid-body", "forum requires a tag", req=req)
            raise DiscordHTTPError(400, 40067, "A tag is required to create a forum post in this channel")

    async def _h_thread_create(self, req: RecordedRequest) -> tuple[int, Any]:
        parent = self._channel(req.params["channel_id"])
        body = req.json or {}
        bot = self.world.people["bot"]
        if parent["type"] == CHANNEL_FORUM:
            if not isinstance(body.get("message"), Mapping):
                self._violation("invalid-body", "forum post without 'message'", req=req)
                raise DiscordHTTPError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {"message": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}},
                )
            if not self._bot_can(parent, SEND_MESSAGES):
                self._violation("permissions", "bot cannot post in the forum", req=req)
                raise DiscordHTTPError(403, 50013, "Missing Permissions")
            self._check_tags(parent, list(body.get("applied_tags") or []), req, self.world.base_permissions(bot))
            thread = self._new_thread(parent, body["name"], bot, body)
            msg = self.make_message(
                channel_id=int(thread["id"]), body=body["message"], files=req.files, message_id=int(thread["id"])
            )
            thread["last_message_id"] = msg["id"]
            parent["last_message_id"] = thread["id"]
            member = self._thread_member(int(thread["id"]))
            self._echo("THREAD_CREATE", {**copy.deepcopy(thread), "newly_created": True, "member": member})
            self._echo_message("MESSAGE_CREATE", msg)
            return 201, {**copy.deepcopy(thread), "member": member, "message": copy.deepcopy(msg)}
        if parent["type"] in (0, 5):
            if not self._bot_can(parent, 1 << 35):
                raise DiscordHTTPError(403, 50013, "Missing Permissions")
            thread = self._new_thread(parent, body["name"], bot, body)
            if body.get("type") == 12:
                thread["type"] = 12
                thread["thread_metadata"]["invitable"] = bool(body.get("invitable", True))
            member = self._thread_member(int(thread["id"]))
            self._echo("THREAD_CREATE", {**copy.deepcopy(thread), "newly_created": True, "member": member})
            return 201, {**copy.deepcopy(thread), "member": member}
        self._violation("state", f"cannot create a thread in channel type {parent['type']}", req=req)
        raise DiscordHTTPError(400, 50024, "Cannot execute action on this channel type")

    async def _h_channel_get(self, req: RecordedRequest) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._channel(req.params["channel_id"]))

    async def _h_channel_patch(self, req: RecordedRequest) -> tuple[int, Any]:
        channel = self._channel(req.params["channel_id"])
        body = req.json or {}
        bot = self.world.people["bot"]
        if channel["type"] in (10, 11, 12):
            owner = channel["owner_id"] == str(bot.id)
            needs_manage = {"locked", "applied_tags", "flags", "auto_archive_duration", "invitable"} & body.keys() or (
                not owner and body.keys() - {"archived"}
            )
            if needs_manage and not owner and not self._bot_can(channel, MANAGE_THREADS):
                self._violation("permissions", "editing a thread without MANAGE_THREADS", req=req)
                raise DiscordHTTPError(403, 50013, "Missing Permissions")
            if "applied_tags" in body:
                parent = self.world.channels.get(int(channel["parent_id"]), {})
                self._check_tags(parent, list(body["applied_tags"] or []), req, self.world.base_permissions(bot))
                channel["applied_tags"] = [str(t) for t in body["applied_tags"] or []]
            meta = channel["thread_metadata"]
            for key in ("archived", "locked", "auto_archive_duration", "invitable"):
                if key in body and body[key] is not None:
                    meta[key] = body[key]
                    if key == "archived":
                        meta["archive_timestamp"] = iso()
            for key in ("name", "rate_limit_per_user", "flags"):
                if key in body and body[key] is not None:
                    channel[key] = body[key]
            self._echo("THREAD_UPDATE", copy.deepcopy(channel))
        else:
            if not self._bot_can(channel, 1 << 4):
                self._violation("permissions", "editing a channel without MANAGE_CHANNELS", req=req)
                raise DiscordHTTPError(403, 50013, "Missing Permissions")
            for key, value in body.items():
                channel[key] = value
            self._echo("CHANNEL_UPDATE", copy.deepcopy(channel))
        return 200, copy.deepcopy(channel)

    # ------------------------------------------------------------------ interactions: callback

    def _callback_reply(self, rec: InteractionRecord, ctype: int, message: dict[str, Any] | None) -> dict[str, Any]:
        interaction: dict[str, Any] = {"id": str(rec.id), "type": rec.type}
        if message is not None:
            interaction["response_message_id"] = message["id"]
            interaction["response_message_loading"] = bool(int(message["flags"]) & MSG_FLAG_LOADING)
            interaction["response_message_ephemeral"] = bool(int(message["flags"]) & MSG_FLAG_EPHEMERAL)
        reply: dict[str, Any] = {"interaction": interaction}
        if message is not None and ctype in (CHANNEL_MESSAGE_WITH_SOURCE, UPDATE_MESSAGE):
            reply["resource"] = {"type": ctype, "message": copy.deepcopy(message)}
        return reply

    def _interaction_channel_id(self, rec: InteractionRecord) -> int:
        return int(rec.payload.get("channel_id") or rec.payload["channel"]["id"])

    async def _h_callback(self, req: RecordedRequest) -> tuple[int, Any]:
        received = time.monotonic()
        iid, token = req.params["interaction_id"], req.params["interaction_token"]
        rec = self.interactions.get(int(iid)) if iid.isdigit() else None
        if rec is None or rec.token != token:
            self._violation("interaction", f"callback for unknown interaction {iid}", req=req)
            raise DiscordHTTPError(404, 10062, "Unknown interaction")
        body = req.json or {}
        if rec.callback is not None:
            self._violation("interaction", f"interaction {iid} acknowledged twice", req=req, record=rec)
            rec.events.append(ResponseEvent("callback", 400, body, received))
            rec._touch()
            raise DiscordHTTPError(400, 40060, "Interaction has already been acknowledged.")
        if rec.expired or received - rec.dispatched_at > self.ack_deadline:
            if not rec.expired:
                rec.expired = True
                self._violation(
                    "interaction",
                    f"interaction {iid} acknowledged after {1000 * (received - rec.dispatched_at):.0f} ms "
                    f"(> {self.ack_deadline:.1f} s)",
                    req=req,
                    record=rec,
                )
            rec.events.append(ResponseEvent("callback", 404, body, received))
            rec._touch()
            raise DiscordHTTPError(404, 10062, "Unknown interaction")
        ctype = int(body["type"])
        if ctype not in ALLOWED_CALLBACKS.get(rec.type, set()):
            errs = [
                schema.FieldError(
                    ("type",),
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    f"Interaction response type {ctype} is not valid for interaction type {rec.type}",
                    "",
                )
            ]
            self._violation(
                "interaction",
                f"callback type {ctype} not allowed for interaction type {rec.type}",
                req=req,
                errors=errs,
                record=rec,
            )
            raise DiscordHTTPError(400, 50035, "Invalid Form Body", schema.errors_to_discord(errs))
        data = body.get("data") or {}
        message: dict[str, Any] | None = None
        channel_id = self._interaction_channel_id(rec)
        msg_type = 0
        if rec.type == APPLICATION_COMMAND:
            msg_type = 20 if (rec.payload.get("data") or {}).get("type", 1) == 1 else 23
        if ctype == CHANNEL_MESSAGE_WITH_SOURCE:
            eph = int(data.get("flags") or 0) & MSG_FLAG_EPHEMERAL
            message = self.make_message(
                channel_id=channel_id, body=data, files=req.files, msg_type=msg_type, flags=eph, interaction=rec
            )
        elif ctype == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            eph = int(data.get("flags") or 0) & MSG_FLAG_EPHEMERAL
            message = self.make_message(
                channel_id=channel_id, body={}, msg_type=msg_type, flags=eph | MSG_FLAG_LOADING, interaction=rec
            )
        elif ctype in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            source = rec.payload.get("message")
            if source is None:
                raise DiscordHTTPError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {
                        "type": {
                            "_errors": [
                                {"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": "No message to update"}
                            ]
                        }
                    },
                )
            message = self.messages.get(int(source["id"]))
            if message is None:
                raise DiscordHTTPError(404, 10008, "Unknown Message")
            if ctype == UPDATE_MESSAGE:
                self._apply_edit(message, data, req.files, req)
        rec.callback, rec.callback_type, rec.callback_at = body, ctype, received
        rec.rtt_ms = 1000 * (received - rec.dispatched_at)
        self.rtt_ms.append(rec.rtt_ms)
        rec.original = message
        rec.events.append(ResponseEvent("callback", 200, body, received, copy.deepcopy(message) if message else None))
        rec._touch()
        if message is not None:
            if ctype == UPDATE_MESSAGE:
                self._echo_message("MESSAGE_UPDATE", message)
            elif ctype in (CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE):
                self._echo_message("MESSAGE_CREATE", message)
        if not _truthy(req.query.get("with_response")):
            return 204, None
        return 200, self._callback_reply(rec, ctype, message if ctype != DEFERRED_UPDATE_MESSAGE else None)

    # ------------------------------------------------------------------ interactions: webhooks

    def _webhook_record(self, req: RecordedRequest, *, kind: str) -> InteractionRecord:
        if req.params["webhook_id"] != str(self.world.application_id):
            self.unhandled.append(f"{req.method} {req.template} (non-interaction webhook {req.params['webhook_id']})")
            raise DiscordHTTPError(404, 10015, "Unknown Webhook")
        rec = self._by_token.get(req.params["webhook_token"])
        if rec is None:
            self._violation("interaction", f"{kind} with an unknown interaction token", req=req)
            raise DiscordHTTPError(404, 10015, "Unknown Webhook")
        if time.monotonic() - rec.dispatched_at > self.token_ttl:
            self._violation("interaction", f"{kind} after the 15-minute token lifetime", req=req, record=rec)
            raise DiscordHTTPError(401, 50027, "Invalid Webhook Token")
        if rec.callback is None:
            self._violation("interaction", f"{kind} before the interaction was acknowledged", req=req, record=rec)
            raise DiscordHTTPError(404, 10015, "Unknown Webhook")
        return rec

    def _target_message(self, rec: InteractionRecord, req: RecordedRequest) -> dict[str, Any]:
        mid = req.params.get("message_id")
        if mid is None:  # @original
            if rec.original is not None and not rec.original_deleted:
                return rec.original
        else:
            for m in rec.messages():
                if m["id"] == mid:
                    return m
        why = "a modal has no @original message" if rec.callback_type == MODAL else "no such message"
        self._violation("interaction", f"{req.method} {req.template}: {why}", req=req, record=rec)
        raise DiscordHTTPError(404, 10008, "Unknown Message")

    async def _h_followup(self, req: RecordedRequest) -> tuple[int, Any]:
        rec = self._webhook_record(req, kind="follow-up")
        body = req.json or {}
        orig = rec.original
        if (
            orig is not None
            and int(orig["flags"]) & MSG_FLAG_LOADING
            and rec.callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
        ):
            # Discord: the first follow-up after a "thinking" defer edits that loading message.
            self._apply_edit(orig, body, req.files, req)
            msg = orig
            self._echo_message("MESSAGE_UPDATE", msg)
        else:
            eph = int(body.get("flags") or 0) & MSG_FLAG_EPHEMERAL
            msg = self.make_message(
                channel_id=self._interaction_channel_id(rec), body=body, files=req.files, flags=eph, interaction=rec
            )
            rec.followups.append(msg)
            self._echo_message("MESSAGE_CREATE", msg)
        rec.events.append(ResponseEvent("followup", 200, body, time.monotonic(), copy.deepcopy(msg)))
        rec._touch()
        if not _truthy(req.query.get("wait")):
            return 204, None
        return 200, copy.deepcopy(msg)

    async def _h_webhook_message_get(self, req: RecordedRequest) -> tuple[int, Any]:
        rec = self._webhook_record(req, kind="fetch")
        msg = self._target_message(rec, req)
        rec.events.append(ResponseEvent("get", 200, None, time.monotonic()))
        return 200, copy.deepcopy(msg)

    async def _h_webhook_message_patch(self, req: RecordedRequest) -> tuple[int, Any]:
        rec = self._webhook_record(req, kind="edit")
        msg = self._target_message(rec, req)
        candidate = copy.deepcopy(msg)
        self._apply_edit(candidate, req.json or {}, req.files, req)
        msg.clear()
        msg.update(candidate)
        rec.events.append(ResponseEvent("edit", 200, req.json, time.monotonic(), copy.deepcopy(msg)))
        rec._touch()
        self._echo_message("MESSAGE_UPDATE", msg)
        return 200, copy.deepcopy(msg)

    async def _h_webhook_message_delete(self, req: RecordedRequest) -> tuple[int, Any]:
        rec = self._webhook_record(req, kind="delete")
        msg = self._target_message(rec, req)
        if msg is rec.original:
            rec.original_deleted = True
        else:
            rec.followups.remove(msg)
        self.messages.pop(int(msg["id"]), None)
        rec.events.append(ResponseEvent("delete", 204, None, time.monotonic()))
        rec._touch()
        self._echo_message("MESSAGE_DELETE", msg)
        return 204, None

    # ================================================================== driving the bot: users

    def _channel_for_interaction(self, channel_id: int, person: Person) -> dict[str, Any]:
        channel = copy.deepcopy(self.world.channels[channel_id])
        channel["permissions"] = str(self.world.base_permissions(person))
        return channel

    async def post_user_message(
        self,
        content: str,
        *,
        channel_id: int | None = None,
        user: str | int = "member",
        embeds: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A human posts a message (stored; MESSAGE_CREATE dispatched, content gated by intent)."""
        person = self.world.person(user)
        cid = channel_id or self.world.text_channel_id
        msg = self.make_message(channel_id=cid, body={"content": content, "embeds": embeds or []}, author=person)
        await self.gateway.dispatch("MESSAGE_CREATE", self._gateway_message(msg))
        return copy.deepcopy(msg)

    async def user_forum_post(
        self,
        name: str,
        content: str,
        *,
        tags: list[str] | tuple[str, ...] = (),
        user: str | int = "member",
        message_delay: float = 0.0,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A human opens a forum post: THREAD_CREATE (newly_created) then MESSAGE_CREATE.

        ``message_delay`` > 0: the starter message is created (and its MESSAGE_CREATE sent) that many
        seconds after THREAD_CREATE, as on Discord while the author's attachments upload; until then
        the bot cannot post in the thread (403/40058, recorded as a violation: the reply is lost).
        """
        person = self.world.person(user)
        forum = self.world.channels[self.world.forum_channel_id]
        tag_ids = [str(self.world.tag_ids[t]) for t in tags]
        self._check_tags(forum, tag_ids, None, self.world.base_permissions(person))
        thread = self._new_thread(forum, name, person, {"applied_tags": tag_ids})
        thread["member_count"] = 1

        def starter() -> dict[str, Any]:
            return self.make_message(
                channel_id=int(thread["id"]), body={"content": content}, author=person, message_id=int(thread["id"])
            )

        msg = starter() if message_delay <= 0 else None
        thread["last_message_id"] = thread["id"]  # the starter message's id, even before it exists
        forum["last_message_id"] = thread["id"]
        if msg is None:
            self._awaiting_starter.add(int(thread["id"]))
        await self.gateway.dispatch("THREAD_CREATE", {**copy.deepcopy(thread), "newly_created": True})
        if msg is None:
            await asyncio.sleep(message_delay)
            msg = starter()
            self._awaiting_starter.discard(int(thread["id"]))
        await self.gateway.dispatch("MESSAGE_CREATE", self._gateway_message(msg))
        return copy.deepcopy(thread), copy.deepcopy(msg)

    # ================================================================== driving the bot: interactions

    def _base_interaction(
        self, kind: int, data: dict[str, Any] | None, person: Person, channel_id: int, locale: str
    ) -> dict[str, Any]:
        w = self.world
        iid = self.snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
        gid = w.guild_of_channel(channel_id)  # the guild is the channel's (a second guild: World.add_guild)
        bot = w.bot_in(gid)
        payload: dict[str, Any] = {
            "app_permissions": str(w.base_permissions(bot)),
            "application_id": str(w.application_id),
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "authorizing_integration_owners": {"0": str(gid)},
            "channel": self._channel_for_interaction(channel_id, person),
            "channel_id": str(channel_id),
            "context": 0,
            "entitlement_sku_ids": [],
            "entitlements": [],
            "guild": {"features": ["COMMUNITY", "NEWS"], "id": str(gid), "locale": "en-US"},
            "guild_id": str(gid),
            "guild_locale": "en-US",
            "id": str(iid),
            "locale": locale,
            "member": w.member_payload(person, permissions=True),
            "token": token,
            "type": kind,
            "version": 1,
        }
        if data is not None:
            payload["data"] = data
        return payload

    async def interact(
        self,
        data: dict[str, Any] | None,
        *,
        kind: int = APPLICATION_COMMAND,
        user: str | int = "member",
        channel_id: int | None = None,
        message: dict[str, Any] | None = None,
        locale: str = "en-US",
        expect_ack: bool = True,
        triggered_by: InteractionRecord | None = None,
    ) -> InteractionRecord:
        """Dispatch INTERACTION_CREATE and return its record (await ``record.wait_for_response()``).

        ``data`` is the interaction's ``data`` object. For commands/autocomplete (kind 2/4) missing
        ``id``/``guild_id``/``type`` are filled from the synced command with that name (Discord only
        delivers invocations of synced commands). ``message`` (components, modal submits from a
        component) must be a stored message. ``expect_ack=False`` suppresses the 3 s violation.
        """
        person = self.world.person(user)
        data = copy.deepcopy(data) if data is not None else None
        if kind in (APPLICATION_COMMAND, APPLICATION_COMMAND_AUTOCOMPLETE) and data is not None and "id" not in data:
            scope = self.world.guild_of_channel(channel_id or self.world.text_channel_id)
            cmd = self.find_command(data["name"], type=int(data.get("type") or 1), guild_id=scope)
            data["id"] = cmd["id"]
            data.setdefault("type", cmd["type"])
            if cmd.get("guild_id"):
                data.setdefault("guild_id", cmd["guild_id"])
        if message is not None:
            channel_id = channel_id or int(message["channel_id"])
        cid = channel_id or self.world.text_channel_id
        if cid not in self.world.channels:
            raise KeyError(f"unknown channel {cid}")
        payload = self._base_interaction(kind, data, person, cid, locale)
        if message is not None:
            payload["message"] = copy.deepcopy(message)
        rec = InteractionRecord(
            id=int(payload["id"]), token=payload["token"], type=kind, payload=payload, triggered_by=triggered_by
        )
        self.interactions[rec.id] = rec
        self._by_token[rec.token] = rec
        gid = self.world.guild_of_channel(cid)
        sessions = [s for s in self.gateway.sessions_for(gid) if s.connected] or self.gateway.sessions_for(gid)
        if not sessions:
            raise RuntimeError(
                "no gateway session covers the guild; is the bot connected (await fake.wait_for_ready())?"
            )
        rec.dispatched_at = time.monotonic()
        await sessions[0].push("INTERACTION_CREATE", payload)
        self._record_event("INTERACTION_CREATE", payload, sessions[:1])
        if expect_ack:
            loop = asyncio.get_running_loop()
            self._timers.append(loop.call_later(self.ack_deadline, self._ack_deadline_passed, rec))
        return rec

    def _ack_deadline_passed(self, rec: InteractionRecord) -> None:
        if rec.callback is None and not rec.expired:
            rec.expired = True
            self._violation(
                "interaction",
                f"interaction {rec.id} (type {rec.type}) not acknowledged within "
                f"{self.ack_deadline:.1f} s: users see 'This interaction failed'",
                record=rec,
            )

    def _resolve_option(self, otype: int, value: Any, resolved: dict[str, dict[str, Any]]) -> Any:
        w = self.world
        if otype == 3:
            return str(value)
        if otype == 4:
            return int(value)
        if otype == 10:
            return float(value)
        if otype == 5:
            return bool(value)
        if otype in (6, 9) and not (otype == 9 and str(value) in map(str, w.roles)):
            person = w.person(value)
            resolved.setdefault("users", {})[str(person.id)] = dict(person.user)
            member = w.member_payload(person, with_user=False, permissions=True)
            resolved.setdefault("members", {})[str(person.id)] = member
            return str(person.id)
        if otype in (8, 9):
            rid = int(value)
            resolved.setdefault("roles", {})[str(rid)] = w.roles[rid]
            return str(rid)
        if otype == 7:
            ch = w.channels[int(value)]
            entry: dict[str, Any] = {
                k: ch[k] for k in ("id", "name", "type", "parent_id", "thread_metadata", "flags") if k in ch
            }
            entry["permissions"] = str(w.base_permissions(w.people["member"]))
            resolved.setdefault("channels", {})[ch["id"]] = entry
            return ch["id"]
        raise ValueError(f"option type {otype} not supported by the fake")

    def _build_options(
        self,
        defs: list[dict[str, Any]],
        given: Mapping[str, Any],
        focused: str | None,
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in defs}
        out = []
        for name, value in given.items():
            d = by_name.get(name)
            if d is None:
                raise ValueError(f"option {name!r} is not defined; defined: {sorted(by_name)}")
            if name == focused:
                if not d.get("autocomplete"):
                    raise ValueError(f"option {name!r} has no autocomplete; Discord would not send this")
                out.append({"name": name, "type": d["type"], "value": str(value), "focused": True})
                continue
            v = self._resolve_option(d["type"], value, resolved)
            if d.get("choices") and v not in [c["value"] for c in d["choices"]]:
                raise ValueError(f"{v!r} is not one of the choices of {name!r}")
            for lo, hi in (("min_value", "max_value"), ("min_length", "max_length")):
                size = len(v) if lo == "min_length" and isinstance(v, str) else v
                if lo == "min_length" and not isinstance(v, str):
                    continue
                if (d.get(lo) is not None and size < d[lo]) or (d.get(hi) is not None and size > d[hi]):
                    raise ValueError(f"{v!r} is outside the {lo}/{hi} of {name!r}; the client would not send it")
            out.append({"name": name, "type": d["type"], "value": v})
        if focused is None:
            missing = [
                o["name"] for o in defs if o.get("required") and o["name"] not in given and o["type"] not in (1, 2)
            ]
            if missing:
                raise ValueError(f"required option(s) {missing} missing; the client would not send this")
        elif focused not in given:
            raise ValueError(f"focused option {focused!r} must be given (with the partial text)")
        return out

    def _command_data(
        self, name: str, options: Mapping[str, Any] | None, focused: str | None, channel_id: int | None = None
    ) -> dict[str, Any]:
        parts = name.split()
        scope = self.world.guild_of_channel(channel_id or self.world.text_channel_id)
        cmd = self.find_command(parts[0], guild_id=scope)
        resolved: dict[str, dict[str, Any]] = {}
        defs = cmd.get("options") or []
        chain: list[dict[str, Any]] = []
        for sub in parts[1:]:
            node = next((o for o in defs if o["name"] == sub and o["type"] in (1, 2)), None)
            if node is None:
                raise ValueError(f"no subcommand/group {sub!r} in {name!r}")
            chain.append({"name": sub, "type": node["type"], "options": []})
            defs = node.get("options") or []
        leaf = self._build_options(defs, options or {}, focused, resolved)
        if chain:
            for outer, inner in itertools.pairwise(chain):
                outer["options"] = [inner]
            chain[-1]["options"] = leaf
            top = [chain[0]]
        else:
            top = leaf
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": top}
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return data

    async def slash(self, name: str, options: Mapping[str, Any] | None = None, **kw: Any) -> InteractionRecord:
        """Invoke a synced chat-input command. ``name`` may be "group sub" for subcommands.

        Option values are converted by the synced option type (users by key/id -> resolved
        users+members, roles, channels). Keyword arguments go to ``interact``.
        """
        data = self._command_data(name, options, None, kw.get("channel_id"))
        return await self.interact(data, kind=APPLICATION_COMMAND, **kw)

    async def autocomplete(self, name: str, options: Mapping[str, Any], focused: str, **kw: Any) -> InteractionRecord:
        """Send an autocomplete interaction (type 4) with ``focused`` holding the partial text."""
        data = self._command_data(name, options, focused, kw.get("channel_id"))
        return await self.interact(data, kind=APPLICATION_COMMAND_AUTOCOMPLETE, **kw)

    async def message_command(self, name: str, message: dict[str, Any] | int, **kw: Any) -> InteractionRecord:
        """Invoke a synced message context-menu command on a stored message."""
        msg = (
            self.messages[int(message)]
            if not isinstance(message, dict)
            else self.messages.get(int(message["id"]), message)
        )
        cmd = self.find_command(name, type=3, guild_id=self.world.guild_of_channel(int(msg["channel_id"])))
        data: dict[str, Any] = {
            "id": cmd["id"],
            "name": cmd["name"],
            "type": 3,
            "target_id": msg["id"],
            "resolved": {"messages": {msg["id"]: copy.deepcopy(msg)}},
        }
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        kw.setdefault("channel_id", int(msg["channel_id"]))
        return await self.interact(data, kind=APPLICATION_COMMAND, **kw)

    async def user_command(self, name: str, target: str | int, **kw: Any) -> InteractionRecord:
        """Invoke a synced user context-menu command on a member."""
        person = self.world.person(target)
        cmd = self.find_command(name, type=2)
        data: dict[str, Any] = {
            "id": cmd["id"],
            "name": cmd["name"],
            "type": 2,
            "target_id": str(person.id),
            "resolved": {
                "users": {str(person.id): dict(person.user)},
                "members": {str(person.id): self.world.member_payload(person, with_user=False, permissions=True)},
            },
        }
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return await self.interact(data, kind=APPLICATION_COMMAND, **kw)

    @staticmethod
    def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
        for comp in components:
            if comp.get("custom_id") == custom_id:
                return comp
            for key in ("components",):
                found = FakeDiscord._find_component(comp.get(key) or [], custom_id)
                if found:
                    return found
            for key in ("component", "accessory"):
                if isinstance(comp.get(key), dict):
                    found = FakeDiscord._find_component([comp[key]], custom_id)
                    if found:
                        return found
        return None

    async def click(
        self, message: dict[str, Any] | int, custom_id: str, *, values: list[str] | None = None, **kw: Any
    ) -> InteractionRecord:
        """Press a button / pick select values on a stored message (MESSAGE_COMPONENT interaction)."""
        mid = int(message) if not isinstance(message, dict) else int(message["id"])
        msg = self.messages.get(mid)
        if msg is None:
            raise KeyError(f"message {mid} is not stored (deleted or ephemeral-and-gone?)")
        comp = self._find_component(msg.get("components") or [], custom_id)
        if comp is None:
            raise ValueError(f"no component with custom_id {custom_id!r} on message {mid}")
        if comp.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; users cannot use it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": comp["type"], "id": comp.get("id")}
        if comp["type"] in (3, 5, 6, 7, 8):
            if values is None:
                raise ValueError("select menus need values=[...]")
            data["values"] = values
        data = {k: v for k, v in data.items() if v is not None}
        return await self.interact(data, kind=MESSAGE_COMPONENT, message=msg, **kw)

    async def submit_modal(
        self, source: InteractionRecord | dict[str, Any], values: Mapping[str, str], **kw: Any
    ) -> InteractionRecord:
        """Submit the modal the bot opened (``source``: the record whose callback was type 9).

        The submission mirrors the modal's layout (action rows or labels) like Discord's client.
        """
        modal = source.modal if isinstance(source, InteractionRecord) else source
        if modal is None:
            raise ValueError("source interaction did not open a modal")

        def mirror(comp: dict[str, Any]) -> dict[str, Any] | None:
            t = comp.get("type")
            if t == 1:
                return {
                    "type": 1,
                    "id": comp.get("id", 0),
                    "components": [c for c in (mirror(x) for x in comp.get("components") or []) if c],
                }
            if t == 18:
                inner = mirror(comp["component"])
                return {"type": 18, "id": comp.get("id", 0), "component": inner}
            if t == 10:
                return {"type": 10, "id": comp.get("id", 0)}
            if t == 4:
                return {
                    "type": 4,
                    "id": comp.get("id", 0),
                    "custom_id": comp["custom_id"],
                    "value": values.get(comp["custom_id"], comp.get("value") or ""),
                }
            if t in (3, 5, 6, 7, 8):
                return {
                    "type": t,
                    "id": comp.get("id", 0),
                    "custom_id": comp["custom_id"],
                    "values": list(values.get(comp["custom_id"], [])),
                }
            return None

        data = {
            "custom_id": modal["custom_id"],
            "components": [c for c in (mirror(x) for x in modal["components"]) if c],
        }
        if isinstance(source, InteractionRecord) and source.payload.get("message"):
            kw.setdefault("message", self.messages.get(int(source.payload["message"]["id"]), source.payload["message"]))
        if isinstance(source, InteractionRecord):
            kw.setdefault("channel_id", int(source.payload["channel_id"]))
            kw.setdefault("triggered_by", source)
        return await self.interact(data, kind=MODAL_SUBMIT, **kw)

    # convenience for tests
    def shard_for_guild(self, num_shards: int, guild_id: int | None = None) -> int:
        return shard_for(guild_id or self.world.guild_id, num_shards)

    def callbacks_of_type(self, ctype: int) -> list[InteractionRecord]:
        return [r for r in self.interactions.values() if r.callback_type == ctype]


__all__ = [
    "APPLICATION_COMMAND_AUTOCOMPLETE_RESULT",
    "DiscordHTTPError",
    "FakeDiscord",
    "RecordedRequest",
    "Violation",
    "json_response",
]
