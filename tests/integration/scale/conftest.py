"""The scale tests start real hub processes (``tests/integration/processes.py``)."""

from collections.abc import AsyncIterator

import pytest

from tests.conftest import fresh_postgres_database
from tests.integration.processes import hubs, module_hubs, module_postgres_url

__all__ = ["hubs", "module_hubs", "module_postgres_url"]


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database with no schema: the hubs migrate it themselves."""
    async with fresh_postgres_database(migrated=False) as url:
        yield url
