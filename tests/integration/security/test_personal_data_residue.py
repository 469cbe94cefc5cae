"""What is left on disk (issue 25, 10): private SQLite files, and nothing of an erased citizen."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
from sqlalchemy import select

from app.conversations.models import WorkItem
from app.insights.export import erase_citizen
from app.services import Services
from tests.conftest import make_settings, running_app
from tests.integration.officers.conftest import new_citizen

MARKER = "SECRETMARKER7731"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_database_its_log_and_var_are_private_and_erasure_leaves_nothing(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"  # not there yet: the hub creates it
    database = var_dir / "govchat.db"
    settings = make_settings(f"sqlite+aiosqlite:///{database}", var_dir)
    async with running_app(settings) as app:
        services = app.state.services
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
            citizen = await new_citizen(client, services)
            await citizen.say(f"เลขบัตรของดิฉัน {MARKER} ค่ะ")
            await citizen.wait_for_reply(1)

        assert _mode(var_dir) == 0o700
        for path in (database, database.with_name("govchat.db-wal"), database.with_name("govchat.db-shm")):
            assert path.exists() and _mode(path) == 0o600, path

        await erase_citizen(services.sessionmaker, var_dir, "webchat", citizen.session_id)

        async with services.sessionmaker() as session:
            keys = list(await session.scalars(select(WorkItem.dedupe_key)))
        assert keys and not [k for k in keys if citizen.session_id in k]
        for path in (database, database.with_name("govchat.db-wal")):
            assert MARKER.encode() not in path.read_bytes(), path


async def test_an_erased_citizens_work_items_keep_none_of_their_ids(
    client: httpx.AsyncClient, services: Services
) -> None:
    citizen = await new_citizen(client, services)
    await citizen.say("สวัสดีค่ะ")
    await citizen.wait_for_reply(1)
    await erase_citizen(services.sessionmaker, services.settings.var_dir, "webchat", citizen.session_id)
    async with services.sessionmaker() as session:
        keys = list(await session.scalars(select(WorkItem.dedupe_key)))
    assert keys and all(key.startswith("erased:") for key in keys)
