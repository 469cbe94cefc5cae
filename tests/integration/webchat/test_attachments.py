"""``POST /api/webchat/sessions/{id}/attachments``: JPEG, PNG, PDF by content, at most 10 MB,
kept like LINE's files so that officers see them, and deleted by retention.

On SQLite; storing an upload once (a unique key) and retention's deletes on PostgreSQL too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.conversations.models import Message
from app.db.schema import utcnow
from app.insights.retention import run_retention
from app.services import Services
from app.webchat.attachments import MAX_FILE_BYTES
from tests.conftest import ADMIN_PASSWORD, wait_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"png-body" * 10
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-body" * 10
PDF = b"%PDF-1.7\n" + b"pdf-body" * 10
GIF = b"GIF89a" + b"gif-body" * 10


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # types, sizes and who may upload: the API's rules


async def new_chat(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    body = (await client.post("/api/webchat/sessions")).json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}


async def upload(
    client: httpx.AsyncClient,
    session_id: str,
    headers: dict[str, str],
    content: bytes,
    name: str = "screen.png",
    claimed_type: str = "image/png",
    **fields: str,
) -> httpx.Response:
    return await client.post(
        f"/api/webchat/sessions/{session_id}/attachments",
        files={"file": (name, content, claimed_type)},
        data=fields,
        headers=headers,
    )


async def stored_messages(services: Services) -> int:
    async with services.sessionmaker() as session:
        return int(
            await session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
            or 0
        )


def attachment_files(services: Services) -> list[Path]:
    root = services.settings.var_dir / "attachments" / "webchat"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def officer_headers(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/api/officer/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    return {"Authorization": f"Bearer {response.json()['token']}"}


class TestAccepted:
    @pytest.mark.parametrize(
        ("content", "name", "kind"),
        [(PNG, "screen.png", "image"), (JPEG, "photo.jpg", "image"), (PDF, "form.pdf", "file")],
        ids=["png", "jpeg", "pdf"],
    )
    async def test_a_supported_file_becomes_the_citizens_message(
        self, client: httpx.AsyncClient, services: Services, content: bytes, name: str, kind: str
    ) -> None:
        session_id, headers = await new_chat(client)

        response = await upload(client, session_id, headers, content, name, "application/octet-stream")

        assert response.status_code == 201, response.text
        message_id = response.json()["message_id"]
        listed = (await client.get(f"/api/webchat/sessions/{session_id}/messages", headers=headers)).json()
        mine = next(m for m in listed["messages"] if m["id"] == message_id)
        assert mine["direction"] == "in" and mine["sender"] == "citizen"
        assert mine["attachments"] == [
            {
                "kind": kind,
                "filename": name,
                "content_type": mine["attachments"][0]["content_type"],
                "size": len(content),
            }
        ]
        (stored,) = attachment_files(services)
        assert stored.read_bytes() == content

    async def test_the_bot_answers_that_it_received_the_file(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        session_id, headers = await new_chat(client)

        await upload(client, session_id, headers, PNG)

        async def answered() -> list[dict[str, Any]]:
            listed = await client.get(f"/api/webchat/sessions/{session_id}/messages", headers=headers)
            return [m for m in listed.json()["messages"] if m["direction"] == "out"]

        (reply,) = await wait_for(answered, timeout=15)
        assert reply["text"] == services.responses.attachment_received

    async def test_an_officer_sees_and_downloads_it_in_the_console(self, client: httpx.AsyncClient) -> None:
        session_id, headers = await new_chat(client)
        message_id = (await upload(client, session_id, headers, PNG)).json()["message_id"]
        await client.post(
            f"/api/webchat/sessions/{session_id}/messages",
            json={"text": "คุยกับเจ้าหน้าที่", "client_message_id": "human"},
            headers=headers,
        )
        officer = await officer_headers(client)

        async def queued() -> list[dict[str, Any]]:
            return list((await client.get("/api/officer/queue", headers=officer)).json()["conversations"])

        (row,) = await wait_for(queued, timeout=15)
        detail = (await client.get(f"/api/officer/conversations/{row['id']}", headers=officer)).json()
        (attachment,) = detail["attachments"]
        assert attachment["message_id"] == message_id
        assert attachment["kind"] == "image" and attachment["filename"] == "screen.png"
        downloaded = await client.get(attachment["download"], headers=officer)
        assert downloaded.status_code == 200
        assert downloaded.content == PNG
        assert downloaded.headers["content-type"] == "image/png"


class TestStoredOnce:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # a unique key on the client's message id

    async def test_the_same_client_message_id_stores_it_once(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        session_id, headers = await new_chat(client)

        first = await upload(client, session_id, headers, PNG, client_message_id="photo-1")
        again = await upload(client, session_id, headers, PNG, client_message_id="photo-1")

        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert await stored_messages(services) == 1
        assert len(attachment_files(services)) == 1


class TestRefused:
    async def test_another_type_is_refused_with_415_whatever_its_name_claims(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        session_id, headers = await new_chat(client)

        response = await upload(client, session_id, headers, GIF, "looks-like.png", "image/png")

        assert response.status_code == 415
        assert await stored_messages(services) == 0
        assert attachment_files(services) == []

    async def test_a_file_over_10_mb_is_refused_with_413(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        session_id, headers = await new_chat(client)

        response = await upload(client, session_id, headers, PNG + b"\x00" * MAX_FILE_BYTES)

        assert response.status_code == 413
        assert await stored_messages(services) == 0
        assert attachment_files(services) == []

    async def test_a_file_of_exactly_10_mb_is_accepted(self, client: httpx.AsyncClient) -> None:
        session_id, headers = await new_chat(client)

        response = await upload(client, session_id, headers, PNG + b"\x00" * (MAX_FILE_BYTES - len(PNG)))

        assert response.status_code == 201

    async def test_a_body_streamed_without_length_stops_at_the_limit(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        session_id, headers = await new_chat(client)
        boundary = "govchatboundary"
        sent = 0

        async def endless() -> AsyncIterator[bytes]:
            nonlocal sent
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
                "Content-Type: image/png\r\n\r\n"
            ).encode() + PNG
            for _ in range(64):  # 64 MB offered, far more than the limit
                sent += 1
                yield b"\x00" * (1024 * 1024)

        response = await client.post(
            f"/api/webchat/sessions/{session_id}/attachments",
            content=endless(),
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

        assert response.status_code == 413
        assert sent < 64
        assert await stored_messages(services) == 0

    async def test_no_file_field_is_422(self, client: httpx.AsyncClient) -> None:
        session_id, headers = await new_chat(client)

        response = await client.post(
            f"/api/webchat/sessions/{session_id}/attachments",
            data={"other": "x"},
            files={"x": ("a", b"b")},
            headers=headers,
        )

        assert response.status_code in (400, 422)

    async def test_without_a_token_it_is_401_and_another_sessions_token_403(
        self, client: httpx.AsyncClient
    ) -> None:
        session_id, _ = await new_chat(client)
        _, other = await new_chat(client)

        assert (await upload(client, session_id, {}, PNG)).status_code == 401
        assert (await upload(client, session_id, other, PNG)).status_code == 403


class TestRetention:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # deletes chosen by stored times

    async def test_retention_deletes_the_file_with_the_message(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        session_id, headers = await new_chat(client)
        await upload(client, session_id, headers, PNG)
        assert len(attachment_files(services)) == 1

        report = await run_retention(
            services.sessionmaker, services.settings.var_dir, 1, now=utcnow() + dt.timedelta(days=2)
        )

        assert report.attachments_deleted == 1
        assert attachment_files(services) == []
