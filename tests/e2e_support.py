"""Helpers for the end-to-end tests: run the real bot (`python -m bot run`) against the fake Discord.

The bot is started exactly as users start it, as a subprocess of `sys.executable -m bot run`, with
the fake's connection details in its environment. Each process gets its own working directory
(databases, heartbeat file, log), and every process started here is stopped by its owner's
finalizer (SIGTERM, then SIGKILL after 10 s) and, as a last resort, at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fake_discord import FakeDiscord, InteractionRecord

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
STOP_TIMEOUT = 10.0
READY_TIMEOUT = 30.0
#: Every setting the bot reads; the developer's own values must not leak into a test bot.
SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)

_RUNNING: set[BotProcess] = set()


def bot_env(fake: FakeDiscord, workdir: Path, **settings: object) -> dict[str, str]:
    """os.environ (minus any bot setting) + the fake's connection + per-process paths + ``settings``."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    env.update(fake.bot_env())
    env.update(
        {
            "DATA_DIR": str(DATA_DIR),
            "DATABASE_PATH": str(workdir / "facts.sqlite3"),
            "STATE_DATABASE_PATH": str(workdir / "moderation.sqlite3"),
            "HEALTH_FILE": str(workdir / "health.json"),
            "GUILD_IDS": str(fake.world.guild_id),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            # Answer directly (no defer) unless an answer takes over 2.5 s, so tests that expect the
            # answer as the first callback do not depend on how busy the machine is; the defer path
            # has its own tests (tests/test_backlog.py), which set ANSWER_DEFER_MS themselves.
            "ANSWER_DEFER_MS": "2500",
        }
    )
    env.update({key.upper(): str(value) for key, value in settings.items()})
    return env


class BotProcess:
    """One `python -m bot run` subprocess, its log file and heartbeat file."""

    def __init__(self, fake: FakeDiscord, workdir: Path, name: str = "bot", **settings: object) -> None:
        self.fake = fake
        self.name = name
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.env = bot_env(fake, workdir, **settings)
        self.log_path = workdir / f"{name}.log"
        self.health_file = Path(self.env["HEALTH_FILE"])
        self.proc: subprocess.Popen[bytes] | None = None
        self.stop_seconds: float | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> BotProcess:
        with self.log_path.open("wb") as log:
            # cwd is the process's own folder: a developer's .env in the repository must not apply.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _RUNNING.add(self)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def heartbeat(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.health_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data

    def connected(self) -> bool:
        """The bot's own word (its heartbeat file, written on connect/ready/resume) that it is up."""
        beat = self.heartbeat()
        return bool(beat and beat.get("pid") == self.pid and beat.get("connected"))

    async def wait_for_log(self, text: str, timeout: float = READY_TIMEOUT) -> None:
        """Wait until ``text`` appears in the process's log; fail at once (with the log) if it exits."""

        def seen() -> bool:
            if text in self.log_text():
                return True
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited with {self.returncode} before logging {text!r}\n{self.log_tail()}"
                )
            return False

        try:
            await self.fake.wait_until(seen, timeout, f"{self.name} (pid {self.pid}) to log {text!r}")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait for on_ready ("ready as …": after READY and the guilds' GUILD_CREATE)."""
        await self.wait_for_log("factbot: ready as", timeout)

    async def wait_heartbeat(self, timeout: float = 10.0) -> dict[str, Any]:
        """The heartbeat this process wrote (on_ready writes one right after logging "ready as")."""

        def written() -> bool:
            beat = self.heartbeat()
            return bool(beat and beat.get("pid") == self.pid)

        await self.fake.wait_until(written, timeout, f"a heartbeat file from {self.name}")
        beat = self.heartbeat()
        assert beat is not None
        return beat

    async def health(self) -> tuple[int, str]:
        """Run `python -m bot health` with this process's settings, as Docker's HEALTHCHECK does."""
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "health"],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.returncode, (done.stdout + done.stderr).strip()

    async def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait up to ``timeout`` s; SIGKILL (and return -9) when it does not exit in time."""
        assert self.proc is not None, "not started"
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(self.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, timeout)
            code = -signal.SIGKILL
        self.stop_seconds = time.monotonic() - started
        _RUNNING.discard(self)
        return code

    def kill(self) -> None:
        """Finalizer: terminate, then kill after 10 s; never raises."""
        proc = self.proc
        _RUNNING.discard(self)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT)

    # ------------------------------------------------------------------ logs

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        tail = "\n".join(self.log_text().splitlines()[-lines:])
        return f"--- last lines of {self.log_path} ---\n{tail}"

    def __hash__(self) -> int:
        return id(self)


@atexit.register
def _kill_strays() -> None:
    for bot in list(_RUNNING):
        bot.kill()


# ---------------------------------------------------------------------- reading what the bot sent


def component_ids(message: dict[str, Any]) -> list[str]:
    """Every custom_id on a message, in order (buttons inside action rows and the like)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if isinstance(node.get("custom_id"), str):
                found.append(node["custom_id"])
            for key in ("components", "component", "accessory"):
                if key in node:
                    walk(node[key])

    walk(message.get("components") or [])
    return found


def custom_id_starting(message: dict[str, Any], prefix: str) -> str:
    ids = [c for c in component_ids(message) if c.startswith(prefix)]
    assert ids, f"no component starting with {prefix!r} on message {message.get('id')}: {component_ids(message)}"
    return ids[0]


def modal_inputs(modal: dict[str, Any]) -> dict[str, str]:
    """Label -> custom_id of a modal's text inputs (labels sit on the input or on a type-18 Label)."""
    out: dict[str, str] = {}

    def walk(node: Any, label: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, label)
        elif isinstance(node, dict):
            own = node.get("label") if node.get("type") == 18 else label
            if node.get("type") == 4:
                out[str(node.get("label") or own)] = node["custom_id"]
            for key in ("components", "component"):
                if key in node:
                    walk(node[key], own)

    walk(modal.get("components") or [], None)
    return out


def message_text(message: dict[str, Any]) -> str:
    """Content plus all embed text of one message (like ``InteractionRecord.visible_text``)."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        for fld in embed.get("fields") or []:
            parts += [fld.get("name") or "", fld.get("value") or ""]
        parts.append((embed.get("footer") or {}).get("text") or "")
        parts.append((embed.get("author") or {}).get("name") or "")
    return "\n".join(p for p in parts if p)


def is_ephemeral(message: dict[str, Any]) -> bool:
    return bool(int(message.get("flags") or 0) & 64)


# ---------------------------------------------------------------------- interaction round trips


class RttLog:
    """Interaction round trips (dispatch -> callback, measured by the fake) across the whole run."""

    def __init__(self) -> None:
        self.samples: list[tuple[str, float]] = []

    def add(self, label: str, rec: InteractionRecord) -> None:
        if rec.rtt_ms is not None:
            self.samples.append((label, rec.rtt_ms))

    def extend(self, label: str, records: Iterable[InteractionRecord]) -> None:
        for rec in records:
            self.add(label, rec)

    def median(self) -> float | None:
        return statistics.median(ms for _, ms in self.samples) if self.samples else None

    def summary(self) -> dict[str, Any]:
        values = sorted(ms for _, ms in self.samples)
        return {
            "interactions": len(values),
            "median_ms": round(statistics.median(values), 1) if values else None,
            "p90_ms": round(values[int(0.9 * (len(values) - 1))], 1) if values else None,
            "max_ms": round(values[-1], 1) if values else None,
            "samples": [{"what": label, "rtt_ms": round(ms, 1)} for label, ms in self.samples],
        }


RTT = RttLog()
