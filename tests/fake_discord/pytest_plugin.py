"""Pytest fixture for the fake. Import it into a test module (or conftest) to use it::

from fake_discord.pytest_plugin import fake_discord  # noqa: F401  (fixture)

async def test_something(fake_discord):
    ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .server import FakeDiscord


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord; closed after the test (assert_clean is left to the test)."""
    async with FakeDiscord() as fake:
        yield fake
