"""The knowledge base citizens are answered from: the database's, kept current in every hub process.

On start the entries table is seeded from the YAML files when it is empty; from then on the
database is the truth. After an approval commits, the approving process reloads and publishes
``kb_published`` on the event bus (Redis between processes); every process reloads from the
database when it hears it, and the store tells its ``on_change`` listeners (NLU retraining).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.schema import utcnow
from app.events import EventBus, listen_forever
from app.kb import repository
from app.kb.fields import entry_of, fields_of
from app.kb.models import EntryStatus, KbEntry
from app.kb.publishing import Person
from app.officers.repository import add_audit
from knowledge_base import loader
from knowledge_base.loader import (
    DepartmentsFile,
    KnowledgeBase,
    KnowledgeBaseStore,
    knowledge_base_of,
    load_departments,
)
from knowledge_base.schema import FaqEntry

log = logging.getLogger(__name__)

KB_PUBLISHED = "kb_published"
SEED = Person("seed")


async def seed_if_empty(sessionmaker: async_sessionmaker[AsyncSession], root: Path) -> int:
    """Put the YAML knowledge base into an empty entries table (version 1 by "seed"); the count written."""
    async with sessionmaker() as session:
        if await repository.count_entries(session):
            return 0
    # invalid files: the start fails, as it did when the files were served directly
    kb = await asyncio.to_thread(loader.load_knowledge_base, root)
    now = utcnow()
    positions: dict[str, int] = {}
    try:
        async with sessionmaker() as session, session.begin():
            for entry in kb.entries.values():
                fields = fields_of(entry)
                positions[entry.department] = positions.get(entry.department, 0) + 1
                session.add(
                    KbEntry(
                        id=entry.id,
                        department=entry.department,
                        status=EntryStatus.PUBLISHED,
                        version=1,
                        position=positions[entry.department],
                        fields=fields,
                        updated_at=now,
                    )
                )
                repository.add_version(
                    session,
                    entry_id=entry.id,
                    version=1,
                    status=EntryStatus.PUBLISHED,
                    fields=fields,
                    author=SEED.username,
                    approved_by=SEED.username,
                    at=now,
                )
            add_audit(session, None, "kb_seed", None, {"entries": len(kb.entries)})
    except IntegrityError:  # another hub process seeded it at the same moment
        log.info("kb_seed_done_elsewhere")
        return 0
    log.info("kb_seeded", extra={"entries": len(kb.entries)})
    return len(kb.entries)


def _typed_entries(rows: list[Any]) -> list[FaqEntry]:
    entries = []
    for row in rows:
        try:
            entries.append(entry_of(row.id, row.fields))
        except ValidationError:  # approved under older rules: keep serving the rest
            log.exception("kb_entry_unreadable", extra={"entry_id": row.id})
    return entries


class DatabaseKnowledgeBase:
    """Loads the published entries into the store, now and whenever any process publishes."""

    def __init__(
        self,
        store: KnowledgeBaseStore,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        departments: DepartmentsFile,
        check_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.check_seconds = check_seconds
        self.departments = departments
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self._checker: asyncio.Task[None] | None = None
        self._state: tuple[int, int] | None = None

    @classmethod
    async def open(
        cls,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        root: Path,
        check_seconds: float = 30.0,
    ) -> DatabaseKnowledgeBase:
        departments = await asyncio.to_thread(load_departments, root)
        await seed_if_empty(sessionmaker, root)
        kb, _state = await cls._load(sessionmaker, departments)
        return cls(KnowledgeBaseStore(root, initial=kb), sessionmaker, bus, departments, check_seconds)

    @staticmethod
    async def _load(
        sessionmaker: async_sessionmaker[AsyncSession], departments: DepartmentsFile
    ) -> tuple[KnowledgeBase, tuple[int, int]]:
        async with sessionmaker() as session, session.begin():
            state = await repository.published_state(session)
            rows = list(await repository.published_entries(session))
        return knowledge_base_of(departments.departments, _typed_entries(rows)), state

    async def reload(self) -> KnowledgeBase:
        """Read the database again; the store's listeners hear of it when it changed."""
        async with self._lock:
            fresh, self._state = await self._load(self._sessionmaker, self.departments)
            self.store.replace(fresh)
            return self.store.current

    async def announce(self, entry_id: str, questions_changed: bool) -> None:
        """After a commit: this process at once, the others through the bus."""
        kb = await self.reload()
        event = {
            "type": KB_PUBLISHED,
            "fingerprint": kb.fingerprint,
            "entry_id": entry_id,
            "questions_changed": questions_changed,
        }
        await self._bus.publish(KB_PUBLISHED, event)

    async def start(self) -> None:
        """Listen for other processes' publications; returns once listening (nothing published since is missed)."""
        listening = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(listening))
        waiter = asyncio.create_task(listening.wait())
        await asyncio.wait({waiter, self._listener}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self._listener.done():
            self._listener.result()  # raises what stopped it
        await self.reload()  # whatever was published between the first load and listening
        self._checker = asyncio.create_task(self._check_now_and_then())

    async def _check_now_and_then(self) -> None:
        """Catch up with what no event told of: a cheap look at the database, a reload only on a difference."""
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                async with self._sessionmaker() as session:
                    state = await repository.published_state(session)
                if state != self._state:
                    await self.reload()
            except Exception:  # the database is away for a moment: look again next time
                log.exception("kb_check_failed")

    async def _listen(self, listening: asyncio.Event) -> None:
        """Hear other processes' publications; while Redis is unreachable the hub still starts and
        serves, the periodic database check standing in, and listening resumes when Redis is back."""
        await listen_forever(
            self._bus, KB_PUBLISHED, self._heard, listening=listening, on_resumed=self.reload
        )

    async def _heard(self, event: dict[str, Any]) -> None:
        if event.get("fingerprint") == self.store.current.fingerprint:
            return  # our own announcement, or one we already read
        try:
            await self.reload()
        except Exception:  # the database is away for a moment: the next event catches up
            log.exception("kb_reload_failed")

    async def stop(self) -> None:
        for task in (self._checker, self._listener):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
