"""Self-hosting files stay in sync with the code: .env.example, compose.yaml, Dockerfile, health check.

These are the files a newcomer copies and runs without reading the code, so a setting added to
`Settings` but not to `.env.example`, or a Dockerfile path that drifts from the compose volume, would
only show up on somebody else's server. The last test installs the project the way the Dockerfile does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import discord
import pytest
import yaml

from bot.config import Settings
from bot.discord.health import check_health, health_main, write_heartbeat

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
VOLUME_PATH = "/var/lib/factbot"
# `NAME=value` or, commented out, `# NAME=value`; description comments never look like this.
_ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


# ---------------------------------------------------------------- .env.example


def _env_example() -> list[tuple[int, bool, str, str]]:
    """(line index, commented out, NAME, value) for every assignment in .env.example."""
    found = []
    for index, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()):
        match = _ASSIGNMENT.match(line.strip())
        if match:
            found.append((index, match.group(1) is not None, match.group(2), match.group(3)))
    return found


def _setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    names = [name for _, _, name, _ in _env_example()]
    assert len(names) == len(set(names)), (
        f"duplicated in .env.example: {sorted(n for n in names if names.count(n) > 1)}"
    )
    missing = _setting_names() - set(names)
    unknown = set(names) - _setting_names()
    assert not missing, f"settings missing from .env.example: {sorted(missing)}"
    assert not unknown, f".env.example names no such setting: {sorted(unknown)}"


def test_env_example_explains_each_setting_and_its_default() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for index, _, name, _ in _env_example():
        # The comment block directly above the assignment (a `(…)` note may follow the first line).
        block = []
        cursor = index - 1
        while cursor >= 0 and lines[cursor].startswith("#") and not _ASSIGNMENT.match(lines[cursor]):
            block.append(lines[cursor])
            cursor -= 1
        assert block, f"{name} has no comment line above it"
        assert any("Default" in line for line in block), f"the comment above {name} does not give its default"


def test_env_example_only_token_is_set_and_it_is_empty() -> None:
    # Anything uncommented would override the Docker image's paths (and an empty value is not "unset").
    active = {name: value for _, commented, name, value in _env_example() if not commented}
    assert active == {"DISCORD_TOKEN": ""}


def test_env_example_defaults_are_the_real_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _setting_names():
        monkeypatch.delenv(name, raising=False)
    # Uncomment every line that shows a value; empty ones stand for "unset" and are left out.
    uncommented = [f"{name}={value}" for _, _, name, value in _env_example() if value]
    env_file = tmp_path / "uncommented.env"
    env_file.write_text("\n".join(uncommented) + "\n", encoding="utf-8")
    documented = Settings(_env_file=env_file)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert documented.model_dump() == defaults.model_dump()


# ---------------------------------------------------------------- compose.yaml


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def test_compose_service_is_locked_down() -> None:
    compose = _compose()
    assert compose["name"] == "factbot"  # so the volume is `factbot_factbot-state`, as the docs say
    assert list(compose["services"]) == ["factbot", "postgres"]
    service = compose["services"]["factbot"]
    assert service["build"] == "."
    assert service["image"] == "factbot:local"
    assert service["read_only"] is True
    assert "/tmp" in _as_list(service["tmpfs"])
    assert service["restart"] == "unless-stopped"
    assert _as_list(service["env_file"]) == [".env"]
    assert service["stop_grace_period"] == "15s"
    assert service["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
    # The Dockerfile's HEALTHCHECK applies; compose must not override or disable it.
    assert "healthcheck" not in service


def test_compose_mounts_the_named_state_volume() -> None:
    compose = _compose()
    mounts = _as_list(compose["services"]["factbot"]["volumes"])
    assert "factbot-state:/var/lib/factbot" in mounts
    assert "factbot-state" in compose["volumes"]


def test_compose_postgres_is_optional_with_a_volume_and_a_healthcheck() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"], "off unless `--profile postgres`: SQLite stays the default"
    assert "factbot-postgres:/var/lib/postgresql/data" in _as_list(postgres["volumes"])
    assert "factbot-postgres" in compose["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["environment"]["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-}", "never a password in git"
    waits = compose["services"]["factbot"]["depends_on"]["postgres"]
    assert waits == {"condition": "service_healthy", "required": False}, "the bot also starts without it"


def test_compose_publishes_no_ports() -> None:
    for name, service in _compose()["services"].items():
        assert "ports" not in service, f"{name} publishes ports; the bot needs none"
        assert "expose" not in service


# ---------------------------------------------------------------- Dockerfile


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and `\\` continuations joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _one(stage: list[tuple[str, str]], keyword: str) -> str:
    values = [rest for k, rest in stage if k == keyword]
    assert values, f"no {keyword} in the final stage"
    return values[-1]


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in rest.split())  # type: ignore[misc]
    return env


def test_dockerfile_is_multi_stage_from_python_slim() -> None:
    instructions = _instructions()
    assert instructions[0][0] == "FROM"
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(froms) >= 2, "expected a builder stage and a final stage"
    assert all(rest.split()[0] == "python:3.11-slim" for rest in froms)
    final = _final_stage()
    copies_from_builder = [rest for keyword, rest in final if keyword == "COPY" and rest.startswith("--from=")]
    assert copies_from_builder == ["--from=builder /opt/venv /opt/venv"]


def test_dockerfile_final_stage_runs_as_non_root_without_compilers() -> None:
    final = _final_stage()
    user = _one(final, "USER")
    assert user.split(":")[0] not in {"root", "0"}
    assert "--uid 10001" in _one(final, "RUN")
    runs = " ".join(rest for keyword, rest in final if keyword == "RUN")
    for tool in ("gcc", "build-essential", "apt-get install", "pip install"):
        assert tool not in runs, f"the final stage runs {tool!r}; build in the builder stage"


def test_dockerfile_health_signal_volume_and_command() -> None:
    final = _final_stage()
    healthcheck = _one(final, "HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD")
    assert json.loads(command) == ["python", "-m", "bot", "health"]
    for option in ("--interval=30s", "--timeout=10s", "--start-period=60s", "--retries=3"):
        assert option in options.split()
    assert _one(final, "STOPSIGNAL") == "SIGTERM"
    assert _one(final, "VOLUME") == VOLUME_PATH
    # Exec form, so python is PID 1 and gets SIGTERM itself.
    assert json.loads(_one(final, "CMD")) == ["python", "-m", "bot", "run"]
    assert _one(final, "WORKDIR") == "/app"


def test_dockerfile_env_names_real_settings_and_writes_only_to_volume_or_tmp() -> None:
    env = _env(_final_stage())
    assert env["DATA_DIR"] == "/app/data"
    assert env["PYTHONUNBUFFERED"] == "1"
    settings = {name: value for name, value in env.items() if not name.startswith(("PYTHON", "PIP", "PATH"))}
    assert set(settings) <= _setting_names(), f"ENV names no setting: {sorted(set(settings) - _setting_names())}"
    # The root is read-only under compose: writable paths must be on the volume or the /tmp tmpfs.
    for name in ("DATABASE_PATH", "STATE_DATABASE_PATH"):
        assert settings[name].startswith(VOLUME_PATH + "/")
    assert settings["HEALTH_FILE"].startswith("/tmp/")
    compose_tmpfs = _as_list(_compose()["services"]["factbot"]["tmpfs"])
    assert "/tmp" in compose_tmpfs


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    patterns = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for needed in (".env", ".git/", ".venv/", ".state/", "*.sqlite3", "bench/out/", "__pycache__/"):
        assert needed in patterns


# ---------------------------------------------------------------- docs


def test_docs_invite_link_asks_for_exactly_the_listed_permissions() -> None:
    docs = (ROOT / "docs" / "self-hosting.md").read_text(encoding="utf-8")
    least = discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        embed_links=True,
        read_message_history=True,
    )
    link = f"scope=bot+applications.commands&permissions={least.value}"
    assert link in docs
    assert f"**{least.value}**" in docs


# ---------------------------------------------------------------- health check


def _facts_db(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE facts (rowid INTEGER PRIMARY KEY, id TEXT, text TEXT)")
        conn.execute("INSERT INTO facts (id, text) VALUES ('k-000001', 'a fact')")
    conn.close()
    return path


def _settings(tmp_path: Path, db: Path | None = None) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        health_file=tmp_path / "health.json",
        database_path=db or _facts_db(tmp_path / "facts.sqlite3"),
        health_max_age_seconds=120,
    )


def test_missing_heartbeat_is_unhealthy(tmp_path: Path) -> None:
    healthy, message = check_health(_settings(tmp_path))
    assert not healthy
    assert "no heartbeat" in message and str(tmp_path / "health.json") in message


def test_fresh_heartbeat_and_readable_database_is_healthy(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_heartbeat(settings.health_file, shard_ids=[0, 1], latency_ms=41.26, connected=True)
    beat = json.loads(settings.health_file.read_text(encoding="utf-8"))
    assert beat["pid"] == os.getpid() and beat["shards"] == [0, 1] and beat["connected"] is True
    assert abs(beat["at"] - time.time()) < 5
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    healthy, message = check_health(settings)
    assert healthy, message
    assert "\n" not in message


def test_stale_heartbeat_names_its_age(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_heartbeat(settings.health_file, shard_ids=None, latency_ms=None, connected=True)
    at = json.loads(settings.health_file.read_text(encoding="utf-8"))["at"]
    healthy, message = check_health(settings, now=at + 312)
    assert not healthy
    assert message == "heartbeat is 312 s old (limit 120 s)"


def test_disconnected_gateway_is_unhealthy(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_heartbeat(settings.health_file, shard_ids=None, latency_ms=None, connected=False)
    healthy, message = check_health(settings)
    assert not healthy
    assert "disconnected" in message


@pytest.mark.parametrize("kind", ["missing", "not a database", "no facts table"])
def test_unreadable_database_is_unhealthy(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "broken.sqlite3"
    if kind == "not a database":
        db.write_bytes(b"this is not sqlite" * 100)
    elif kind == "no facts table":
        sqlite3.connect(db).close()
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE other (x)")
        conn.close()
    settings = _settings(tmp_path, db)
    write_heartbeat(settings.health_file, shard_ids=None, latency_ms=12.0, connected=True)
    healthy, message = check_health(settings)
    assert not healthy
    assert message.startswith(f"database {db} cannot be opened: ")
    # Read-only: the check never creates the file it could not find.
    assert db.exists() == (kind != "missing")


def test_write_heartbeat_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    write_heartbeat(blocker / "health.json", shard_ids=None, latency_ms=None, connected=True)
    assert not (blocker / "health.json").exists()


def test_health_main_prints_one_line_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path)
    assert health_main(settings) == 1
    write_heartbeat(settings.health_file, shard_ids=None, latency_ms=None, connected=True)
    assert health_main(settings) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("no heartbeat") and lines[1].startswith("ok")


# ---------------------------------------------------------------- the Dockerfile's install step


def test_project_installs_non_editable_into_a_clean_venv(tmp_path: Path) -> None:
    """What the builder stage does: `pip install .` (no dev extras) into a fresh venv, then import.

    Installed from a copy of the source, as Docker does, so the build leaves no `build/` or
    `*.egg-info` in the working tree. Needs the package index (pip's cache is reused).
    """
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "venv",
            ".state",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            "*.sqlite3*",
            ".env",
        ),
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    probe = subprocess.run(
        [str(python), "-c", "import bot, cogs, discord, aiosqlite, rapidfuzz; print(bot.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # not the repo, so `import bot` cannot come from the working tree
        env=env,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert Path(probe.stdout.strip()).is_relative_to(venv), probe.stdout
