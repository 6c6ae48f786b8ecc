"""Fault injection: damaged, locked, missing and unwritable files, a full disk, a failing Discord.

Every fault is built for real (garbage bytes, a second process holding `BEGIN EXCLUSIVE`, a read-only
folder, a tiny tmpfs) and every entry point is run as users run it, `python -m bot …` in a subprocess.
Each case asserts the exit code, one clear line on stderr and no traceback, the time to exit, and that
the moderator-state file is byte-identical afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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


def cli_env(workdir: Path, **settings: object) -> dict[str, str]:
    """os.environ without any bot setting, plus per-test paths and ``settings``."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATA_DIR": str(DATA_DIR),
            "DATABASE_PATH": str(workdir / "facts.sqlite3"),
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
