"""The one webhook route (``app/webhooks/routes.py``): every webhook channel's refusals in one
style, and a webhook URL only for the channels that have one.

Each channel's own behaviour (its signature, schema and events) is tested in its folder,
``tests/integration/line/`` and ``tests/integration/facebook/``. No platform is called here:
nothing below stores an event, so the API hosts point at a closed port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.channel_setup import WEBHOOK_CHANNELS
from channels.base import Channel
from tests.conftest import make_settings, running_app

LINE_SECRET = "line-channel-secret"
APP_SECRET = "facebook-app-secret"
CLOSED = "http://127.0.0.1:9"


def _line_headers(body: bytes) -> dict[str, str]:
    digest = hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()
    return {"X-Line-Signature": base64.b64encode(digest).decode()}


def _facebook_headers(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


SIGNED = {"line": _line_headers, "facebook": _facebook_headers}


async def _client(
    settings_dir: Path, database_url: str, **credentials: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, settings_dir, **credentials)
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield client


@pytest.fixture
async def configured(sqlite_database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(
        tmp_path,
        sqlite_database_url,
        line_channel_secret=LINE_SECRET,
        line_channel_access_token="line-token",
        line_api_base_url=CLOSED,
        line_data_api_base_url=CLOSED,
        facebook_app_secret=APP_SECRET,
        facebook_verify_token="verify-token",
        facebook_page_access_token="page-token",
        facebook_graph_api_base_url=CLOSED + "/v21.0",
    ):
        yield client


@pytest.fixture
async def unconfigured(sqlite_database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(tmp_path, sqlite_database_url):
        yield client


def test_every_platform_channel_has_a_webhook() -> None:
    assert [spec.channel for spec in WEBHOOK_CHANNELS] == [Channel.LINE, Channel.FACEBOOK]


@pytest.mark.parametrize("channel", ["line", "facebook"])
class TestRefusals:
    async def test_an_unsigned_body_is_401_with_a_reason(
        self, configured: httpx.AsyncClient, channel: str
    ) -> None:
        response = await configured.post(f"/webhooks/{channel}", content=b"{}")

        assert response.status_code == 401
        assert "signature" in response.json()["detail"].lower()

    async def test_a_signed_body_that_is_not_json_is_400_with_a_reason(
        self, configured: httpx.AsyncClient, channel: str
    ) -> None:
        body = b"{not json"

        response = await configured.post(f"/webhooks/{channel}", content=body, headers=SIGNED[channel](body))

        assert response.status_code == 400
        assert "JSON" in response.json()["detail"]

    async def test_an_unconfigured_channel_is_503_naming_what_is_missing(
        self, unconfigured: httpx.AsyncClient, channel: str
    ) -> None:
        [spec] = [spec for spec in WEBHOOK_CHANNELS if spec.channel == channel]

        response = await unconfigured.post(f"/webhooks/{channel}", content=b"{}")

        assert (response.status_code, response.json()) == (503, {"detail": spec.not_configured})


async def test_a_signed_batch_is_acknowledged_with_the_count_stored(configured: httpx.AsyncClient) -> None:
    body = b'{"destination": "U0", "events": []}'  # LINE's "Verify" call

    response = await configured.post("/webhooks/line", content=body, headers=_line_headers(body))

    assert (response.status_code, response.json()) == (200, {"status": "ok", "stored": 0})


async def test_web_chat_has_no_webhook(configured: httpx.AsyncClient) -> None:
    assert (await configured.post("/webhooks/webchat", content=b"{}")).status_code == 404


async def test_only_messenger_answers_a_subscription_check(configured: httpx.AsyncClient) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "verify-token", "hub.challenge": "42"}

    line = await configured.get("/webhooks/line", params=params)
    facebook = await configured.get("/webhooks/facebook", params=params)

    assert line.status_code == 405
    assert (facebook.status_code, facebook.text) == (200, "42")
