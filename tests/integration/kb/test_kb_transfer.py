"""``govchat kb export`` and ``govchat kb import``: YAML that ``kb validate`` passes, and a lossless round trip."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import yaml
from sqlalchemy import select

from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import run_migrations
from app.kb.models import KbChange, KbEntry, KbEntryVersion
from app.officers.models import AuditRecord
from knowledge_base.loader import DEFAULT_ROOT
from tests.conftest import fresh_postgres_database
from tests.integration.processes import CallGovchat, call_govchat, run_govchat

__all__ = ["call_govchat"]


def environment(database_url: str, cwd: Path) -> dict[str, str | None]:
    """The database to work on, and no Redis: an import then announces nothing to running hubs."""
    return {"DATABASE_URL": database_url, "GOVCHAT_VAR_DIR": str(cwd / "var"), "REDIS_URL": None}


@contextlib.asynccontextmanager
async def another_database(like: str, tmp_path: Path) -> AsyncIterator[str]:
    """A second, empty (migrated) database of the same kind as ``like``."""
    if like.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'second.db'}"
        await asyncio.to_thread(run_migrations, url)
        yield url
        return
    async with fresh_postgres_database() as url:
        yield url


def files_under(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*.yml"))}


async def exported(
    call_govchat: CallGovchat, database_url: str, tmp_path: Path, name: str = "export"
) -> Path:
    folder = tmp_path / name
    status, output = await call_govchat(
        environment(database_url, tmp_path), "kb", "export", "--output", str(folder)
    )
    assert status == 0, output
    return folder


async def test_export_import_into_a_fresh_database_and_export_again_gives_identical_files(
    call_govchat: CallGovchat, database_url: str, tmp_path: Path
) -> None:
    first = await exported(call_govchat, database_url, tmp_path, "first")
    entries = sum(len(yaml.safe_load(p.read_text("utf-8"))) for p in (first / "faq").glob("*.yml"))
    assert entries == sum(
        len(yaml.safe_load(p.read_text("utf-8"))) for p in (DEFAULT_ROOT / "faq").glob("*.yml")
    )
    async with another_database(database_url, tmp_path) as fresh:
        status, output = await call_govchat(environment(fresh, tmp_path), "kb", "import", str(first))
        assert status == 0, output
        assert f'"created": {entries}' in output
        second = await exported(call_govchat, fresh, tmp_path, "second")
        engine = create_engine(fresh)
        try:
            async with create_sessionmaker(engine)() as session:
                versions = (await session.scalars(select(KbEntryVersion))).all()
                changes = (await session.scalars(select(KbChange))).all()
                audit = (await session.scalars(select(AuditRecord.action))).all()
        finally:
            await engine.dispose()
    assert files_under(first) == files_under(second)
    assert {(v.author, v.approved_by, v.version) for v in versions} == {("import", "import", 1)}
    assert len(changes) == entries and {c.status for c in changes} == {"published"}
    assert "kb_import" in audit


async def test_the_export_of_the_installed_command_passes_kb_validate(
    call_govchat: CallGovchat, sqlite_database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    status, output = await run_govchat(
        environment(sqlite_database_url, tmp_path), tmp_path, "kb", "export", "--output", str(folder)
    )
    assert status == 0, output
    status, output = await call_govchat({"GOVCHAT_KB_DIR": str(folder)}, "kb", "validate")
    assert status == 0, output
    assert "knowledge base OK" in output


async def test_an_import_publishes_only_what_changed(
    call_govchat: CallGovchat, sqlite_database_url: str, tmp_path: Path
) -> None:
    folder = await exported(call_govchat, sqlite_database_url, tmp_path)
    general = folder / "faq" / "general.yml"
    entries = yaml.safe_load(general.read_text("utf-8"))
    course = next(e for e in entries if e["id"] == "online_courses")
    course["reviewed_at"] = "2026-12-06"
    general.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status, output = await call_govchat(
        environment(sqlite_database_url, tmp_path), "kb", "import", str(folder)
    )
    assert status == 0, output
    assert '"updated": 1' in output and '"unchanged": 24' in output
    engine = create_engine(sqlite_database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            row = await session.get(KbEntry, "online_courses")
    finally:
        await engine.dispose()
    assert row is not None and row.version == 2 and row.fields["reviewed_at"] == "2026-12-06"


async def test_an_invalid_folder_imports_nothing(
    call_govchat: CallGovchat, sqlite_database_url: str, tmp_path: Path
) -> None:
    folder = await exported(call_govchat, sqlite_database_url, tmp_path)
    general = folder / "faq" / "general.yml"
    entries = yaml.safe_load(general.read_text("utf-8"))
    entries[0]["answer"] = "สั้นไป"
    general.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status, output = await call_govchat(
        environment(sqlite_database_url, tmp_path), "kb", "import", str(folder)
    )
    assert status == 1 and "nothing imported" in output and "answer is" in output
    engine = create_engine(sqlite_database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            versions = (await session.scalars(select(KbEntryVersion.author))).all()
    finally:
        await engine.dispose()
    assert set(versions) == {"seed"}
