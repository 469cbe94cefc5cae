"""The hub with LINE and Messenger configured (fake platforms on loopback), for property tests.

Each module picks its databases with ``pytestmark`` (``SQLITE_ONLY`` or ``ON_BOTH_DATABASES``
from ``hub.py``): SQLite for speed, PostgreSQL too where its stricter columns matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.services import Services
from app.settings import Settings
from tests.conftest import make_settings
from tests.fakes.facebook.graph_api import PAGE_ACCESS_TOKEN, VERIFY_TOKEN, FakeGraphApi, MessengerFixtures
from tests.fakes.line.api import FakeLineApi
from tests.fakes.line.fixtures import TEST_SECRET, LineFixtures
from tests.integration.fuzz.hub import MAX_BODY_BYTES, Hub


# The fake platforms only answer the workers' replies here: one per module is enough.
@pytest.fixture(scope="module")
def fake_line() -> Iterator[FakeLineApi]:
    with FakeLineApi() as fake:
        yield fake


@pytest.fixture(scope="module")
def graph_api() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi(app_secret=MessengerFixtures().app_secret).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fake_line: FakeLineApi, graph_api: FakeGraphApi) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        GOVCHAT_MAX_BODY_BYTES=MAX_BODY_BYTES,
        GOVCHAT_WORKERS=1,
        line_channel_secret=TEST_SECRET,
        line_channel_access_token=fake_line.access_token,
        line_api_base_url=fake_line.url,
        line_data_api_base_url=fake_line.data_url,
        facebook_app_secret=graph_api.app_secret,
        facebook_verify_token=VERIFY_TOKEN,
        facebook_page_access_token=PAGE_ACCESS_TOKEN,
        facebook_graph_api_base_url=graph_api.base_url,
    )


@pytest.fixture
def hub(client: httpx.AsyncClient, services: Services) -> Hub:
    return Hub(client, services, LineFixtures(), MessengerFixtures())
