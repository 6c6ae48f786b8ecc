"""Interaction records: what the fake sent (INTERACTION_CREATE) and everything the bot did about it.

Why a record object: Discord judges an interaction by its lifecycle (acknowledged within 3 s,
acknowledged once, follow-ups only after acknowledging, token valid for 15 min), and tests need
both the outcome (the visible message) and the timing (round-trip from dispatch to callback).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Interaction types
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Callback types
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
MODAL = 9
LAUNCH_ACTIVITY = 12

#: Which callback types Discord accepts for which interaction type.
ALLOWED_CALLBACKS: dict[int, set[int]] = {
    PING: {PONG},
    APPLICATION_COMMAND: {CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, MODAL, LAUNCH_ACTIVITY},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    },
    APPLICATION_COMMAND_AUTOCOMPLETE: {APPLICATION_COMMAND_AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {
        CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    },
}


@dataclass
class ResponseEvent:
    """One thing the bot did for an interaction (callback, follow-up, edit, delete, fetch)."""

    kind: str  # "callback" | "followup" | "edit" | "delete" | "get"
    status: int
    body: Any
    at: float  # time.monotonic()
    message: dict[str, Any] | None = None


@dataclass
class InteractionRecord:
    """One dispatched interaction and its lifecycle. Returned by ``FakeDiscord.interact`` & co.

    Key attributes: ``payload`` (the INTERACTION_CREATE ``d``), ``callback`` (first accepted
    callback body), ``callback_type``, ``rtt_ms`` (dispatch -> callback received), ``original``
    (current @original message, after edits), ``followups`` (messages), ``events`` (everything,
    in order), ``violations`` (rule breaks attributed to this interaction).
    """

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    dispatched_at: float = 0.0
    callback: dict[str, Any] | None = None
    callback_type: int | None = None
    callback_at: float | None = None
    rtt_ms: float | None = None
    expired: bool = False
    original: dict[str, Any] | None = None
    original_deleted: bool = False
    followups: list[dict[str, Any]] = field(default_factory=list)
    events: list[ResponseEvent] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    triggered_by: InteractionRecord | None = None  # for modal submits: the interaction that opened the modal
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    # ------------------------------------------------------------------ bookkeeping (fake side)

    def _touch(self) -> None:
        self._changed.set()

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None

    @property
    def ephemeral(self) -> bool:
        return bool(self.original and (int(self.original.get("flags") or 0) & 64))

    # ------------------------------------------------------------------ waiting (test side)

    async def wait_until(
        self, predicate: Callable[[InteractionRecord], bool], timeout: float = 5.0
    ) -> InteractionRecord:
        """Wait until ``predicate(self)`` holds; raise ``TimeoutError`` with the story so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"interaction {self.id} (type {self.type}): condition not met in {timeout}s; {self.describe()}"
                )
            self._changed.clear()
            if predicate(self):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self

    async def wait_for_response(self, timeout: float = 5.0) -> InteractionRecord:
        """Wait for the first accepted callback (POST .../callback). Returns ``self``.

        After it returns: ``self.callback`` is the body, ``self.callback_type`` its type and
        ``self.rtt_ms`` the dispatch -> callback time.
        """
        return await self.wait_until(lambda r: r.callback is not None or r.expired, timeout)

    async def wait_for_message(self, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the user would see a finished reply and return that message.

        Immediate replies (type 4/7) finish at the callback; deferred ones (type 5/6) when
        @original is edited or a follow-up is sent.
        """

        def done(r: InteractionRecord) -> bool:
            if r.followups:
                return True
            if r.original is None:
                return False
            if r.callback_type == DEFERRED_UPDATE_MESSAGE:
                return any(e.kind == "edit" for e in r.events)
            return not int(r.original.get("flags") or 0) & 128

        await self.wait_until(done, timeout)
        if self.original is not None and not (int(self.original.get("flags") or 0) & 128):
            return self.original
        return self.followups[0] if self.followups else self.original or {}

    # ------------------------------------------------------------------ reading

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices from a type-8 callback."""
        if self.callback_type != APPLICATION_COMMAND_AUTOCOMPLETE_RESULT or not self.callback:
            return []
        return list((self.callback.get("data") or {}).get("choices") or [])

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal (``data``) from a type-9 callback."""
        if self.callback_type == MODAL and self.callback:
            return self.callback.get("data")
        return None

    def messages(self) -> list[dict[str, Any]]:
        out = []
        if self.original is not None and not self.original_deleted:
            out.append(self.original)
        out.extend(self.followups)
        return out

    def visible_text(self) -> str:
        """Content plus all embed text of @original and follow-ups, for ``in`` assertions."""
        parts: list[str] = []
        for msg in self.messages():
            parts.append(msg.get("content") or "")
            for e in msg.get("embeds") or []:
                parts += [e.get("title") or "", e.get("description") or ""]
                for f in e.get("fields") or []:
                    parts += [f.get("name") or "", f.get("value") or ""]
                parts.append((e.get("footer") or {}).get("text") or "")
                parts.append((e.get("author") or {}).get("name") or "")
        return "\n".join(p for p in parts if p)

    def describe(self) -> str:
        kinds = ", ".join(f"{e.kind}:{e.status}" for e in self.events) or "no requests"
        return f"callback_type={self.callback_type} rtt_ms={self.rtt_ms} events=[{kinds}] violations={self.violations}"


def median_ms(samples: list[float]) -> float | None:
    return statistics.median(samples) if samples else None


def now() -> float:
    return time.monotonic()
