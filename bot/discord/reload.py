"""Live data reload: build the new fact store to the side, swap it in at once, retire the old one.

`/reload` (moderators) and SIGHUP (`docker compose kill -s HUP factbot`) run `Reloader.reload()`:

1. the database is rebuilt from `DATA_DIR` in a worker thread (`bot.facts.ingest`: into a temporary
   file, `os.replace`d over the old one only when everything parsed; fact vectors come from the
   content cache, so only new or changed facts are embedded), while the bot keeps answering;
2. the new file is opened read-only and a new searcher built on it (also off the event loop);
3. `Services.store` and `Services.answers` are replaced together, with no await in between: every
   answer that starts afterwards uses the new store, every answer already running finishes on the
   old one (it holds its own `Answers`);
4. the old store is closed once no answer is computing on it any more (`Backlog.in_flight`), plus
   a short grace for the few reads outside the backlog (Share, the report form).

A data file that does not parse leaves the old store serving and the reason comes back as
`file:line: what was expected`, the format of `python -m bot ingest --check`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.answers.answers import Answers
from bot.config import Settings
from bot.discord.backlog import Backlog
from bot.facts.dbfaults import DatabaseFault, reported
from bot.facts.errors import ParseError
from bot.facts.ingest import BuildReport, ensure_database, stored_hash
from bot.facts.store import FactStore, StoreError
from bot.search.searcher import Searcher

log = logging.getLogger(__name__)
GRACE_SECONDS = 2.0  # after the last backlog answer on the old store: reads outside the backlog
DRAIN_LIMIT_SECONDS = 60.0  # close the old store after this long even if something still holds it


class Swappable(Protocol):
    """What a reload changes on `bot.discord.services.Services` (declared here: no import back)."""

    settings: Settings
    store: FactStore
    answers: Answers
    backlog: Backlog


@dataclass
class ReloadResult:
    ok: bool  # False: the old store is still serving; `message` says why
    changed: bool
    message: str
    facts_before: int = 0
    facts_after: int = 0
    seconds: float = 0.0


class Reloader:
    """One reload at a time; tracks the retired stores until they are closed."""

    def __init__(self, services: Swappable) -> None:
        self.services = services
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        self._retired: list[FactStore] = []
        self.reloads = 0

    async def reload(self, why: str) -> ReloadResult:
        async with self._lock:
            started = time.perf_counter()
            result = await self._reload()
            result.seconds = round(time.perf_counter() - started, 2)
            level = logging.INFO if result.ok else logging.WARNING
            log.log(level, "reload (%s) in %.2f s: %s", why, result.seconds, result.message)
            return result

    async def _reload(self) -> ReloadResult:
        svc = self.services
        settings = svc.settings
        before = svc.store.fact_count
        try:
            report = await asyncio.to_thread(_build, settings)
        except ParseError as exc:
            return ReloadResult(
                False, False, f"Kept the current data: {_where(exc, settings.data_dir)}", before, before
            )
        except DatabaseFault as exc:
            return ReloadResult(False, False, f"Kept the current data: {exc}", before, before)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("reload failed (error ref %s)", reference, extra={"error_ref": reference})
            return ReloadResult(False, False, f"Kept the current data: the rebuild failed (error ref `{reference}`).")
        if report is None and stored_hash(settings.database_path) == svc.store.meta.get("data_hash"):
            return ReloadResult(True, False, f"No change in the data: still {before} facts.", before, before)
        try:
            store = await FactStore.open(settings.database_path)
        except StoreError as exc:
            return ReloadResult(False, False, f"Kept the current data: {exc}", before, before)
        try:
            answers = Answers(await asyncio.to_thread(Searcher, store))
        except BaseException:
            await store.close()
            raise
        old_store, old_answers = svc.store, svc.answers
        svc.store, svc.answers = store, answers  # one step: nothing can run between these two
        self.reloads += 1
        self._retire(old_store, old_answers)
        built = f", {report.embedded} facts embedded" if report is not None else ""
        return ReloadResult(
            True,
            True,
            f"Now serving {store.fact_count} facts (was {before}), data {store.meta.get('data_hash', '?')}{built}. "
            "Answers already on their way finished on the old data.",
            before,
            store.fact_count,
        )

    def _retire(self, store: FactStore, answers: Answers) -> None:
        self._retired.append(store)
        task = asyncio.get_running_loop().create_task(self._close_when_done(store, answers))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _close_when_done(self, store: FactStore, answers: Answers) -> None:
        deadline = time.monotonic() + DRAIN_LIMIT_SECONDS
        while self.services.backlog.in_flight(answers) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(GRACE_SECONDS)
        await self._close(store)

    async def _close(self, store: FactStore) -> None:
        if store in self._retired:
            self._retired.remove(store)
            await store.close()

    async def close(self) -> None:
        """At shutdown: close every retired store now."""
        for task in list(self._retiring):
            task.cancel()
        for store in list(self._retired):
            await self._close(store)


def _build(settings: Settings) -> BuildReport | None:
    with reported("fact database", settings.database_path, "the current data is still served"):
        return ensure_database(settings.data_dir, settings.database_path)


def _where(error: ParseError, data_dir: Path) -> str:
    """`concepts/ketamine.txt:12: …`, relative to DATA_DIR when the file is inside it."""
    path = Path(error.path)
    try:
        shown = str(path.resolve().relative_to(data_dir.resolve()))
    except ValueError:
        shown = str(path)
    return f"{shown}:{error.line}: {error.message}" if error.line > 0 else f"{shown}: {error.message}"
