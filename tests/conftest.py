"""Shared fixtures: the real shipped data, built once per session into a temporary database."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ingest import build_database
from bot.search import Searcher
from bot.store import FactStore

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
SEED_PAGE = DATA_DIR / "concepts" / "ketamine.txt"
SHARED = ROOT.parent / "shared"
OPENAPI_PATH = SHARED / "discord-api-spec" / "openapi.json"


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
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of data/ for tests that break or extend it."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target
