"""Retention (``GOVCHAT_RETENTION_DAYS``): personal data older than the period is deleted.

What goes: the text of citizens' messages (set to NULL, the message marked ``redacted``), the
files they sent (stored under the var folder), their display names, the descriptions of
complaint cases closed before the cutoff, and the payloads of finished work items (which
repeat the text). What stays: the rows themselves with channel, timestamps and the ``nlu``
decision, so insights and open data keep their anonymous counts. A conversation still with
the officers (waiting, with_officer) or with a complaint case not closed is not touched at all.

``govchat retention run`` runs it once; ``RetentionJob`` runs it daily inside the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.schema import utcnow
from app.insights import retention_repository as repository
from app.services import Services

log = logging.getLogger(__name__)
AGENCY_ZONE = ZoneInfo("Asia/Bangkok")
BATCH = 500
DAILY_AT = dt.time(3, 0)  # Bangkok time: the quietest hour


@dataclass
class RetentionReport:
    cutoff: str
    messages_redacted: int = 0
    attachments_deleted: int = 0
    profiles_redacted: int = 0
    complaints_redacted: int = 0
    work_items_cleared: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def stored_files(var_dir: Path, extra: Mapping[str, Any] | None) -> list[Path]:
    """Files a message's attachments were stored as, only those inside ``var_dir``."""
    root = var_dir.resolve()
    found = []
    for attachment in (extra or {}).get("attachments") or []:
        stored = attachment.get("stored_path") if isinstance(attachment, dict) else None
        if not stored:
            continue
        path = (var_dir / str(stored)).resolve()
        if path.is_relative_to(root) and path != root:
            found.append(path)
    return found


def delete_files(paths: Iterable[Path]) -> int:
    deleted = 0
    for path in paths:
        if path.is_file():
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def redacted_extra(extra: Mapping[str, Any] | None, when: dt.datetime) -> dict[str, Any]:
    """What a message keeps of its rich parts: only that it was redacted (and, for counts, how many files)."""
    attachments = (extra or {}).get("attachments") or []
    kept: dict[str, Any] = {"redacted": True, "redacted_at": when.isoformat(timespec="seconds")}
    if attachments:
        kept["attachments_removed"] = len(attachments)
    return kept


async def _redact_message_batch(
    session: AsyncSession, var_dir: Path, cutoff: dt.datetime, now: dt.datetime, report: RetentionReport
) -> int:
    messages = await repository.citizen_messages_due(session, cutoff, BATCH)
    for message in messages:
        # files first: if the commit fails, the next run finds the message again (and no file)
        report.attachments_deleted += await asyncio.to_thread(
            delete_files, stored_files(var_dir, message.extra)
        )
        message.text = None
        message.extra = redacted_extra(message.extra, now)
    report.messages_redacted += len(messages)
    return len(messages)


async def run_retention(
    sessionmaker: async_sessionmaker[AsyncSession],
    var_dir: Path,
    retention_days: int,
    now: dt.datetime | None = None,
) -> RetentionReport:
    """Delete what is older than ``retention_days``; idempotent, safe beside a running hub."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days)
    report = RetentionReport(cutoff=cutoff.isoformat())
    while True:  # in batches: a first run over years of history must not hold one huge transaction
        async with sessionmaker() as session, session.begin():
            done = await _redact_message_batch(session, var_dir, cutoff, now, report)
        if done < BATCH:
            break
    async with sessionmaker() as session, session.begin():
        report.profiles_redacted = await repository.redact_profiles(session, cutoff)
        report.complaints_redacted = await repository.redact_closed_complaints(session, cutoff)
        report.work_items_cleared = await repository.clear_finished_work(session, cutoff)
        repository.add_audit(
            session, "retention_run", None, {"retention_days": retention_days, **report.as_dict()}
        )
    log.info("retention_run", extra=report.as_dict())
    return report


def seconds_until_next_run(now: dt.datetime, at: dt.time = DAILY_AT) -> float:
    local = now.astimezone(AGENCY_ZONE)
    next_run = dt.datetime.combine(local.date(), at, AGENCY_ZONE)
    if next_run <= local:
        next_run += dt.timedelta(days=1)
    return (next_run - local).total_seconds()


class RetentionJob:
    """Runs retention every day at ``DAILY_AT`` Bangkok time while the hub runs.

    Several hub processes may each run it: a run only deletes what is due, so a second one finds
    nothing left to do.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._daily(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _daily(self) -> None:
        settings = self._services.settings
        while True:
            await asyncio.sleep(seconds_until_next_run(utcnow()))
            try:
                await run_retention(self._services.sessionmaker, settings.var_dir, settings.retention_days)
            except Exception:  # a failed run must not stop tomorrow's: logged, tried again then
                log.exception("retention_run_failed")


def start_retention_job(services: Services) -> RetentionJob:
    job = RetentionJob(services)
    job.start()
    return job
