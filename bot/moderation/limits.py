"""Abuse limits: per-member rate limits (reports, Share) and the flood gate of the moderator log.

Reports are limited from the reports table itself (`ModerationStore.recent_reports`: it survives a
restart and counts across processes); Share is limited in memory, so no record of who shared is
kept anywhere. The flood gate decides, per guild, which reports go to the moderator log one by one
and which are gathered into a single summary message.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

HOUR = 3600.0
REPORTS_PER_HOUR = 5  # per member, every guild together
SHARES_PER_HOUR = 10  # per member
LOG_BURST = 3  # reports a guild's moderator log gets one by one per LOG_WINDOW…
LOG_WINDOW = 600.0  # …seconds; beyond that, one summary message per window

Clock = Callable[[], float]


def minutes_text(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def wait_text(seconds: float) -> str:
    return f"about {minutes_text(seconds)}"


def retry_after(times: Iterable[float], limit: int, now: float, window: float = HOUR) -> float | None:
    """Seconds until one more event is allowed, or None when it is allowed now."""
    recent = sorted(t for t in times if t > now - window)
    if len(recent) < limit:
        return None
    return recent[len(recent) - limit] + window - now


class SlidingWindow:
    """At most `limit` events per `window` seconds per key, kept in memory only."""

    def __init__(self, limit: int, window: float = HOUR, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[int, deque[float]] = {}

    def take(self, key: int) -> float | None:
        """Count one event; None when allowed, else the seconds to wait (and nothing is counted)."""
        now = self.clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        wait = retry_after(events, self.limit, now, self.window)
        if wait is None:
            events.append(now)
        if len(self._events) > 10_000:  # forget members whose events all expired
            self._events = {k: v for k, v in self._events.items() if v and v[-1] > now - self.window}
        return wait


@dataclass
class _GuildLog:
    posted: deque[float] = field(default_factory=deque)  # when reports were admitted or held
    held: list[str] = field(default_factory=list)  # reports waiting for the summary


class LogFlood:
    """Per guild: the first `burst` reports in `window` seconds are posted one by one; later ones are
    held, and one summary of them is posted when the window that held them ends."""

    def __init__(self, burst: int = LOG_BURST, window: float = LOG_WINDOW, clock: Clock = time.monotonic) -> None:
        self.burst = burst
        self.window = window
        self.clock = clock
        self._guilds: dict[int, _GuildLog] = {}

    def admit(self, guild_id: int, label: str) -> bool | None:
        """True: post this report on its own. None: held, and a summary is already due.
        False: held, and the caller must post the summary (`take_held`) after `window` seconds."""
        now = self.clock()
        log = self._guilds.setdefault(guild_id, _GuildLog())
        while log.posted and log.posted[0] <= now - self.window:
            log.posted.popleft()
        log.posted.append(now)
        if len(log.posted) <= self.burst and not log.held:
            return True
        log.held.append(label)
        return False if len(log.held) == 1 else None

    def take_held(self, guild_id: int) -> list[str]:
        log = self._guilds.get(guild_id)
        if log is None:
            return []
        held, log.held = log.held, []
        return held


@dataclass
class Limits:
    """The in-memory limits of one bot process."""

    shares: SlidingWindow = field(default_factory=lambda: SlidingWindow(SHARES_PER_HOUR))
    report_log: LogFlood = field(default_factory=LogFlood)
