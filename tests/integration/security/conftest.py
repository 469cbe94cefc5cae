"""Security tests: the hub as an attacker probes it (issue 25), in process and as real processes."""

from collections.abc import AsyncIterator

import pytest

from tests.conftest import fresh_postgres_database
from tests.integration.officers.conftest import admin_headers
from tests.integration.processes import hubs

__all__ = ["admin_headers", "hubs"]


@pytest.fixture
async def empty_postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database with no schema: the hub processes migrate it themselves."""
    async with fresh_postgres_database(migrated=False) as url:
        yield url
