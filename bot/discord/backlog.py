"""Answering under load: bounded work, acknowledge first when it backs up, "busy" instead of silence.

Discord drops an interaction that is not acknowledged within 3 s ("This interaction failed"). A
search costs a few milliseconds of CPU on the event loop plus the query's embedding in a thread,
so a burst of questions queues up behind itself; without a bound, every one of them ends up late,
and the bot keeps computing answers Discord will no longer take.

`Backlog` runs answers in at most `workers` slots, FIFO. An answer that is not ready within
`defer_after` seconds of arriving (waiting for a slot or still being computed) is acknowledged
first — a deferred reply ("thinking…"), or a deferred update for a button — and finished with a
follow-up; when the queue ahead is long enough that it cannot be ready in time (the recent time per
answer says so), it is acknowledged at once. Past `limit` waiting answers (or `BUSY_WAIT` seconds
of expected wait) a question gets a short private "busy" notice at once; one that waited longer
than `MAX_WAIT` gets that notice instead of a late answer; and one that reached this handler after
Discord's deadline had already passed is dropped (an answer would fail and only delay the
questions behind it).

The slots also yield to the event loop: while the loop lags (acknowledgements queue behind
answers), only one answer is computed at a time, so the loop keeps acknowledging on time.
Autocomplete cannot be deferred: it is answered only when a slot is free, else with no choices.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import discord

from bot.answers.answers import Answers
from bot.answers.render import message_reply
from bot.answers.reply import Reply
from bot.discord.delivery import Delivery

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_WAIT = 20.0  # seconds: a queued answer older than this gets the busy notice (Discord keeps tokens 15 min)
BUSY_WAIT = 10.0  # seconds: a question that would wait longer than this for a slot gets the busy notice now
EXPIRED_AFTER = 2.7  # seconds an interaction may have waited in this process and still be acknowledged
FLOOR_DRIFT = 0.001  # seconds the age floor may rise per interaction (the host clock may be adjusted)
LAG_TICK = 0.05  # seconds between the loop-lag probe's wake-ups
LAG_HIGH = 0.1  # seconds of lag above which only one answer is computed at a time
BUSY_TITLE = "Busy right now"


def busy_reply() -> Reply:
    return message_reply(
        BUSY_TITLE, "Many questions are arriving at once. Please try again in a minute.", ephemeral=True
    )


class Backlog:
    """At most `workers` answers computed at once, at most `limit` waiting; see the module docstring."""

    def __init__(
        self,
        delivery: Delivery,
        current: Callable[[], Answers],
        *,
        workers: int = 4,
        limit: int = 200,
        defer_after: float = 0.25,
    ) -> None:
        self.delivery = delivery
        self.current = current  # the answers of the store being served now (a reload swaps it)
        self.workers = workers
        self.limit = limit
        self.defer_after = defer_after
        self.running = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.pending = 0  # admitted by `answer` and not yet holding a slot
        self._in_flight: dict[int, int] = {}  # id(answers) -> answers being computed on it
        self.lag = 0.0  # the event loop's recent lag, seconds (see `watch_loop`)
        self.service = 0.02  # recent seconds per answer, once in a slot (moving average)
        self.counts = {"answered": 0, "deferred": 0, "busy": 0, "expired": 0}
        self._floor: float | None = None  # the smallest interaction age seen lately (clock skew + network)
        self._probe: asyncio.Task[None] | None = None

    # --- state -------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Questions admitted and not yet in a slot (counted at once: their tasks start later)."""
        return self.pending

    def in_flight(self, answers: Answers) -> int:
        """How many answers are being computed on `answers` (a reload waits for 0 before closing it)."""
        return self._in_flight.get(id(answers), 0)

    def _capacity(self) -> int:
        return 1 if self.lag > LAG_HIGH else self.workers

    # --- slots -------------------------------------------------------------------------------

    async def _acquire(self) -> None:
        if self.running < self._capacity() and not self._waiters:
            self.running += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # the slot is handed over by `_release` (running stays counted)
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot at the moment we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _release(self) -> None:
        while self._waiters and self.running <= self._capacity():
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # hand this slot over
                return
        self.running -= 1
        self._wake()

    def _wake(self) -> None:
        """Start waiters while there is capacity (after the lag drops, say)."""
        while self._waiters and self.running < self._capacity():
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.running += 1
                waiter.set_result(None)

    @contextlib.asynccontextmanager
    async def slot(self, *, admitted: bool = False, reserved: bool = False) -> AsyncIterator[Answers]:
        """Hold a slot and the answers to compute on; waits its turn (forum auto-replies).

        `_admit` either reserved the slot already (`reserved`) or counted the caller in `pending`
        (`admitted`), which is counted out here once it has a slot.
        """
        if not reserved:
            try:
                await self._acquire()
            finally:
                if admitted:
                    self.pending -= 1
        answers = self.current()
        key = id(answers)
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            yield answers
        finally:
            left = self._in_flight[key] - 1
            if left:
                self._in_flight[key] = left
            else:
                del self._in_flight[key]
            self._release()

    def _admit(self, produce: Callable[[Answers], Awaitable[T]]) -> asyncio.Future[T | None]:
        """Take a free slot now, or count the question as waiting now (its task starts later)."""
        reserved = self.running < self._capacity() and not self._waiters and not self.pending
        if reserved:
            self.running += 1
        else:
            self.pending += 1
        return asyncio.ensure_future(self._compute(produce, time.monotonic(), reserved))

    async def _compute(self, produce: Callable[[Answers], Awaitable[T]], arrived: float, reserved: bool) -> T | None:
        async with self.slot(admitted=not reserved, reserved=reserved) as answers:
            started = time.monotonic()
            if started - arrived > MAX_WAIT:
                return None
            result = await produce(answers)
            self.service = 0.8 * self.service + 0.2 * (time.monotonic() - started)
            return result

    def expected_wait(self) -> float:
        """Seconds a question arriving now would wait for a slot, from the recent time per answer."""
        return (self.waiting + 1) * self.service / self._capacity()

    # --- interactions ------------------------------------------------------------------------

    async def answer(
        self,
        interaction: discord.Interaction,
        produce: Callable[[Answers], Awaitable[Reply]],
        *,
        ephemeral: bool,
        update: bool = False,
    ) -> Reply | None:
        """Compute a reply in a slot and send it (`update`: edit the button's message instead).

        Sent directly when ready within `defer_after`, else after a defer; the busy notice when the
        backlog is full or the answer waited too long. Returns the reply sent (None: busy notice).
        """
        if self._expired(interaction):
            return None
        if self.waiting >= self.limit or self.expected_wait() > BUSY_WAIT:
            await self._busy(interaction)
            return None
        queued = self.running >= self._capacity() or self.pending > 0
        task = self._admit(produce)
        if queued and self.expected_wait() >= self.defer_after:
            await self._defer(interaction, ephemeral=ephemeral, update=update)  # no point waiting to see
            reply = await task
        else:
            try:
                reply = await asyncio.wait_for(asyncio.shield(task), self.defer_after)
            except TimeoutError:
                await self._defer(interaction, ephemeral=ephemeral, update=update)
                reply = await task
        if reply is None:
            await self._busy(interaction)
            return None
        self.counts["answered"] += 1
        if update:
            await self.delivery.edit(interaction, reply)
        else:
            await self.delivery.respond(interaction, reply)
        return reply

    def _expired(self, interaction: discord.Interaction) -> bool:
        """Whether this interaction waited in this process so long that Discord has dropped it already.

        Its age is measured from its snowflake (Discord's clock) against the smallest age seen lately,
        so a host clock that is off, and the network's own latency, do not count. Answering it would
        cost a request that fails, while later questions wait behind it.
        """
        created = getattr(interaction, "created_at", None)
        if not isinstance(created, datetime.datetime):
            return False
        age = (discord.utils.utcnow() - created).total_seconds()
        self._floor = age if self._floor is None else min(age, self._floor + FLOOR_DRIFT)
        if age - self._floor <= EXPIRED_AFTER:
            return False
        self.counts["expired"] += 1
        if self.counts["expired"] % 100 == 1:
            log.warning(
                "dropping interactions that waited over %.1f s in this process (%d so far)",
                EXPIRED_AFTER,
                self.counts["expired"],
            )
        return True

    async def quick(self, produce: Callable[[Answers], Awaitable[T]], default: T) -> T:
        """Autocomplete: computed only when a slot is free right now (it cannot be deferred)."""
        if self.running >= self._capacity() or self.pending:
            return default
        return await self._admit(produce) or default

    async def _defer(self, interaction: discord.Interaction, *, ephemeral: bool, update: bool) -> None:
        if interaction.response.is_done():
            return
        self.counts["deferred"] += 1
        try:
            if update:
                await interaction.response.defer()
            else:
                await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        except discord.HTTPException as exc:  # too late already: the answer below will fail the same way
            log.warning("could not defer interaction %s: %s", interaction.id, exc)

    async def _busy(self, interaction: discord.Interaction) -> None:
        self.counts["busy"] += 1
        try:
            await self.delivery.respond(interaction, busy_reply())
        except discord.HTTPException as exc:
            log.warning("could not send the busy notice for interaction %s: %s", interaction.id, exc)

    # --- the loop-lag probe ------------------------------------------------------------------

    def watch_loop(self) -> None:
        """Start measuring the event loop's lag (idempotent; stopped by `close`)."""
        if self._probe is None:
            self._probe = asyncio.get_running_loop().create_task(self._measure())

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(LAG_TICK)
            late = max(0.0, loop.time() - started - LAG_TICK)
            self.lag = late if late > self.lag else 0.7 * self.lag + 0.3 * late  # rises fast, falls slowly
            self._wake()

    def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            self._probe = None
