"""Who may use the web chat, and for how long (INTERFACES.md, "Web-chat widget"): origins and expiry."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.settings import Settings
from tests.conftest import LiveServer, make_settings

AGENCY = "https://www.dbd.go.th"
ELSEWHERE = "https://evil.example"
SECRET = "test-secret-key-" + "x" * 32


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        sqlite_url, tmp_path, GOVCHAT_WIDGET_ORIGINS=f"{AGENCY}, https://e-service.dbd.go.th/"
    )


async def new_session(client: httpx.AsyncClient, **headers: str) -> dict[str, str]:
    response = await client.post("/api/webchat/sessions", headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def old_token(session_id: str, days_ago: float) -> str:
    """A correctly signed token for the session, as if issued ``days_ago``."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - days_ago * 86400)

    return URLSafeTimedSerializer(SECRET, salt="govchat.webchat", signer=PastSigner).dumps(session_id)


class TestCors:
    async def test_an_allowed_sites_preflight_is_answered(self, client: httpx.AsyncClient) -> None:
        response = await client.options(
            "/api/webchat/sessions",
            headers={"Origin": AGENCY, "Access-Control-Request-Method": "POST"},
        )

        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == AGENCY
        assert "authorization" in response.headers["access-control-allow-headers"].lower()
        assert "POST" in response.headers["access-control-allow-methods"]

    async def test_a_listed_origin_with_a_trailing_slash_in_the_setting_is_allowed(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/webchat/sessions", headers={"Origin": "https://e-service.dbd.go.th"}
        )

        assert response.status_code == 201
        assert response.headers["access-control-allow-origin"] == "https://e-service.dbd.go.th"

    async def test_another_sites_preflight_is_refused(self, client: httpx.AsyncClient) -> None:
        response = await client.options(
            "/api/webchat/sessions",
            headers={"Origin": ELSEWHERE, "Access-Control-Request-Method": "POST"},
        )

        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers

    async def test_another_sites_request_is_refused_and_nothing_stored(
        self, client: httpx.AsyncClient
    ) -> None:
        chat = await new_session(client)
        url = f"/api/webchat/sessions/{chat['session_id']}/messages"
        auth = {"Authorization": f"Bearer {chat['token']}"}

        refused = await client.post(
            url, json={"text": "สวัสดี", "client_message_id": "c1"}, headers={**auth, "Origin": ELSEWHERE}
        )

        assert refused.status_code == 403
        assert (await client.post("/api/webchat/sessions", headers={"Origin": ELSEWHERE})).status_code == 403
        assert (await client.get(url, headers=auth)).json()["messages"] == []

    async def test_the_hubs_own_pages_are_always_allowed(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/webchat/sessions", headers={"Origin": "http://hub"})

        assert response.status_code == 201

    async def test_an_allowed_site_may_load_the_fonts_and_others_get_no_cors_header(
        self, client: httpx.AsyncClient
    ) -> None:
        font = "/static/fonts/sarabun-thai-400-normal.woff2"

        allowed = await client.get(font, headers={"Origin": AGENCY})
        other = await client.get(font, headers={"Origin": ELSEWHERE})

        assert allowed.headers["access-control-allow-origin"] == AGENCY
        assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


class TestWebSocketOrigin:
    async def test_another_sites_websocket_is_refused_with_403(self, live_server: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            chat = await new_session(http)
        url = f"ws://127.0.0.1:{live_server.port}/api/webchat/sessions/{chat['session_id']}/ws?token={chat['token']}"

        with pytest.raises(InvalidStatus) as refused:
            await connect(url, origin=ELSEWHERE, open_timeout=10)  # type: ignore[arg-type]
        socket = await connect(url, origin=AGENCY, open_timeout=10)  # type: ignore[arg-type]
        await socket.close()

        assert refused.value.response.status_code == 403


class TestSessionExpiry:
    """Issue 25, finding 4: web-chat tokens never expired."""

    async def test_the_session_says_when_it_expires(self, client: httpx.AsyncClient) -> None:
        before = dt.datetime.now(dt.UTC)

        chat = await new_session(client)

        expires = dt.datetime.fromisoformat(chat["expires_at"])
        assert dt.timedelta(days=29, hours=23) < expires - before <= dt.timedelta(days=30, minutes=1)

    async def test_a_token_older_than_the_session_days_is_refused_with_401(
        self, client: httpx.AsyncClient
    ) -> None:
        chat = await new_session(client)
        url = f"/api/webchat/sessions/{chat['session_id']}/messages"

        fresh = await client.get(
            url, headers={"Authorization": f"Bearer {old_token(chat['session_id'], 29)}"}
        )
        expired = await client.get(
            url, headers={"Authorization": f"Bearer {old_token(chat['session_id'], 31)}"}
        )
        posted = await client.post(
            url,
            json={"text": "สวัสดี", "client_message_id": "late"},
            headers={"Authorization": f"Bearer {old_token(chat['session_id'], 31)}"},
        )

        assert fresh.status_code == 200
        assert expired.status_code == 401
        assert posted.status_code == 401
        assert fresh.json()["messages"] == []

    async def test_an_expired_token_opens_no_websocket(self, live_server: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            chat = await new_session(http)
        token = old_token(chat["session_id"], 31)
        url = f"ws://127.0.0.1:{live_server.port}/api/webchat/sessions/{chat['session_id']}/ws?token={token}"

        with pytest.raises(InvalidStatus) as refused:
            await connect(url, open_timeout=10)

        assert refused.value.response.status_code == 401

    async def test_the_session_days_follow_the_setting(self, sqlite_url: str, tmp_path: Path) -> None:
        from tests.conftest import running_app

        settings = make_settings(sqlite_url, tmp_path, GOVCHAT_WEBCHAT_SESSION_DAYS=2)
        async with running_app(settings) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
                chat = await new_session(http)
                url = f"/api/webchat/sessions/{chat['session_id']}/messages"
                expired = await http.get(
                    url, headers={"Authorization": f"Bearer {old_token(chat['session_id'], 3)}"}
                )

        assert expired.status_code == 401


class TestWidgetScript:
    async def test_widget_js_is_served_with_what_citizens_are_told_about_keeping_their_chat(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/widget.js")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
        assert '{"sessionDays": 30.0, "retentionDays": 365}' in response.text
        again = await client.get("/widget.js", headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304
