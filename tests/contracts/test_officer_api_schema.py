"""Every officer and admin route says what it answers, so ``/openapi.json`` describes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.conftest import make_settings

TYPED_PREFIXES = ("/api/officer", "/api/admin")
JSON = "application/json"


@pytest.fixture
async def openapi(sqlite_url: str, tmp_path: Path) -> dict[str, Any]:
    # the schema is built from the routes alone: no need to start the hub
    app = create_app(make_settings(sqlite_url, tmp_path, GOVCHAT_API_DOCS="true"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def _untyped_answers(operation: dict[str, Any]) -> list[str]:
    """The 2xx answers of an operation whose JSON body has no named model (e.g. ``dict[str, Any]``)."""
    answers = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
    if not answers:
        return ["no success response"]
    untyped = []
    for code, answer in answers.items():
        content = answer.get("content", {})
        if code == "204" and not content:
            continue
        if not content:
            untyped.append(f"{code}: no content")
        elif JSON in content and "$ref" not in content[JSON].get("schema", {}):
            untyped.append(f"{code}: {content[JSON].get('schema')}")
    return untyped


def test_every_officer_and_admin_route_declares_its_response(openapi: dict[str, Any]) -> None:
    operations = {
        f"{method.upper()} {path}": operation
        for path, item in openapi["paths"].items()
        if path.startswith(TYPED_PREFIXES)
        for method, operation in item.items()
    }
    assert len(operations) >= 30  # the officer, complaint, admin and insights APIs are all there

    untyped = {
        name: found for name, operation in operations.items() if (found := _untyped_answers(operation))
    }

    assert untyped == {}


def test_a_queue_row_is_described_field_by_field(openapi: dict[str, Any]) -> None:
    answer = openapi["paths"]["/api/officer/queue"]["get"]["responses"]["200"]["content"][JSON]["schema"]
    queue = openapi["components"]["schemas"][answer["$ref"].rsplit("/", 1)[1]]
    row = openapi["components"]["schemas"][
        queue["properties"]["conversations"]["items"]["$ref"].rsplit("/", 1)[1]
    ]

    contract = {"id", "channel", "department", "reason", "waiting_since", "last_message", "topic", "question"}
    assert contract <= set(row["properties"]) and contract <= set(row["required"])
