"""Limits hold across hub processes: two real `govchat serve` on one PostgreSQL and one Redis
(issue 25, 2 and 3), and `govchat serve` believes no X-Forwarded-For it was not told to."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest
from sqlalchemy import select

from app.db.engine import create_engine, create_sessionmaker
from app.officers.models import AuditRecord
from tests.conftest import HUB_VAR_DIR
from tests.integration.processes import (
    NEEDS_POSTGRES,
    HubProcess,
    StartHubs,
    module_hubs,
    module_postgres_url,
)

__all__ = ["module_hubs", "module_postgres_url"]

pytestmark = [pytest.mark.redis, *NEEDS_POSTGRES]
REDIS_URL = "redis://127.0.0.1:6379/13"
ADMIN_PASSWORD = "admin-test-password"
MESSAGES_PER_MINUTE = 6
SESSIONS_PER_HOUR = 4


@pytest.fixture(scope="module")
def two_hubs(module_postgres_url: str, module_hubs: StartHubs) -> tuple[HubProcess, HubProcess]:
    """Shared by the tests: one spends the web-chat limits, the other the admin's login attempts."""
    env = {
        **os.environ,
        "DATABASE_URL": module_postgres_url,
        "REDIS_URL": REDIS_URL,
        "GOVCHAT_VAR_DIR": str(HUB_VAR_DIR),
        "GOVCHAT_SECRET_KEY": "security-two-process-secret-" + "z" * 24,
        "GOVCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GOVCHAT_WEBCHAT_MESSAGES_PER_MINUTE": str(MESSAGES_PER_MINUTE),
        "GOVCHAT_WEBCHAT_SESSIONS_PER_HOUR": str(SESSIONS_PER_HOUR),
    }
    for name in ("RASA_URL", "GOVCHAT_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS"):
        env.pop(name, None)
    (first,) = module_hubs(env, "first")  # the first one migrates
    (second,) = module_hubs(env, "second")
    return first, second


async def test_web_chat_limits_are_shared_by_both_hubs(two_hubs: tuple[HubProcess, HubProcess]) -> None:
    urls = [hub.url for hub in two_hubs]
    async with httpx.AsyncClient(timeout=30) as http:
        created = [
            # a forged X-Forwarded-For does not make each request a new client
            await http.post(
                f"{urls[n % 2]}/api/webchat/sessions", headers={"X-Forwarded-For": f"198.51.100.{n}"}
            )
            for n in range(SESSIONS_PER_HOUR + 2)
        ]
        assert [r.status_code for r in created] == [201] * SESSIONS_PER_HOUR + [429, 429]

        body = created[0].json()
        headers = {"Authorization": f"Bearer {body['token']}"}
        codes = []
        for n in range(MESSAGES_PER_MINUTE + 2):
            response = await http.post(
                f"{urls[n % 2]}/api/webchat/sessions/{body['session_id']}/messages",
                json={"text": f"สวัสดีครับ {n}", "client_message_id": f"m{n}"},
                headers=headers,
            )
            codes.append(response.status_code)
        assert codes == [202] * MESSAGES_PER_MINUTE + [429, 429]


async def test_concurrent_wrong_passwords_on_both_hubs_are_counted_once(
    two_hubs: tuple[HubProcess, HubProcess], module_postgres_url: str
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:

        async def attempt(n: int) -> int:
            response = await http.post(
                f"{two_hubs[n % 2].url}/api/officer/login",
                json={"username": "admin", "password": f"wrong-{n}"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            )
            return response.status_code

        codes = sorted(await asyncio.gather(*(attempt(n) for n in range(12))))
    assert codes == [401] * 5 + [429] * 7
    engine = create_engine(module_postgres_url)
    try:
        async with create_sessionmaker(engine)() as session:
            failed = list(
                await session.scalars(select(AuditRecord).where(AuditRecord.action == "login_failed"))
            )
    finally:
        await engine.dispose()
    # `govchat serve` took the TCP peer as the client, not what the header claimed
    assert {record.detail["address"] for record in failed} == {"127.0.0.1"}
