"""``govchat officer add`` writes the database DATABASE_URL names; a running hub accepts the login.

What the command does is checked by calling it in this process; the installed script runs as a
process once, on a database it has to migrate first.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import LiveServer
from tests.integration.processes import CallGovchat, call_govchat, run_govchat

__all__ = ["call_govchat"]


def officer_add(*options: str) -> tuple[str, ...]:
    return ("officer", "add", *options)


class TestOfficerAdd:
    async def test_a_running_hub_accepts_the_new_officer_at_once(
        self, call_govchat: CallGovchat, live_server: LiveServer, database_url: str
    ) -> None:
        status, output = await call_govchat(
            {"DATABASE_URL": database_url},
            *officer_add(
                "--username",
                "wichai",
                "--password",
                "wichai-password",
                "--department",
                "registration",
                "--department",
                "accounts",
                "--role",
                "supervisor",
            ),
        )
        assert status == 0, output
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            login = await http.post(
                "/api/officer/login", json={"username": "wichai", "password": "wichai-password"}
            )
            assert login.status_code == 200
            me = await http.get(
                "/api/officer/me", headers={"Authorization": f"Bearer {login.json()['token']}"}
            )
        assert me.json()["role"] == "supervisor"
        assert me.json()["departments"] == ["registration", "accounts"]

    async def test_an_existing_username_fails_clearly(
        self, call_govchat: CallGovchat, live_server: LiveServer, database_url: str
    ) -> None:
        status, output = await call_govchat(
            {"DATABASE_URL": database_url},
            *officer_add("--username", "admin", "--password", "another-password", "--department", "general"),
        )
        assert status == 1 and "already exists" in output

    async def test_an_unknown_department_fails_clearly(
        self, call_govchat: CallGovchat, sqlite_database_url: str
    ) -> None:
        status, output = await call_govchat(
            {"DATABASE_URL": sqlite_database_url},
            *officer_add("--username", "new", "--password", "new-password", "--department", "nowhere"),
        )
        assert status == 1 and "unknown department" in output

    async def test_the_installed_command_migrates_a_fresh_database_first(self, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        status, output = await run_govchat(
            {"DATABASE_URL": url},
            tmp_path,
            *officer_add(
                "--username", "first", "--password", "first-password", "--department", "*", "--role", "admin"
            ),
        )
        assert status == 0, output
        assert (tmp_path / "fresh.db").exists()
