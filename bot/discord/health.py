"""Liveness for the container healthcheck: a heartbeat file written by the bot, checked by a second process.

Docker's HEALTHCHECK runs `python -m bot health` as a separate process, which cannot look inside the
running bot. So the bot writes a small JSON heartbeat (to /tmp, the only writable place besides the
state volume under a read-only root) every ~30 s and whenever the gateway connects or drops, and the
check reads it back. A heartbeat that stopped getting fresh means the event loop is stuck or the process
is gone; `connected: false` means the gateway is down. The check also opens the fact database read-only,
because a bot that is connected but cannot read its facts answers nothing useful.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from bot.config import Settings

log = logging.getLogger(__name__)


def write_heartbeat(path: Path, *, shard_ids: list[int] | None, latency_ms: float | None, connected: bool) -> None:
    """Atomically replace the heartbeat file; never raises.

    Written to a temporary file in the same folder and swapped in with `os.replace`, so the checker
    never reads half a file. A failure is logged and swallowed: a full /tmp must not crash the bot,
    and the heartbeat going stale will make the healthcheck report it anyway.
    """
    payload = {
        "at": time.time(),
        "pid": os.getpid(),
        "shards": shard_ids,
        "latency_ms": None if latency_ms is None else round(latency_ms, 1),
        "connected": connected,
    }
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        log.warning("could not write heartbeat %s: %s", path, exc)
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _read_heartbeat(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The parsed heartbeat, or None and a one-line reason."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, f"no heartbeat at {path}: the bot has not started or cannot write there"
    except OSError as exc:
        return None, f"heartbeat {path} cannot be read: {exc}"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return None, f"heartbeat {path} is not valid JSON: {exc}"
    if not isinstance(data, dict) or not isinstance(data.get("at"), int | float):
        return None, f"heartbeat {path} has no timestamp"
    return data, ""


def _check_database(path: Path) -> str | None:
    """None when the fact database opens read-only and `facts` can be counted, else why not.

    Read-only URI mode, so the check can never create an empty database file or take a write lock
    that would get in the way of a rebuild.
    """
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            conn.execute("SELECT count(*) FROM facts").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"database {path} cannot be opened: {exc}"
    return None


def check_health(settings: Settings, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one line): the heartbeat is fresh and connected, and the fact database is readable."""
    now = time.time() if now is None else now
    limit = settings.health_max_age_seconds
    beat, reason = _read_heartbeat(settings.health_file)
    if beat is None:
        return False, reason
    age = now - float(beat["at"])
    if age > limit:
        return False, f"heartbeat is {age:.0f} s old (limit {limit:.0f} s)"
    if beat.get("connected") is not True:
        return False, f"gateway is disconnected (heartbeat {age:.0f} s old)"
    problem = _check_database(settings.database_path)
    if problem:
        return False, problem
    latency = beat.get("latency_ms")
    latency_text = f", latency {latency:.0f} ms" if isinstance(latency, int | float) else ""
    return True, f"ok: heartbeat {age:.0f} s old, connected{latency_text}, database readable"


def health_main(settings: Settings) -> int:
    """`python -m bot health`: print the line, exit 0 when healthy and 1 when not (what Docker expects)."""
    healthy, message = check_health(settings)
    print(message)
    return 0 if healthy else 1
