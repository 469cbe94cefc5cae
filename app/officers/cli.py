"""``govchat officer add``: create an officer in the database that ``DATABASE_URL`` names."""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError

from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import run_migrations
from app.db.transactions import SessionTransactions
from app.officers import admin
from app.officers.errors import OfficerActionError
from app.officers.schemas import OfficerCreate
from app.settings import Settings
from knowledge_base.loader import DEFAULT_ROOT, load_knowledge_base


async def add_officer(
    settings: Settings, username: str, password: str, departments: list[str], role: str
) -> int:
    """Exit status 0 when created; 1 with a reason on stderr otherwise.

    A running hub reads officers from the database at every login, so it accepts the new
    officer at once.
    """
    try:
        request = OfficerCreate(username=username, password=password, departments=departments, role=role)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        print(f"govchat officer add: {problems}", file=sys.stderr)
        return 1
    known = load_knowledge_base(settings.kb_dir or DEFAULT_ROOT).departments
    url = settings.resolved_database_url()
    await asyncio.to_thread(run_migrations, url)
    engine = create_engine(url)
    try:
        officer = await admin.create_officer(
            SessionTransactions(create_sessionmaker(engine)),
            username=request.username,
            password=request.password,
            departments=request.departments,
            role=request.role,
            known_departments=known,
        )
    except OfficerActionError as error:
        print(f"govchat officer add: {error.reason}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(
        f"govchat: officer '{officer.username}' ({officer.role}) created for {', '.join(officer.departments)}"
    )
    return 0
