"""The officer and admin APIs' JSON, as clients read it, pinned by shape.

One scenario walks every JSON route of ``/api/officer`` and ``/api/admin`` (claim, reply, notes,
transfer, assign, resolve, complaint cases, accounts, audit, insights) and reduces each body to its
shape: the keys of every object and the JSON type of every value, timestamps by how they are
written (``+00:00``). ``officer_api_wire.json`` holds the shapes as the routes answered before
they had response models; a model that drops, renames or retypes a field, or writes a timestamp
differently, fails here. After a deliberate, backward-compatible addition, regenerate the file
with ``GOVCHAT_WRITE_WIRE_SHAPES=1`` and review its diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.officers.models import Role
from app.services import Services
from app.settings import Settings
from tests.conftest import ADMIN_PASSWORD, make_settings, queue_drained
from tests.integration.complaints.helpers import file_case
from tests.integration.insights.conftest import copy_knowledge_base
from tests.integration.officers.conftest import conversation_url, make_officer, queue_citizen

SHAPES_FILE = Path(__file__).with_name("officer_api_wire.json")
ISO_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(?P<zone>Z|[+-]\d\d:\d\d)$")


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively; a list by the union of its items' shapes."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        shapes: list[Any] = []
        for item in value:
            if shape(item) not in shapes:
                shapes.append(shape(item))
        return shapes
    if isinstance(value, str):
        match = ISO_TIMESTAMP.match(value)
        return f"timestamp{match['zone']}" if match else "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "integer" if isinstance(value, int) else "number"


@pytest.fixture
def settings(sqlite_database_url: str, tmp_path: Path) -> Settings:
    # SQLite: the JSON's shape is the database's no more; a copy of the knowledge base takes the draft
    return make_settings(
        sqlite_database_url, tmp_path, GOVCHAT_KB_DIR=copy_knowledge_base(tmp_path / "kb", {})
    )


async def _walk(client: httpx.AsyncClient, services: Services) -> dict[str, Any]:
    """Every JSON route once, in an order where each has something to show."""
    answers: dict[str, Any] = {}

    async def call(name: str, method: str, url: str, expected: int, **kwargs: Any) -> Any:
        response = await client.request(method, url, **kwargs)
        assert response.status_code == expected, (name, response.status_code, response.text)
        answers[name] = shape(response.json())
        return response.json()

    admin = await client.post("/api/officer/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    answers["POST /api/officer/login"] = shape(admin.json())
    boss = {"Authorization": f"Bearer {admin.json()['token']}"}
    officer = await make_officer(client, services, "somchai", ["general"])
    supervisor = await make_officer(client, services, "supaporn", ["general", "complaints"], Role.SUPERVISOR)
    citizen = await queue_citizen(client, services, "general")
    other = await queue_citizen(client, services, "general")
    number = await file_case(services, citizen.conversation_id, "ร้องเรียนเรื่องบริการล่าช้า 0812345678")
    first = citizen.conversation_id

    await call("GET /api/officer/me", "GET", "/api/officer/me", 200, headers=boss)
    await call("GET /api/officer/departments", "GET", "/api/officer/departments", 200, headers=boss)
    await call("GET /api/officer/canned", "GET", "/api/officer/canned", 200, headers=boss)
    await call("GET /api/officer/queue", "GET", "/api/officer/queue", 200, headers=boss)
    await call("GET /api/officer/counts", "GET", "/api/officer/counts", 200, headers=boss)
    await call("GET /api/officer/officers", "GET", "/api/officer/officers", 200, headers=boss)
    await call("POST claim", "POST", conversation_url(first, "claim"), 200, headers=boss)
    await call(
        "POST messages",
        "POST",
        conversation_url(first, "messages"),
        202,
        headers=boss,
        json={"text": "สวัสดีค่ะ"},
    )
    await call(
        "POST notes", "POST", conversation_url(first, "notes"), 201, headers=boss, json={"text": "โทรกลับ"}
    )
    await call(
        "POST transfer",
        "POST",
        conversation_url(first, "transfer"),
        200,
        headers=boss,
        json={"department": "complaints", "note": "เรื่องร้องเรียน"},
    )
    await call(
        "POST assign",
        "POST",
        conversation_url(other.conversation_id, "assign"),
        200,
        headers=boss,
        json={"officer_id": officer.id},
    )
    await call(
        "GET /api/officer/conversations", "GET", "/api/officer/conversations?everyone=true", 200, headers=boss
    )
    await call("POST claim again", "POST", conversation_url(first, "claim"), 200, headers=boss)
    await queue_drained(services)
    await call("GET conversation", "GET", conversation_url(first), 200, headers=boss)
    await call("GET citizen", "GET", conversation_url(first, "citizen"), 200, headers=boss)
    await call("POST resolve", "POST", conversation_url(first, "resolve"), 200, headers=boss)

    await call("GET complaints", "GET", "/api/officer/complaints", 200, headers=boss)
    await call(
        "POST complaint status",
        "POST",
        f"/api/officer/complaints/{number}/status",
        200,
        headers=boss,
        json={"status": "in_progress", "note": "กำลังตรวจสอบ"},
    )
    await call("GET complaint", "GET", f"/api/officer/complaints/{number}", 200, headers=boss)

    created = await call(
        "POST /api/admin/officers",
        "POST",
        "/api/admin/officers",
        201,
        headers=boss,
        json={"username": "malee", "password": "malee-password", "departments": ["accounts"]},
    )
    await call(
        "PATCH /api/admin/officers/{id}",
        "PATCH",
        f"/api/admin/officers/{created['id']}",
        200,
        headers=boss,
        json={"role": "supervisor"},
    )
    await call("GET /api/admin/officers", "GET", "/api/admin/officers", 200, headers=boss)
    await call("GET /api/admin/audit", "GET", "/api/admin/audit?limit=5", 200, headers=boss)
    await call("GET /api/admin/insights", "GET", "/api/admin/insights", 200, headers=boss)
    suggestion = {"faq_id": "name_reservation", "question": "จองชื่อบริษัทต้องทำอย่างไรบ้าง"}
    await call(
        "POST suggestion (new)", "POST", "/api/admin/kb/suggestions", 201, headers=boss, json=suggestion
    )
    await call(
        "POST suggestion (again)", "POST", "/api/admin/kb/suggestions", 200, headers=boss, json=suggestion
    )
    await _walk_knowledge_base(call, boss, supervisor.headers)
    return answers


async def _walk_knowledge_base(call: Any, boss: dict[str, str], reviewer: dict[str, str]) -> None:
    """The authoring API: drafts by the admin, reviewed by a supervisor of the department."""
    kb = "/api/admin/kb"
    # before any approval: no retraining has started, so the state's shape does not depend on timing
    await call("GET /api/admin/kb/training", "GET", f"{kb}/training", 200, headers=boss)
    await call("GET /api/admin/kb/entries", "GET", f"{kb}/entries", 200, headers=boss)
    await call("GET /api/admin/kb/entries/{id}", "GET", f"{kb}/entries/online_courses", 200, headers=boss)
    edit = {
        "entry_id": "online_courses",
        "department": "general",
        "fields": {"detail": "เรียนได้ทุกวันตลอด 24 ชั่วโมงผ่านเว็บไซต์ e-learning.dbd.go.th"},
    }
    await call("POST /api/admin/kb/check", "POST", f"{kb}/check", 200, headers=boss, json=edit)
    duplicate = {**edit, "fields": {"questions": ["มีคอร์สเรียนออนไลน์ฟรีไหมคะ", "อยากดูบริการออนไลน์ทั้งหมด"]}}
    await call("POST check (problems)", "POST", f"{kb}/check", 200, headers=boss, json=duplicate)
    invalid = {**edit, "fields": {"title": "", "reviewed_at": "yesterday"}}
    await call("POST kb change (invalid)", "POST", f"{kb}/changes", 422, headers=boss, json=invalid)
    change = await call("POST /api/admin/kb/changes", "POST", f"{kb}/changes", 201, headers=boss, json=edit)
    await call("GET /api/admin/kb/changes", "GET", f"{kb}/changes?status=pending_review", 200, headers=boss)
    await call("POST approve", "POST", f"{kb}/changes/{change['change_id']}/approve", 200, headers=reviewer)
    await call(
        "GET /api/admin/kb/changes/{id}", "GET", f"{kb}/changes/{change['change_id']}", 200, headers=boss
    )
    another = {**edit, "fields": {"detail": "มีหลักสูตรใหม่ทุกเดือน ติดตามได้ที่หน้าเว็บไซต์ของกรม"}}
    rejected = await call("POST another change", "POST", f"{kb}/changes", 201, headers=boss, json=another)
    await call(
        "POST reject",
        "POST",
        f"{kb}/changes/{rejected['change_id']}/reject",
        200,
        headers=reviewer,
        json={"note": "ยังมีผู้ใช้บริการอยู่"},
    )
    await call("GET rejected change", "GET", f"{kb}/changes/{rejected['change_id']}", 200, headers=boss)
    await call(
        "GET /api/admin/kb/entries/{id}/history",
        "GET",
        f"{kb}/entries/online_courses/history",
        200,
        headers=boss,
    )


async def test_every_officer_and_admin_answer_keeps_its_shape(
    client: httpx.AsyncClient, services: Services
) -> None:
    answers = await _walk(client, services)

    if os.environ.get("GOVCHAT_WRITE_WIRE_SHAPES") == "1":
        SHAPES_FILE.write_text(json.dumps(answers, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    expected = json.loads(SHAPES_FILE.read_text())
    for name, answer in expected.items():
        assert answers.get(name) == answer, name
    assert set(answers) == set(expected)
