"""Officer login: argon2 hashes, signed expiring tokens, rate limiting per username and per address.

On SQLite; ``TestRateLimit`` on PostgreSQL too: failures are counted in stored times, serialised by
advisory locks there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.officers.auth import MAX_ADDRESS_FAILURES
from app.officers.models import AuditRecord, Officer
from app.services import Services
from tests.conftest import ADMIN_PASSWORD
from tests.integration.officers.conftest import OFFICER_PASSWORD, make_officer


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # the API's rules: the database cannot change them


def _client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hub")


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client_from(app, "10.9.8.7") as client:
        yield client


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/officer/login", json={"username": username, "password": password})


class TestLogin:
    async def test_right_password_gives_a_token_that_opens_the_queue(self, client: httpx.AsyncClient) -> None:
        response = await _login(client, "admin", ADMIN_PASSWORD)
        assert response.status_code == 200
        token = response.json()["token"]
        queue = await client.get("/api/officer/queue", headers={"Authorization": f"Bearer {token}"})
        assert queue.status_code == 200

    async def test_passwords_are_stored_as_argon2_hashes(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        async with services.sessionmaker() as session:
            stored = await session.scalar(select(Officer.password_hash).where(Officer.username == "admin"))
        assert stored is not None and stored.startswith("$argon2") and ADMIN_PASSWORD not in stored

    async def test_wrong_password_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await _login(client, "admin", "not-the-password")).status_code == 401

    async def test_unknown_username_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await _login(client, "nobody", "whatever-password")).status_code == 401

    async def test_deactivated_officer_cannot_log_in(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        await make_officer(client, services, "somchai", ["general"])
        async with services.sessionmaker() as session, session.begin():
            officer = await session.scalar(select(Officer).where(Officer.username == "somchai"))
            assert officer is not None
            officer.active = False
        assert (await _login(client, "somchai", OFFICER_PASSWORD)).status_code == 401


class TestRateLimit:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # a window of stored times; concurrent attempts serialised by advisory locks

    async def test_five_failures_in_five_minutes_block_even_the_right_password(
        self, client: httpx.AsyncClient
    ) -> None:
        for _ in range(5):
            assert (await _login(client, "admin", "wrong-password")).status_code == 401
        blocked = await _login(client, "admin", ADMIN_PASSWORD)
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0

    async def test_concurrent_wrong_passwords_cannot_outrun_the_count(
        self, client: httpx.AsyncClient
    ) -> None:
        responses = await asyncio.gather(*(_login(client, "admin", f"wrong-{i}") for i in range(20)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [401] * 5 + [429] * 15
        assert (await _login(client, "admin", ADMIN_PASSWORD)).status_code == 429

    async def test_a_successful_login_clears_the_count(self, client: httpx.AsyncClient) -> None:
        for _ in range(4):
            await _login(client, "admin", "wrong-password")
        assert (await _login(client, "admin", ADMIN_PASSWORD)).status_code == 200
        for _ in range(4):
            await _login(client, "admin", "wrong-password")
        assert (await _login(client, "admin", ADMIN_PASSWORD)).status_code == 200


class TestRateLimitScope:
    async def test_the_limit_holds_from_any_address(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient
    ) -> None:
        for _ in range(5):
            await _login(client, "admin", "wrong-password")
        blocked = await _login(other_client, "admin", ADMIN_PASSWORD)
        assert blocked.status_code == 429
        assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60

    async def test_spraying_many_usernames_from_one_address_is_slowed(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient
    ) -> None:
        for i in range(MAX_ADDRESS_FAILURES):
            assert (await _login(client, f"user{i}", "Password1")).status_code == 401
        assert (await _login(client, "someone-else", "Password1")).status_code == 429
        # the officers themselves, elsewhere, are not locked out by it
        assert (await _login(other_client, "admin", ADMIN_PASSWORD)).status_code == 200

    async def test_the_limit_is_per_username(self, client: httpx.AsyncClient, services: Services) -> None:
        await make_officer(client, services, "somchai", ["general"])
        for _ in range(5):
            await _login(client, "admin", "wrong-password")
        assert (await _login(client, "somchai", OFFICER_PASSWORD)).status_code == 200


class TestTokens:
    async def test_no_token_is_401(self, client: httpx.AsyncClient) -> None:
        for path in (
            "/api/officer/queue",
            "/api/officer/conversations/x",
            "/api/officer/canned",
            "/api/admin/audit",
        ):
            assert (await client.get(path)).status_code == 401, path
        assert (await client.post("/api/officer/conversations/x/claim")).status_code == 401

    async def test_a_forged_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/api/officer/queue", headers={"Authorization": "Bearer forged.token.value"}
        )
        assert response.status_code == 401

    async def test_a_web_chat_token_is_not_an_officer_token(self, client: httpx.AsyncClient) -> None:
        session = (await client.post("/api/webchat/sessions")).json()
        response = await client.get(
            "/api/officer/queue", headers={"Authorization": f"Bearer {session['token']}"}
        )
        assert response.status_code == 401

    async def test_an_expired_token_is_401(
        self, client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import itsdangerous.timed

        async with services.sessionmaker() as session:
            admin_id = await session.scalar(select(Officer.id).where(Officer.username == "admin"))
        assert admin_id is not None
        real_time = itsdangerous.timed.time.time
        hours = services.settings.officer_token_hours
        with monkeypatch.context() as patch:
            patch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - hours * 3600 - 60)
            token = services.officer_tokens.sign(f"{admin_id}.0")
        response = await client.get("/api/officer/queue", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401

    async def test_a_deactivated_officers_token_stops_working(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        officer = await make_officer(client, services, "somchai", ["general"])
        assert (await client.get("/api/officer/queue", headers=officer.headers)).status_code == 200
        async with services.sessionmaker() as session, session.begin():
            row = await session.get(Officer, officer.id)
            assert row is not None
            row.active = False
        assert (await client.get("/api/officer/queue", headers=officer.headers)).status_code == 401


class TestLoginAudit:
    async def test_logins_and_failures_are_audited(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        await _login(client, "admin", "wrong-password")
        await _login(client, "admin", ADMIN_PASSWORD)
        async with services.sessionmaker() as session:
            actions = list(await session.scalars(select(AuditRecord.action).order_by(AuditRecord.created_at)))
        assert actions[-2:] == ["login_failed", "login"]
