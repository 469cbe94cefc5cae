"""``govchat officer add`` writes the database DATABASE_URL names; a running hub accepts the login."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from tests.conftest import LiveServer

GOVCHAT = Path(sys.executable).parent / "govchat"


async def _officer_add(database_url: str, cwd: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        str(GOVCHAT),
        "officer",
        "add",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


class TestOfficerAdd:
    async def test_a_running_hub_accepts_the_new_officer_at_once(
        self, live_server: LiveServer, database_url: str, tmp_path: Path
    ) -> None:
        status, output = await _officer_add(
            database_url,
            tmp_path,
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

    async def test_an_existing_username_or_unknown_department_fails_clearly(
        self, live_server: LiveServer, database_url: str, tmp_path: Path
    ) -> None:
        status, output = await _officer_add(
            database_url,
            tmp_path,
            "--username",
            "admin",
            "--password",
            "another-password",
            "--department",
            "general",
        )
        assert status == 1 and "already exists" in output
        status, output = await _officer_add(
            database_url,
            tmp_path,
            "--username",
            "new",
            "--password",
            "new-password",
            "--department",
            "nowhere",
        )
        assert status == 1 and "unknown department" in output

    async def test_it_migrates_a_fresh_database_first(self, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        status, output = await _officer_add(
            url,
            tmp_path,
            "--username",
            "first",
            "--password",
            "first-password",
            "--department",
            "*",
            "--role",
            "admin",
        )
        assert status == 0, output
        assert (tmp_path / "fresh.db").exists()
