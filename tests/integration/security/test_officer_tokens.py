"""Officer management and token revocation (issue 25, 4; INTERFACES.md "Officer management").

On SQLite; ``TestOfficerRecords`` on PostgreSQL too: officers' rows, departments in a JSON column.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.services import Services
from tests.integration.officers.conftest import OFFICER_PASSWORD, login, make_officer


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # who may manage officers, and when a token stops working: the API's rules


class TestOfficerRecords:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # a unique username and departments in a JSON column

    async def test_admins_list_create_and_update_officers(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        created = await client.post(
            "/api/admin/officers",
            json={
                "username": "kanya",
                "password": "kanya-password",
                "departments": ["accounts"],
                "role": "officer",
            },
            headers=admin_headers,
        )
        assert created.status_code == 201
        officer_id = created.json()["id"]
        listed = (await client.get("/api/admin/officers", headers=admin_headers)).json()["officers"]
        row = next(o for o in listed if o["id"] == officer_id)
        assert {k: row[k] for k in ("username", "departments", "role", "active")} == {
            "username": "kanya",
            "departments": ["accounts"],
            "role": "officer",
            "active": True,
        }
        patched = await client.patch(
            f"/api/admin/officers/{officer_id}",
            json={"role": "supervisor", "departments": ["accounts", "general"]},
            headers=admin_headers,
        )
        assert patched.status_code == 200
        assert patched.json()["role"] == "supervisor" and patched.json()["departments"] == [
            "accounts",
            "general",
        ]


async def test_officers_cannot_manage_officers(client: httpx.AsyncClient, services: Services) -> None:
    somchai = await make_officer(client, services, "somchai", ["general"])
    assert (await client.get("/api/admin/officers", headers=somchai.headers)).status_code == 403
    body = {"username": "x1", "password": "long-enough-1", "departments": ["general"], "role": "admin"}
    assert (await client.post("/api/admin/officers", json=body, headers=somchai.headers)).status_code == 403


@pytest.mark.parametrize(
    "change",
    [
        {"password": "a-new-password-1"},
        {"role": "supervisor"},
        {"departments": ["accounts"]},
        {"active": False},
    ],
)
async def test_a_change_revokes_the_officers_tokens(
    client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str], change: dict[str, Any]
) -> None:
    somchai = await make_officer(client, services, "somchai", ["general"])
    assert (await client.get("/api/officer/queue", headers=somchai.headers)).status_code == 200
    response = await client.patch(f"/api/admin/officers/{somchai.id}", json=change, headers=admin_headers)
    assert response.status_code == 200
    assert (await client.get("/api/officer/queue", headers=somchai.headers)).status_code == 401
    if change.get("active") is not False:  # a new login gets a working token
        password = change.get("password", OFFICER_PASSWORD)
        assert (
            await client.get("/api/officer/queue", headers=await login(client, "somchai", password))
        ).status_code == 200


async def test_an_update_that_changes_nothing_keeps_the_tokens(
    client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
) -> None:
    somchai = await make_officer(client, services, "somchai", ["general"])
    same = {"role": "officer", "departments": ["general"], "active": True}
    assert (
        await client.patch(f"/api/admin/officers/{somchai.id}", json=same, headers=admin_headers)
    ).status_code == 200
    assert (await client.get("/api/officer/queue", headers=somchai.headers)).status_code == 200


async def test_logout_revokes_the_token_on_the_server(client: httpx.AsyncClient, services: Services) -> None:
    somchai = await make_officer(client, services, "somchai", ["general"])
    assert (await client.post("/api/officer/logout", headers=somchai.headers)).status_code == 204
    assert (await client.get("/api/officer/queue", headers=somchai.headers)).status_code == 401
    assert (await client.post("/api/officer/logout", headers=somchai.headers)).status_code == 401
