"""Supervisors of two departments, an officer, and helpers for the knowledge-base authoring API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.officers import admin
from app.officers.models import Role
from app.services import Services
from tests.conftest import ADMIN_PASSWORD

PASSWORD = "kb-editor-password-1"
KB = "/api/admin/kb"


@dataclass
class Editor:
    id: str
    username: str
    headers: dict[str, str]


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post("/api/officer/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def make_editor(
    client: httpx.AsyncClient, services: Services, departments: list[str], role: Role = Role.SUPERVISOR
) -> Editor:
    username = f"{role.value}-{'-'.join(departments)}-{uuid.uuid4().hex[:6]}"
    created = await admin.create_officer(
        services.transactions,
        username=username,
        password=PASSWORD,
        departments=departments,
        role=role,
        known_departments=services.kb.store.current.departments,
    )
    return Editor(created.id, username, await login(client, username, PASSWORD))


@pytest.fixture
async def author(client: httpx.AsyncClient, services: Services) -> Editor:
    """A supervisor of the general department, who drafts."""
    return await make_editor(client, services, ["general"])


@pytest.fixture
async def reviewer(client: httpx.AsyncClient, services: Services) -> Editor:
    """A second supervisor of the general department, who reviews."""
    return await make_editor(client, services, ["general"])


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "admin", ADMIN_PASSWORD)


async def propose(
    client: httpx.AsyncClient, editor: Editor, entry_id: str, department: str, fields: dict[str, Any]
) -> str:
    response = await client.post(
        f"{KB}/changes",
        json={"entry_id": entry_id, "department": department, "fields": fields},
        headers=editor.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending_review"
    return str(response.json()["change_id"])


async def approve(client: httpx.AsyncClient, editor: Editor, change_id: str) -> dict[str, Any]:
    response = await client.post(f"{KB}/changes/{change_id}/approve", headers=editor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def new_entry_fields(entry_id_word: str) -> dict[str, Any]:
    """A new general entry that passes every rule (its questions unlike any other entry's)."""
    return {
        "title": f"บริการทดสอบ {entry_id_word}",
        "answer": f"บริการทดสอบ {entry_id_word} เปิดให้ใช้ทางออนไลน์ทุกวัน ตลอด 24 ชั่วโมง ดูรายละเอียดที่เว็บไซต์กรมค่ะ",
        "source_url": "https://www.dbd.go.th/",
        "reviewed_at": "2026-12-01",
        "questions": [
            f"บริการทดสอบ{entry_id_word}คืออะไร",
            f"ใช้บริการทดสอบ{entry_id_word}ยังไง",
            f"บริการทดสอบ{entry_id_word}เปิดกี่โมง",
            f"สมัครบริการทดสอบ{entry_id_word}ที่ไหน",
            f"บริการทดสอบ{entry_id_word}เสียเงินไหม",
            f"ขอข้อมูลบริการทดสอบ{entry_id_word}หน่อย",
            f"บริการทดสอบ{entry_id_word}ใช้เอกสารอะไร",
            f"ติดต่อบริการทดสอบ{entry_id_word}ได้ทางไหน",
        ],
    }
