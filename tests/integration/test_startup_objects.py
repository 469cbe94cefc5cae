"""What the hub builds at start-up is exempt from garbage collection while it runs (``gc.freeze``)."""

from __future__ import annotations

import gc

import pytest

from app.settings import Settings
from tests.conftest import running_app


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # what start-up builds is the same on either database


@pytest.mark.gc_freeze
async def test_start_up_objects_are_frozen_while_the_hub_runs_and_released_after(settings: Settings) -> None:
    async with running_app(settings) as app:
        nlu = app.state.services.nlu
        assert gc.get_freeze_count() > 100_000  # PyThaiNLP's dictionary alone is about 235,000 objects
        assert all(o is not nlu for o in gc.get_objects())  # frozen: the collector no longer scans it
    assert gc.get_freeze_count() == 0  # a stopped hub (several per test process) leaves nothing frozen
