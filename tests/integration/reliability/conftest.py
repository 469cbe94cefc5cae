"""Fixtures of the crash and fault tests: hub processes, the fake LINE API, a LINE-like sender.

The in-process hub (``settings``, ``app``, ``client``, ``line``) has LINE pointed at the fake
too, for tests that need no process of their own; ``settings``, ``line``, ``fake_line``
and ``line_overrides`` (override it) are those of ``tests/integration/line/conftest.py``, ``hubs``
that of ``tests/integration/processes.py``. Helpers live in ``processes.py`` and ``audit.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import POSTGRES_AVAILABLE, fresh_postgres_database
from tests.fakes.line.api import FakeLineApi
from tests.fakes.line.fixtures import LineFixtures, line_fixtures
from tests.integration.line.conftest import fake_line, line, line_overrides, settings
from tests.integration.processes import hubs
from tests.integration.reliability.processes import LineSender

__all__ = ["fake_line", "hubs", "line", "line_fixtures", "line_overrides", "settings"]


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh migrated database (request it before ``hubs``: it must outlive the processes)."""
    if not POSTGRES_AVAILABLE:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def line_sender(line_fixtures: LineFixtures, fake_line: FakeLineApi) -> AsyncIterator[LineSender]:
    sender = LineSender(line_fixtures, fake_line)
    try:
        yield sender
    finally:
        await sender.aclose()
