"""Live data reload (issue 13): the new store is built to the side and swapped in; answers in flight
finish on the old one; a bad file keeps the old store serving and says `file:line` what is wrong.

The services-level tests run the real `Reloader` on a writable copy of data/; the end-to-end test
runs the real bot against the fake Discord and reloads it with /reload and with SIGHUP.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from e2e_support import BotProcess, is_ephemeral, message_text
from fake_discord import FakeDiscord

from bot.config import Settings
from bot.discord import reload as reload_module
from bot.discord.services import Services
from bot.facts.vectors import cache_path

NEW_WORD = "qqzorblax"
OTHER_WORD = "qqblorfin"
WAIT = 20.0


def rewrite(word: str) -> str:
    """What an answer says once `word` is an alias of ketamine."""
    return f"Showing results for **{word} (ketamine)**"


def add_alias(data_dir: Path, word: str, to: str = "ketamine") -> None:
    """A new line at the top of `[aliases]`, as a moderator would add it."""
    path = data_dir / "aliases.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[aliases]\n", f'[aliases]\n"{word}" = ["{to}"]\n', 1), encoding="utf-8")


def break_aliases(data_dir: Path) -> int:
    """Append a line that is not TOML; returns its line number."""
    path = data_dir / "aliases.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, '"broken" = [unclosed']) + "\n", encoding="utf-8")
    return len(lines) + 1


def current_copy(built_db: Path, folder: Path) -> Path:
    """The session's built database (current for data/ and any unchanged copy) and its vector cache."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(built_db, folder / "facts.sqlite3")
    if cache_path(built_db).exists():
        shutil.copy(cache_path(built_db), cache_path(folder / "facts.sqlite3"))
    return folder / "facts.sqlite3"


@pytest.fixture
async def reloadable(data_copy: Path, tmp_path: Path, built_db: Path) -> AsyncIterator[Services]:
    settings = Settings(
        data_dir=data_copy,
        database_path=current_copy(built_db, tmp_path / "db"),
        state_database_path=tmp_path / "state.sqlite3",
        _env_file=None,
    )  # type: ignore[call-arg]
    opened = await Services.open(settings)
    yield opened
    await opened.close()


async def test_reload_swaps_the_store_and_answers_in_flight_finish_on_the_old_one(
    reloadable: Services, data_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reload_module, "GRACE_SECONDS", 0.0)
    svc = reloadable
    unchanged = await svc.reloader.reload("test")
    assert unchanged.ok and not unchanged.changed and "No change" in unchanged.message

    old_store = svc.store
    started, release = asyncio.Event(), asyncio.Event()

    async def in_flight() -> str:
        async with svc.backlog.slot() as answers:  # an answer that began before the reload
            started.set()
            await release.wait()
            reply, _ = await answers.fact(NEW_WORD)
            return reply.embeds[0].description or ""

    answering = asyncio.create_task(in_flight())
    await started.wait()
    add_alias(data_copy, NEW_WORD)
    result = await svc.reloader.reload("test")
    assert result.ok and result.changed, result.message
    assert svc.store is not old_store and svc.answers.store is svc.store
    assert result.facts_after == result.facts_before == svc.store.fact_count
    reply, page = await svc.answers.fact(NEW_WORD)
    assert page is not None and rewrite(NEW_WORD) in (reply.embeds[0].description or ""), "new answers: new data"

    await asyncio.sleep(0.2)
    assert await old_store.concept_names(), "the old store stays open while an answer is computing on it"
    release.set()
    assert rewrite(NEW_WORD) not in await answering, "the answer in flight finished on the old data"
    for _ in range(50):
        if not svc.reloader._retired:
            break
        await asyncio.sleep(0.05)
    assert not svc.reloader._retired, "the old store is closed once nothing uses it"
    with pytest.raises(ValueError):
        await old_store.concept_names()


async def test_a_bad_data_file_keeps_the_old_store_and_says_file_and_line(
    reloadable: Services, data_copy: Path
) -> None:
    svc = reloadable
    serving = svc.store
    line = break_aliases(data_copy)
    result = await svc.reloader.reload("test")
    assert not result.ok and not result.changed
    assert re.search(rf"Kept the current data: aliases\.toml:{line}: invalid TOML", result.message), result.message
    assert svc.store is serving
    _, page = await svc.answers.fact("ketamine")
    assert page is not None, "the old store still answers"


@pytest.mark.asyncio(loop_scope="function")
async def test_reload_and_sighup_in_the_running_bot(tmp_path: Path, data_copy: Path, built_db: Path) -> None:
    """/reload (deferred first: a rebuild takes seconds) and SIGHUP swap the data in the running bot."""
    async with FakeDiscord() as fake:
        workdir = tmp_path / "bot"
        current_copy(built_db, workdir)
        bot = BotProcess(fake, workdir, "reload", DATA_DIR=data_copy, COOLDOWN_USES=1000)
        try:
            bot.start()
            await bot.wait_ready()

            async def ask(name: str, options: dict[str, object] | None = None, user: str = "member") -> str:
                rec = await fake.slash(name, options or {}, user=user)
                msg = await rec.wait_for_message(WAIT)
                assert not rec.violations, rec.describe()
                if name == "reload" and user == "moderator":
                    assert rec.callback_type == 5 and is_ephemeral(msg), rec.describe()
                return message_text(msg)

            assert rewrite(NEW_WORD) not in await ask("fact", {"query": NEW_WORD})
            add_alias(data_copy, NEW_WORD)
            said = await ask("reload", user="moderator")
            assert "Data reloaded" in said and "Now serving" in said, said
            assert rewrite(NEW_WORD) in await ask("fact", {"query": NEW_WORD})

            line = break_aliases(data_copy)
            said = await ask("reload", user="moderator")
            assert "Data not reloaded" in said and f"aliases.toml:{line}: invalid TOML" in said, said
            assert rewrite(NEW_WORD) in await ask("fact", {"query": NEW_WORD}), "the old store still serves"
            assert "Moderators only" in await ask("reload", user="member")

            (data_copy / "aliases.toml").write_text(
                "\n".join((data_copy / "aliases.toml").read_text(encoding="utf-8").splitlines()[:-1]) + "\n",
                encoding="utf-8",
            )
            add_alias(data_copy, OTHER_WORD)
            assert bot.proc is not None
            bot.proc.send_signal(signal.SIGHUP)
            await bot.wait_for_log("reload (SIGHUP)", WAIT)
            assert rewrite(OTHER_WORD) in await ask("fact", {"query": OTHER_WORD})
            assert await bot.stop() == 0, bot.log_tail()
            assert "Traceback" not in bot.log_text(), bot.log_tail(80)
        finally:
            bot.kill()
        assert not fake.problems(), fake.problems()


def test_compose_mounts_data_so_an_edit_needs_no_image_rebuild() -> None:
    root = Path(__file__).resolve().parents[1]
    service = yaml.safe_load((root / "compose.yaml").read_text(encoding="utf-8"))["services"]["factbot"]
    assert "./data:/app/data:ro" in service["volumes"]
    assert "DATA_DIR=/app/data" in (root / "Dockerfile").read_text(encoding="utf-8")
