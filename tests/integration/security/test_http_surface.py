"""Headers, API docs, stored attachments and hostile ids (issue 25, 7 and 9).

On SQLite; ``TestHostileIds`` on PostgreSQL too: its ids are beyond what a BIGINT column holds.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.conversations.models import Message
from app.services import Services
from app.settings import Settings
from tests.conftest import make_settings, running_app
from tests.integration.officers.conftest import new_citizen

HTML_PAGES = [
    "/",
    "/console",
    "/console/insights",
    "/console/kb",
    "/console/kb/changes",
    "/console/kb/new?department=registration&question=x",
    "/console/kb/entries/name_reservation?add_question=x",
]
TWENTY_DIGITS = "9" * 20


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # headers and refusals made before any query


def _origins(policy: str) -> set[str]:
    return set(re.findall(r"(?:https?|wss?)://[^\s;']+", policy))


@pytest.fixture
async def docs_client(sqlite_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(sqlite_url, tmp_path, GOVCHAT_API_DOCS="true")
    async with (
        running_app(settings) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as http,
    ):
        yield http


class TestHeaders:
    @pytest.mark.parametrize(
        "path", ["/", "/healthz", "/api/officer/queue", "/static/console/console.js", "/missing"]
    )
    async def test_every_response_says_nosniff(self, client: httpx.AsyncClient, path: str) -> None:
        assert (await client.get(path)).headers["X-Content-Type-Options"] == "nosniff"

    async def test_a_too_large_body_says_nosniff_too(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        response = await client.post("/api/webchat/sessions", content=b"x" * (settings.max_body_bytes + 1))
        assert response.status_code == 413 and response.headers["X-Content-Type-Options"] == "nosniff"

    @pytest.mark.parametrize("path", HTML_PAGES)
    async def test_every_page_has_a_policy_of_its_own_origin_that_nobody_may_frame(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        response = await client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
        assert not _origins(policy)
        assert response.headers["X-Frame-Options"] == "DENY"


class TestApiDocs:
    @pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
    async def test_off_by_default(self, client: httpx.AsyncClient, path: str) -> None:
        assert (await client.get(path)).status_code == 404

    async def test_when_turned_on_they_load_nothing_from_elsewhere(
        self, docs_client: httpx.AsyncClient
    ) -> None:
        schema = await docs_client.get("/openapi.json")
        assert schema.status_code == 200 and "/api/officer/login" in schema.json()["paths"]
        for path in ("/docs", "/redoc"):
            page = await docs_client.get(path)
            assert page.status_code == 200 and "/api/officer/login" in page.text
            assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page.text)
            assert not _origins(page.headers["Content-Security-Policy"])


async def _attachment_message(
    services: Services, client: httpx.AsyncClient, name: str, content_type: str
) -> tuple[str, str]:
    """A citizen message with a stored upload; returns ``(conversation id, message id)``."""
    citizen = await new_citizen(client, services)
    message_id = await citizen.say("แนบไฟล์ค่ะ")
    stored = services.settings.var_dir / "attachments" / name
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text("<html><script>alert(document.cookie)</script></html>", encoding="utf-8")
    async with services.sessionmaker() as session, session.begin():
        message = await session.scalar(select(Message).where(Message.id == int(message_id)))
        assert message is not None
        message.extra = {
            **(message.extra or {}),
            "attachments": [
                {
                    "kind": "file",
                    "stored_path": f"attachments/{name}",
                    "content_type": content_type,
                    "filename": name,
                }
            ],
        }
    return citizen.conversation_id, message_id


class TestAttachments:
    async def test_an_uploaded_html_file_is_downloaded_never_rendered(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        conversation_id, message_id = await _attachment_message(services, client, "page.html", "text/html")
        response = await client.get(
            f"/api/officer/conversations/{conversation_id}/attachments/{message_id}/0", headers=admin_headers
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"

    async def test_an_image_is_shown_inline(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        conversation_id, message_id = await _attachment_message(services, client, "photo.png", "image/png")
        response = await client.get(
            f"/api/officer/conversations/{conversation_id}/attachments/{message_id}/0", headers=admin_headers
        )
        assert response.headers["content-type"] == "image/png"
        assert response.headers["content-disposition"].startswith("inline")


class TestHostileDates:
    @pytest.mark.parametrize(("start", "end"), [("0001-01-01", "0001-01-31"), ("9999-12-01", "9999-12-31")])
    async def test_open_data_at_the_ends_of_the_calendar_is_400_not_500(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str], start: str, end: str
    ) -> None:
        response = await client.get(f"/api/admin/opendata.csv?from={start}&to={end}", headers=admin_headers)
        assert response.status_code == 400 and "between" in response.json()["detail"]


class TestHostileIds:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # out of a BIGINT's range: each database fails its own way if asked

    async def test_ids_of_twenty_digits_are_404_not_500(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        base = f"/api/officer/conversations/{citizen.conversation_id}"
        attachment = await client.get(f"{base}/attachments/{TWENTY_DIGITS}/0", headers=admin_headers)
        resend = await client.post(f"{base}/messages/{TWENTY_DIGITS}/resend", headers=admin_headers)
        assert attachment.status_code == 404 and resend.status_code in (404, 409)
