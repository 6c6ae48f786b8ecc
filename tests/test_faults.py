"""Fault injection: damaged, locked, missing and unwritable files, a full disk, a failing Discord.

Every fault is built for real (garbage bytes, a second process holding `BEGIN EXCLUSIVE`, a read-only
folder, a tiny tmpfs) and every entry point is run as users run it, `python -m bot …` in a subprocess.
Each case asserts the exit code, one clear line on stderr and no traceback, the time to exit, and that
the moderator-state file is byte-identical afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import BotProcess, custom_id_starting, is_ephemeral, message_text, modal_inputs
from fake_discord import FakeDiscord

from bot.config import Settings
from tests.conftest import DATA_DIR, ROOT

SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)
EXIT_WITHIN = 10.0


class Run:
    def __init__(self, code: int, stdout: str, stderr: str, seconds: float) -> None:
        self.code, self.stdout, self.stderr, self.seconds = code, stdout, stderr, seconds

    def one_line(self) -> str:
        """The single stderr line, after checking there is exactly one and no traceback."""
        assert "Traceback" not in self.stderr, self.stderr
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one line on stderr, got:\n{self.stderr}"
        return lines[0]


FACTS: dict[str, Path] = {}  # the session's built fact database (conftest `built_db`), shared read-only


@pytest.fixture(autouse=True)
def _shared_fact_database(built_db: Path) -> None:
    FACTS["built"] = built_db  # every run reads it; it is current, so no run spends seconds rebuilding


def cli_env(workdir: Path, **settings: object) -> dict[str, str]:
    """os.environ without any bot setting, plus per-test paths and ``settings``."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATA_DIR": str(DATA_DIR),
            "DATABASE_PATH": str(FACTS.get("built", workdir / "facts.sqlite3")),
            "STATE_DATABASE_PATH": str(workdir / "moderation.sqlite3"),
            "HEALTH_FILE": str(workdir / "health.json"),
        }
    )
    env.update({key.upper(): str(value) for key, value in settings.items()})
    return env


def run_cli(workdir: Path, *args: str, timeout: float = 30.0, **settings: object) -> Run:
    """`python -m bot <args>` in ``workdir`` (so no developer .env applies); fails on a hang."""
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=workdir,
            env=cli_env(workdir, **settings),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"`python -m bot {' '.join(args)}` hung for {timeout} s: {exc.stderr!r}") from None
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


# ------------------------------------------------------------------------------------------ data files


def test_missing_data_dir_names_the_setting_without_a_line_number(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "ingest", "--check", data_dir=tmp_path / "nonexistent")
    line = run.one_line()
    assert run.code == 2
    assert line.startswith(f"error: {tmp_path / 'nonexistent'}: DATA_DIR") and ":0" not in line, line


def test_a_non_number_year_in_papers_is_a_file_line_error(tmp_path: Path, data_copy: Path) -> None:
    papers = data_copy / "papers.toml"
    text = papers.read_text(encoding="utf-8")
    line_no = text[: text.index("year = 2023")].count("\n") + 1
    papers.write_text(text.replace("year = 2023", 'year = "twenty"', 1), encoding="utf-8")
    run = run_cli(tmp_path / "w", "ingest", "--check", data_dir=data_copy)
    assert run.code == 2
    assert run.one_line() == f"error: {papers}:{line_no}: [[paper]] #1 year: expected a year like 2023, got 'twenty'"


def test_an_unresolved_citation_names_the_page_and_its_line(tmp_path: Path, data_copy: Path) -> None:
    page = data_copy / "concepts" / "ketamine.txt"
    text = page.read_text(encoding="utf-8")
    start = text.index("[fact:")
    end = text.index("]", start) + 1
    page.write_text(text[:start] + "[fact:1|zzzz qqqq wwww]" + text[end:], encoding="utf-8")
    run = run_cli(tmp_path / "w", "ingest", "--check", data_dir=data_copy)
    assert run.code == 2
    line_no = text[:start].count("\n") + 1
    assert run.one_line() == f"error: {page}:{line_no}: citation [fact:1|zzzz qqqq wwww] matches no single fact"


# ------------------------------------------------------------------------------------------ helpers for faults


def _state(workdir: Path) -> Path:
    return workdir / "moderation.sqlite3"


def make_state(workdir: Path) -> Path:
    """A real moderator-state file, created by the bot itself (`ask stats` opens and migrates it)."""
    run = run_cli(workdir, "ask", "stats")
    assert run.code == 0, run.stderr
    return _state(workdir)


def snapshot(path: Path) -> dict[str, bytes]:
    """The state file and any -wal/-shm beside it, byte for byte."""
    return {p.name: p.read_bytes() for p in sorted(path.parent.glob(path.name + "*"))}


class Locker:
    """Another process holding `BEGIN EXCLUSIVE` on a database (a backup tool, say), until stopped."""

    def __init__(self, path: Path) -> None:
        script = (
            "import sqlite3, sys, time\n"
            f"conn = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "conn.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n"
        )
        self.proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "locked"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs (the built fact database is about 8 MB) mounted for the test (root only); skipped with
    the reason when mounting is impossible."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN): {done.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def remount(mount: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(mount)], check=True)


def fill(mount: Path) -> None:
    """Fill the filesystem to the last byte (big writes, then single bytes, until ENOSPC)."""
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)


def assert_fault(run: Run, path: Path, problem: str, code: int = 2) -> str:
    line = run.one_line()
    assert run.code == code, (run.code, run.stderr)
    assert run.seconds < EXIT_WITHIN, f"took {run.seconds:.1f} s to exit"
    assert str(path) in line and problem in line, line
    return line


# ------------------------------------------------------------------------------------------ start-up


@pytest.mark.parametrize("command", [["ask", "stats"], ["forget-user", "5"], ["run"]])
def test_garbage_state_file_is_one_line_and_untouched(tmp_path: Path, command: list[str]) -> None:
    state = _state(tmp_path)
    state.write_bytes(b"garbage")
    nowhere = {"discord_token": "x", "discord_api_base": "http://127.0.0.1:9/api/v10"}  # `run`: files come first
    run = run_cli(tmp_path, *command, **nowhere)
    line = assert_fault(run, state, "is not a SQLite database")
    assert "restore your backup or move the file aside; nothing was changed" in line
    assert snapshot(state) == {state.name: b"garbage"}


def test_state_damaged_past_its_header_is_found_at_start_up(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    raw = bytearray(state.read_bytes())
    raw[4096:] = b"\x55" * (len(raw) - 4096)  # page 1 (the header) intact, every other page garbage
    state.write_bytes(bytes(raw))
    before = snapshot(state)
    run = run_cli(tmp_path, "ask", "reports")
    assert_fault(run, state, "is damaged (database disk image is malformed)")
    assert snapshot(state) == before


def test_state_locked_by_another_process_is_retried_then_reported(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    before = snapshot(state)
    locker = Locker(state)
    try:
        run = run_cli(tmp_path, "ask", "stats", state_lock_timeout_seconds=2)
    finally:
        locker.stop()
    line = assert_fault(run, state, "is locked by another process (still locked after 2 s)")
    assert run.seconds >= 2.0, "the lock must be retried for STATE_LOCK_TIMEOUT_SECONDS first"
    assert "nothing was changed" in line
    assert state.read_bytes() == before[state.name]  # (the locker, killed, leaves its own -wal/-shm)
    assert run_cli(tmp_path, "ask", "stats").code == 0, "once the lock is gone the same file opens"


def test_damaged_fact_database_search_rebuilds_and_health_says_why(tmp_path: Path) -> None:
    facts = tmp_path / "facts.sqlite3"
    shutil.copyfile(FACTS["built"].with_name("vectors.sqlite3"), tmp_path / "vectors.sqlite3")
    facts.write_bytes(b"garbage")
    health = run_cli(tmp_path, "health", database_path=facts)
    assert health.code == 1 and "Traceback" not in health.stderr + health.stdout, health.stderr
    searched = run_cli(tmp_path, "search", "ketamine", database_path=facts)
    assert searched.code == 0 and "Traceback" not in searched.stderr and "k-" in searched.stdout, searched.stderr


def test_read_only_volume_is_one_line(tmp_path: Path, tiny_fs: Path) -> None:
    state = make_state(tiny_fs)  # a real state file on the volume, then the volume goes read-only
    before = snapshot(state)
    remount(tiny_fs, "ro")
    try:
        run = run_cli(tiny_fs, "ask", "stats")
        assert_fault(run, state, "cannot be opened")
        run = run_cli(tmp_path, "ingest", database_path=tiny_fs / "new" / "facts.sqlite3")
        assert_fault(run, tiny_fs / "new" / "facts.sqlite3", "cannot be written (read-only")
    finally:
        remount(tiny_fs, "rw")
    assert snapshot(state) == before


def test_full_disk_is_one_line_and_keeps_what_was_there(tmp_path: Path, tiny_fs: Path) -> None:
    facts = tiny_fs / "facts.sqlite3"
    shutil.copyfile(FACTS["built"], facts)
    fill(tiny_fs)
    old_facts = facts.read_bytes()
    run = run_cli(tiny_fs, "ingest", database_path=facts)
    line = assert_fault(run, facts, "the disk is full")
    assert "the previous database (if any) was kept" in line
    assert facts.read_bytes() == old_facts
    assert not list(tiny_fs.glob(".facts.sqlite3.*.tmp")), "the half-built temporary file must be removed"

    state = _state(tiny_fs)
    run = run_cli(tiny_fs, "ask", "stats")
    assert_fault(run, state, "the disk is full")
    assert not state.exists(), "no empty state file is left behind"


# ------------------------------------------------------------------------------------------ while serving

WAIT = 15.0
FACT_ID = re.compile(r"\bk-[0-9a-f]{6,}\b")
NOT_SAVED = "could not save your report, please try again"


async def start_bot(fake: FakeDiscord, workdir: Path, **settings: object) -> BotProcess:
    bot = BotProcess(fake, workdir, "faults", DATABASE_PATH=FACTS["built"], COOLDOWN_USES=1000, **settings)
    bot.start()
    await bot.wait_ready()
    return bot


async def report(fake: FakeDiscord, problem: str) -> dict[str, Any]:
    """/fact, 🚩 Report, fill the form: the bot's answer to the submitted report."""
    rec = await fake.slash("fact", {"query": "esketamine nasal spray"})
    msg = await rec.wait_for_message(WAIT)
    report_id = custom_id_starting(msg, "factbot:report:")
    opened = await fake.click(msg, report_id, user="member")
    await opened.wait_for_response(WAIT)
    inputs = modal_inputs(opened.modal or {})
    submitted = await fake.submit_modal(
        opened,
        {inputs["Fact id"]: report_id.split(":")[2].split(",")[0], inputs["What is wrong?"]: problem},
        user="member",
    )
    answer = await submitted.wait_for_message(WAIT)
    assert not submitted.violations, submitted.describe()  # answered within Discord's 3 s
    return answer


async def still_answers(fake: FakeDiscord) -> None:
    rec = await fake.slash("fact", {"query": "ketamine"})
    msg = await rec.wait_for_message(WAIT)
    assert FACT_ID.search(message_text(msg)), rec.describe()  # (the backlog may defer first: 5, then the answer)


async def listed_reports(fake: FakeDiscord) -> str:
    rec = await fake.slash("reports", {"status": "all"}, user="moderator")
    return message_text(await rec.wait_for_message(WAIT))


def assert_served_through(bot: BotProcess) -> None:
    assert bot.alive(), bot.log_tail()
    assert "Traceback" not in bot.log_text(), bot.log_tail(80)


async def test_a_locked_state_answers_could_not_save_and_keeps_serving(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        bot = await start_bot(fake, tmp_path / "bot")
        try:
            assert "Report #1" in message_text(await report(fake, "the first one, stored before the lock"))
            locker = Locker(tmp_path / "bot" / "moderation.sqlite3")
            try:
                answer = await report(fake, "the state is locked by a backup tool")
                assert is_ephemeral(answer) and NOT_SAVED in message_text(answer), message_text(answer)
                await still_answers(fake)  # (its /stats count cannot be written either: logged only)
            finally:
                locker.stop()
            assert "Report #2" in message_text(await report(fake, "after the lock: saved"))
            listing = await listed_reports(fake)
            assert "#1" in listing and "#2" in listing and "#3" not in listing, listing
            assert re.search(
                r"saving a report failed \(error ref [0-9a-f]{8}\): moderator state: database is locked", bot.log_text()
            ), bot.log_tail()
            assert_served_through(bot)
            assert await bot.stop() == 0
        finally:
            bot.kill()
        fake.assert_clean()


async def test_a_full_disk_answers_could_not_save_and_loses_nothing(tmp_path: Path, tiny_fs: Path) -> None:
    async with FakeDiscord() as fake:
        bot = await start_bot(fake, tmp_path / "bot", STATE_DATABASE_PATH=tiny_fs / "moderation.sqlite3")
        try:
            assert "Report #1" in message_text(await report(fake, "the first one, stored before the disk filled"))
            fill(tiny_fs)
            answer = await report(fake, "the disk is full now")
            assert is_ephemeral(answer) and NOT_SAVED in message_text(answer), message_text(answer)
            await still_answers(fake)
            (tiny_fs / "filler").unlink()
            assert "Report #2" in message_text(await report(fake, "space again: saved"))
            listing = await listed_reports(fake)
            assert "#1" in listing and "#2" in listing, listing
            assert_served_through(bot)
            assert await bot.stop() == 0
        finally:
            bot.kill()
        fake.assert_clean()


async def test_discord_429_500_502_on_a_forum_post_are_retried_and_a_long_429_is_reported(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        w = fake.world
        bot = await start_bot(fake, tmp_path / "bot")
        try:
            fake.fail_next("POST", THREADS, 429, retry_after=0.5)
            fake.fail_next("POST", CHANNEL_MESSAGES, 500)
            fake.fail_next("PATCH", ORIGINAL, 502)
            done = await post_summary(fake, w.forum_channel_id)
            assert "The summary is live" in message_text(done), message_text(done)
            assert [r.status for r in fake.requests_to("POST", THREADS)] == [429, 201]
            assert [r.status for r in fake.requests_to("PATCH", ORIGINAL)][:2] == [502, 200]

            fake.fail_next("POST", THREADS, 429, retry_after=120)  # longer than the bot waits: reported
            refused = await post_summary(fake, w.forum_channel_id)
            text = message_text(refused)
            assert "Discord did not accept the summary" in text and "wait 120 s" in text, text
            assert re.search(
                r"posting a summary failed \(error ref [0-9a-f]{8}\): Discord rate limited it for 120 s", bot.log_text()
            ), bot.log_tail()
            await still_answers(fake)
            assert_served_through(bot)
            assert await bot.stop() == 0
        finally:
            bot.kill()
        fake.violations.clear()  # the fake counts its own injected answers as nothing; the rest must be clean
        fake.assert_clean()


THREADS = "/channels/{channel_id}/threads"
CHANNEL_MESSAGES = "/channels/{channel_id}/messages"
ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"


async def post_summary(fake: FakeDiscord, forum_id: int) -> dict[str, Any]:
    rec = await fake.slash("summary", {"concept": "ketamine", "channel": forum_id}, user="moderator")
    preview = await rec.wait_for_message(WAIT)
    post = await fake.click(preview, "factbot:preview:post", user="moderator")
    return await post.wait_for_message(30)  # deferred: done at the first accepted edit of the preview
