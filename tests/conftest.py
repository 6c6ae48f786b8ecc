"""Shared fixtures: the real shipped data, built once per session into a temporary database."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.discord.services import Services
from bot.facts.ingest import build_database
from bot.facts.store import FactStore
from bot.search.searcher import Searcher
from tests.postgres_server import postgres_server, postgres_url, state_url_fixture  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
SEED_PAGE = DATA_DIR / "concepts" / "ketamine.txt"
OPENAPI_PATH = ROOT / "tests" / "fixtures" / "discord-api-spec" / "openapi.json"
# What the shipped ketamine page holds (docs/concept-page-format.md).
SEED_SOURCE_COUNTS = [195, 61, 6, 6, 5, 2, 2, 2, 1, 1, 1, 1, 1, 1]
SEED_TYPE_COUNTS = {"claim": 150, "reference": 86, "procedure": 19, "measurement": 16, "account": 10, "perspective": 4}


@pytest.fixture(scope="session")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "facts.sqlite3"
    build_database(DATA_DIR, path)
    return path


@pytest.fixture
async def store(built_db: Path) -> AsyncIterator[FactStore]:
    opened = await FactStore.open(built_db)
    yield opened
    await opened.close()


@pytest.fixture
async def searcher(store: FactStore) -> Searcher:
    return Searcher(store)


@pytest.fixture
def state_engine() -> str:
    """The moderator-state engine `services` uses: SQLite; modules that test state on both override this."""
    return "sqlite"


@pytest.fixture
async def services(built_db: Path, tmp_path: Path, state_url: str | None) -> AsyncIterator[Services]:
    """The bot's services on the shared database, with fresh moderator state per test (a file, or a
    PostgreSQL database where the module's `state_engine` is "postgresql")."""
    settings = Settings(
        data_dir=DATA_DIR,
        database_path=built_db,
        state_database_path=tmp_path / "state.sqlite3",
        state_database_url=state_url,
        _env_file=None,
    )  # type: ignore[call-arg]
    opened = await Services.open(settings)
    yield opened
    await opened.close()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of data/ for tests that break or extend it."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target
