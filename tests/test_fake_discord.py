"""Tests of the Discord fake itself (no bot): validation, interaction rules, gateway, discord.py.

These pin down the behaviours later bot tests rely on: invalid bodies are rejected *and* recorded,
responses carry exactly ``Content-Type: application/json``, interactions follow Discord's
acknowledge-once-within-3-s rules, and a real discord.py 2.7.1 client can log in, receive READY /
GUILD_CREATE over zlib-stream, sync and answer commands, and RESUME.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from fake_discord import FakeDiscord, json_response
from fake_discord.schema import SPEC_PATH, component_validator, schema_errors


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(ack_deadline=1.0) as f:
        yield f


@pytest.fixture
async def http(fake: FakeDiscord) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as s:
        yield s


def _err_codes(errors: dict[str, Any], *path: str) -> list[str]:
    node = errors
    for p in path:
        node = node[p]
    return [e["code"] for e in node["_errors"]]


COMMANDS = [
    {
        "name": "fact",
        "description": "Look up a fact",
        "type": 1,
        "options": [
            {"type": 3, "name": "query", "description": "What to look up", "required": True, "autocomplete": True},
            {"type": 4, "name": "limit", "description": "How many", "required": False, "min_value": 1, "max_value": 5},
        ],
    },
    {"name": "Check facts", "type": 3},
]


class RawGateway:
    """A minimal gateway client (what discord.py does, by hand) to test the fake without a bot."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, zlib_stream: bool) -> None:
        self.ws = ws
        self._inflate = zlib.decompressobj() if zlib_stream else None

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, fake: FakeDiscord, *, zlib_stream: bool = True
    ) -> RawGateway:
        url = fake.gateway_url + "?v=10&encoding=json" + ("&compress=zlib-stream" if zlib_stream else "")
        return cls(await session.ws_connect(url), zlib_stream)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type is aiohttp.WSMsgType.BINARY:
            assert self._inflate is not None, "binary frame without compression"
            assert msg.data.endswith(b"\x00\x00\xff\xff"), "each zlib-stream message must end with Z_SYNC_FLUSH"
            decoded: dict[str, Any] = json.loads(self._inflate.decompress(msg.data))
            return decoded
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        text: dict[str, Any] = json.loads(msg.data)
        return text

    async def recv_dispatch(self, event: str) -> dict[str, Any]:
        while True:
            payload = await self.recv()
            if payload["op"] == 0 and payload["t"] == event:
                return payload

    async def identify(
        self, fake: FakeDiscord, *, shard: list[int] | None = None, intents: int = 3276541
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "token": fake.token,
            "intents": intents,
            "properties": {"os": "linux", "browser": "test", "device": "test"},
        }
        if shard is not None:
            d["shard"] = shard
        await self.ws.send_json({"op": 2, "d": d})
        return await self.recv_dispatch("READY")


async def _bot_session(fake: FakeDiscord, session: aiohttp.ClientSession) -> RawGateway:
    """Sync the test commands and connect a raw gateway client that receives interactions."""
    async with session.put(
        f"{fake.api_base}/applications/{fake.world.application_id}/guilds/{fake.world.guild_id}/commands", json=COMMANDS
    ) as r:
        assert r.status == 200, await r.text()
    gw = await RawGateway.connect(session, fake)
    assert (await gw.recv())["op"] == 10
    await gw.identify(fake)
    await gw.recv_dispatch("GUILD_CREATE")
    return gw


# --------------------------------------------------------------------------------------------- HTTP


async def test_spec_path_is_the_fixture_in_the_repo() -> None:
    assert SPEC_PATH.is_file()
    assert SPEC_PATH.resolve().parent == Path(__file__).resolve().parent / "fixtures" / "discord-api-spec"


async def test_content_type_is_exactly_application_json(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{fake.api_base}/users/@me") as r:
        assert r.status == 200
        # discord.py's json_or_text compares with ==; "application/json; charset=utf-8" would break it
        assert r.headers["Content-Type"] == "application/json"
        me = await r.json()
    assert me["id"] == str(fake.world.application_id) and me["bot"] is True
    assert json_response({"a": 1}).headers["Content-Type"] == "application/json"
    async with http.get(f"{fake.api_base}/nope/nothing") as r:  # errors too
        assert r.headers["Content-Type"] == "application/json"


async def test_valid_message_passes_and_is_recorded(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    body = {
        "content": "Ketamine is an NMDA receptor antagonist.",
        "embeds": [
            {
                "title": "Ketamine",
                "description": "Sources: ...",
                "url": "https://example.org/k",
                "fields": [{"name": "Half-life", "value": "2.5 h", "inline": True}],
                "footer": {"text": "factbot"},
            }
        ],
        "allowed_mentions": {"parse": []},
    }
    async with http.post(f"{fake.api_base}/channels/{fake.world.text_channel_id}/messages", json=body) as r:
        assert r.status == 200, await r.text()
        msg = await r.json()
    assert msg["content"] == body["content"] and msg["embeds"][0]["type"] == "rich"
    assert not schema_errors(component_validator("MessageResponse"), msg)
    req = fake.requests_to("POST", "/channels/{channel_id}/messages")[0]
    assert req.json == body and req.status == 200
    fake.assert_clean()


async def test_embed_title_over_256_is_rejected_and_recorded(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    body = {"embeds": [{"title": "x" * 257, "description": "ok"}]}
    async with http.post(f"{fake.api_base}/channels/{fake.world.text_channel_id}/messages", json=body) as r:
        assert r.status == 400
        assert r.headers["Content-Type"] == "application/json"
        err = await r.json()
    assert err["code"] == 50035 and err["message"] == "Invalid Form Body"
    assert _err_codes(err["errors"], "embeds", "0", "title") == ["BASE_TYPE_MAX_LENGTH"]
    assert len(fake.violations) == 1 and fake.violations[0].kind == "invalid-body"
    with pytest.raises(AssertionError, match=r"embeds\.0\.title"):
        fake.assert_clean()


async def test_embed_total_over_6000_is_rejected(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    # each embed is within the per-field limits; together they exceed 6000 characters
    embeds = [{"title": "t" * 200, "description": "d" * 4000}, {"description": "e" * 1801}]
    async with http.post(
        f"{fake.api_base}/channels/{fake.world.text_channel_id}/messages", json={"embeds": embeds}
    ) as r:
        assert r.status == 400
        err = await r.json()
    assert err["code"] == 50035
    assert _err_codes(err["errors"], "embeds") == ["MAX_EMBED_SIZE_EXCEEDED"]
    assert fake.violations
    # exactly 6000 is fine
    embeds[1]["description"] = "e" * 1800
    async with http.post(
        f"{fake.api_base}/channels/{fake.world.text_channel_id}/messages", json={"embeds": embeds}
    ) as r:
        assert r.status == 200


async def test_empty_message_and_multipart_payload_json(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    url = f"{fake.api_base}/channels/{fake.world.text_channel_id}/messages"
    async with http.post(url, json={"content": ""}) as r:
        assert r.status == 400
        assert await r.json() == {"message": "Cannot send an empty message", "code": 50006}
    form = aiohttp.FormData(quote_fields=False)
    form.add_field(
        "payload_json", json.dumps({"embeds": [{"title": "y" * 300}], "attachments": [{"id": 0, "filename": "a.txt"}]})
    )
    form.add_field("files[0]", b"hello", filename="a.txt", content_type="application/octet-stream")
    async with http.post(url, data=form) as r:
        assert r.status == 400  # payload_json is validated like a JSON body
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", json.dumps({"attachments": [{"id": 0, "filename": "a.txt"}]}))
    form.add_field("files[0]", b"hello", filename="a.txt", content_type="text/plain")
    async with http.post(url, data=form) as r:
        assert r.status == 200, await r.text()
        msg = await r.json()
    assert msg["attachments"][0]["filename"] == "a.txt" and msg["attachments"][0]["size"] == 5
    assert len(fake.violations) == 2


async def test_unknown_route_and_missing_auth_are_loud(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{fake.api_base}/guilds/{fake.world.guild_id}/bans") as r:
        assert r.status == 404
        assert await r.json() == {"message": "404: Not Found", "code": 0}
    assert fake.unhandled == ["GET /guilds/{guild_id}/bans"]
    async with aiohttp.ClientSession() as anon, anon.get(f"{fake.api_base}/users/@me") as r:
        assert r.status == 401
    with pytest.raises(AssertionError, match="unhandled route"):
        fake.assert_clean()


async def test_command_sync_validates_names_and_is_stable(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    url = f"{fake.api_base}/applications/{fake.world.application_id}/commands"
    bad = [{"name": "Fact Lookup", "description": "Look up a fact", "type": 1}]
    async with http.put(url, json=bad) as r:
        assert r.status == 400
        err = await r.json()
    assert err["code"] == 50035
    assert _err_codes(err["errors"], "0", "name") == ["APPLICATION_COMMAND_INVALID_NAME"]
    assert fake.sync_puts == 0 and fake.violations

    fake.violations.clear()
    async with http.put(url, json=COMMANDS) as r:
        assert r.status == 200, await r.text()
        first = await r.json()
    assert [c["name"] for c in first] == ["fact", "Check facts"]  # context menus may have spaces/capitals
    assert all(c["application_id"] == str(fake.world.application_id) and c["id"] and c["version"] for c in first)
    async with http.get(url) as r:
        assert await r.json() == first  # what a "sync only if changed" bot compares against
    async with http.put(url, json=COMMANDS) as r:
        assert await r.json() == first  # identical re-sync keeps ids and versions
    assert fake.sync_puts == 2
    fake.assert_clean()


async def test_forum_post_rules(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    w = fake.world
    url = f"{fake.api_base}/channels/{w.forum_channel_id}/threads"
    good = {
        "name": "Is ketamine addictive?",
        "applied_tags": [str(w.tag_ids["ketamine"]), str(w.tag_ids["question"])],
        "message": {"content": "What the evidence says", "embeds": [{"title": "Sources"}]},
    }
    async with http.post(url, json=good, params={"use_nested_fields": "1"}) as r:
        assert r.status == 201, await r.text()
        thread = await r.json()
    assert thread["message"]["id"] == thread["id"] and thread["parent_id"] == str(w.forum_channel_id)
    async with http.get(f"{fake.api_base}/channels/{thread['id']}") as r:
        assert (await r.json())["applied_tags"] == good["applied_tags"]
    bad = {**good, "applied_tags": ["123"]}
    async with http.post(url, json=bad) as r:
        assert r.status == 400
    async with http.post(f"{fake.api_base}/channels/{w.forum_channel_id}/messages", json={"content": "x"}) as r:
        assert (await r.json())["code"] == 50008
    assert len(fake.violations) == 2


# ------------------------------------------------------------------------------------ interactions


async def test_interaction_callback_rules(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    gw = await _bot_session(fake, http)
    rec = await fake.slash("fact", {"query": "ketamine"})
    event = await gw.recv_dispatch("INTERACTION_CREATE")
    d = event["d"]
    assert d["data"]["id"] == fake.find_command("fact")["id"] and d["data"]["guild_id"] == str(fake.world.guild_id)
    assert d["attachment_size_limit"] and d["member"]["flags"] == 0 and isinstance(d["member"]["permissions"], str)

    cb = f"{fake.api_base}/interactions/{d['id']}/{d['token']}/callback"
    # follow-ups before acknowledging are an error
    async with http.post(
        f"{fake.api_base}/webhooks/{fake.world.application_id}/{d['token']}", json={"content": "early"}
    ) as r:
        assert r.status == 404 and (await r.json())["code"] == 10015
    async with http.post(
        cb, params={"with_response": "1"}, json={"type": 4, "data": {"content": "ok", "flags": 64}}
    ) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "application/json"
        body = await r.json()
    assert body["interaction"]["id"] == d["id"] and body["interaction"]["response_message_ephemeral"] is True
    assert body["resource"]["type"] == 4 and body["resource"]["message"]["content"] == "ok"
    assert body["interaction"]["response_message_id"] == body["resource"]["message"]["id"]
    await rec.wait_for_response(1)
    assert rec.callback_type == 4 and rec.rtt_ms is not None and rec.rtt_ms < 1000

    async with http.post(cb, params={"with_response": "1"}, json={"type": 4, "data": {"content": "again"}}) as r:
        assert r.status == 400
        assert await r.json() == {"code": 40060, "message": "Interaction has already been acknowledged."}
    async with http.post(
        f"{fake.api_base}/webhooks/{fake.world.application_id}/{d['token']}",
        params={"wait": "true"},
        json={"content": "follow-up"},
    ) as r:
        assert r.status == 200
    async with http.patch(
        f"{fake.api_base}/webhooks/{fake.world.application_id}/{d['token']}/messages/@original",
        json={"content": "edited"},
    ) as r:
        assert r.status == 200 and (await r.json())["edited_timestamp"]
    assert "edited" in rec.visible_text() and "follow-up" in rec.visible_text()
    kinds = [v.message for v in fake.violations]
    assert len(kinds) == 2 and "before the interaction was acknowledged" in kinds[0] and "twice" in kinds[1]

    # autocomplete: only type 8 is allowed, and the response must validate
    ac = await fake.autocomplete("fact", {"query": "ket"}, focused="query")
    d = (await gw.recv_dispatch("INTERACTION_CREATE"))["d"]
    assert d["type"] == 4 and d["data"]["options"][0] == {"name": "query", "type": 3, "value": "ket", "focused": True}
    cb = f"{fake.api_base}/interactions/{d['id']}/{d['token']}/callback"
    async with http.post(cb, params={"with_response": "1"}, json={"type": 4, "data": {"content": "nope"}}) as r:
        assert r.status == 400
    async with http.post(
        cb,
        params={"with_response": "1"},
        json={"type": 8, "data": {"choices": [{"name": "ketamine", "value": "ketamine"}]}},
    ) as r:
        assert r.status == 200
    assert ac.choices == [{"name": "ketamine", "value": "ketamine"}]
    assert not fake.fake_errors
    await gw.ws.close()


async def test_unacknowledged_interaction_is_a_violation() -> None:
    async with (
        FakeDiscord(ack_deadline=0.2) as fake,
        aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as s,
    ):
        gw = await _bot_session(fake, s)
        rec = await fake.slash("fact", {"query": "x"})
        d = (await gw.recv_dispatch("INTERACTION_CREATE"))["d"]
        await rec.wait_until(lambda r: r.expired, timeout=2)
        assert "not acknowledged within 0.2 s" in fake.violations[0].message
        async with s.post(f"{fake.api_base}/interactions/{d['id']}/{d['token']}/callback", json={"type": 5}) as r:
            assert r.status == 404 and (await r.json())["code"] == 10062
        await gw.ws.close()


# --------------------------------------------------------------------------------------- gateway


async def test_raw_gateway_zlib_stream_sharding_and_resume(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    gw1 = await RawGateway.connect(http, fake)
    hello = await gw1.recv()
    assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
    await gw1.ws.send_json({"op": 1, "d": None})
    assert (await gw1.recv())["op"] == 11
    owner = fake.shard_for_guild(2)
    ready = await gw1.identify(fake, shard=[owner, 2])
    assert ready["d"]["shard"] == [owner, 2] and ready["d"]["resume_gateway_url"] == fake.resume_gateway_url
    assert ready["d"]["guilds"] == [{"id": str(fake.world.guild_id), "unavailable": True}]
    guild = (await gw1.recv_dispatch("GUILD_CREATE"))["d"]
    forum = next(c for c in guild["channels"] if c["type"] == 15)
    assert [t["name"] for t in forum["available_tags"]] == ["ketamine", "psilocybin", "question", "paper"]

    gw2 = await RawGateway.connect(http, fake, zlib_stream=False)  # plain text frames also work
    await gw2.recv()
    ready2 = await gw2.identify(fake, shard=[1 - owner, 2])
    assert ready2["d"]["guilds"] == []  # Discord only sends a guild to the shard that owns it
    assert [i.get("shard") for i in fake.identifies] == [[owner, 2], [1 - owner, 2]]

    # events while disconnected are replayed on RESUME, then RESUMED
    seq = ready["s"] + 1
    await fake.close_gateway(4000, shard=owner)
    await fake.post_user_message("missed me?")
    gw3 = await RawGateway.connect(http, fake)
    await gw3.recv()
    await gw3.ws.send_json({"op": 6, "d": {"token": fake.token, "session_id": ready["d"]["session_id"], "seq": seq}})
    replayed = await gw3.recv()
    assert replayed["t"] == "MESSAGE_CREATE" and replayed["s"] == seq + 1
    assert replayed["d"]["content"] == "missed me?"  # default intents in RawGateway include MESSAGE_CONTENT
    assert (await gw3.recv())["t"] == "RESUMED"
    assert fake.resumes[-1]["ok"] and fake.resumes[-1]["replayed"] == 1
    # an unknown session gets op 9 (not resumable)
    gw4 = await RawGateway.connect(http, fake)
    await gw4.recv()
    await gw4.ws.send_json({"op": 6, "d": {"token": fake.token, "session_id": "nope", "seq": 1}})
    assert await gw4.recv() == {"op": 9, "d": False, "s": None, "t": None}
    for g in (gw1, gw2, gw3, gw4):
        await g.ws.close()
    fake.assert_clean()


async def test_privileged_intents_and_content_gating() -> None:
    async with FakeDiscord(privileged_intents=0) as fake, aiohttp.ClientSession() as s:
        gw = await RawGateway.connect(s, fake)
        await gw.recv()
        await gw.ws.send_json(
            {
                "op": 2,
                "d": {
                    "token": fake.token,
                    "intents": 1 << 15,
                    "properties": {"os": "l", "browser": "b", "device": "d"},
                },
            }
        )
        msg = await gw.ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4014
        gw = await RawGateway.connect(s, fake)
        await gw.recv()
        await gw.identify(fake, intents=(1 << 0) | (1 << 9))  # GUILDS | GUILD_MESSAGES, no MESSAGE_CONTENT
        guild = (await gw.recv_dispatch("GUILD_CREATE"))["d"]
        assert [m["user"]["id"] for m in guild["members"]] == [str(fake.world.application_id)]  # no GUILD_MEMBERS
        await fake.post_user_message("secret")
        assert (await gw.recv_dispatch("MESSAGE_CREATE"))["d"]["content"] == ""
        await gw.ws.close()


# ------------------------------------------------------------------------------- real discord.py


async def test_real_discord_py_client(fake: FakeDiscord) -> None:
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    old_base = Route.BASE
    errors: list[BaseException] = []
    seen: dict[str, Any] = {}
    guild_obj = discord.Object(fake.world.guild_id)
    with fake.patch_discord_py():
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        tree = app_commands.CommandTree(client)

        @tree.command(name="fact", description="Look up a fact", guild=guild_obj)
        async def fact(interaction: discord.Interaction, query: str) -> None:
            resp = await interaction.response.send_message(f"About {query}", embed=discord.Embed(title=query))
            seen["callback"] = resp

        @fact.autocomplete("query")
        async def fact_ac(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=current + "amine", value=current + "amine")]

        @tree.command(name="slow", description="Deferred answer", guild=guild_obj)
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send("done thinking")

        @tree.error
        async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
            errors.append(error)

        async def setup_hook() -> None:
            await tree.sync(guild=guild_obj)

        client.setup_hook = setup_hook  # type: ignore[method-assign]
        ready = asyncio.Event()
        client.event(_ready_setter(ready))
        task = asyncio.create_task(client.start(fake.token))
        try:
            await asyncio.wait_for(ready.wait(), 10)
            guild = client.get_guild(fake.world.guild_id)
            assert guild is not None and guild.get_channel(fake.world.text_channel_id) is not None
            forum = guild.get_channel(fake.world.forum_channel_id)
            assert isinstance(forum, discord.ForumChannel)
            assert [t.name for t in forum.available_tags] == ["ketamine", "psilocybin", "question", "paper"]
            assert fake.gateway_connects[0]["query"] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
            assert fake.identifies[0]["intents"] == discord.Intents.default().value

            rec = await fake.slash("fact", {"query": "ketamine"})
            await rec.wait_for_response(5)
            assert rec.callback_type == 4 and "About ketamine" in rec.visible_text()
            await fake.wait_until(lambda: "callback" in seen, 5, "handler finished")
            assert rec.original is not None
            assert seen["callback"].message_id == int(rec.original["id"])  # discord.py parsed our with_response body
            ac = await fake.autocomplete("fact", {"query": "ket"}, focused="query")
            await ac.wait_for_response(5)
            assert ac.choices == [{"name": "ketamine", "value": "ketamine"}]
            deferred = await fake.slash("slow")
            msg = await deferred.wait_for_message(5)
            assert deferred.callback_type == 5 and msg["content"] == "done thinking" and msg is deferred.original

            await fake.close_gateway(4000)
            resumed = await fake.wait_for_resume(timeout=10)
            assert resumed["path"] == "/gateway-resume"  # the client used resume_gateway_url
            after = await fake.slash("fact", {"query": "psilocybin"})
            await after.wait_for_response(5)
            assert fake.median_rtt_ms() is not None
        finally:
            await client.close()
            await task
    assert old_base == Route.BASE and str(DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"
    assert not errors
    assert fake.sync_puts == 1
    fake.assert_clean()


def _ready_setter(event: asyncio.Event) -> Callable[[], Coroutine[Any, Any, None]]:
    """discord.py registers events by function name, hence a factory for ``on_ready``."""

    async def on_ready() -> None:
        event.set()

    return on_ready
