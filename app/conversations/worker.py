"""Background workers of one hub process: handle queued events, deliver replies, reap leases.

Workers wake at once when this process queues something and poll otherwise, so items
queued by another hub process (or left by a crashed one) are picked up too.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.conversations import repository
from app.conversations.delivery import Deliverer
from app.conversations.models import Message, WorkItem, WorkStatus
from app.conversations.pipeline import Pipeline
from app.db import utcnow
from app.metrics import Metrics

log = logging.getLogger(__name__)
REAP_INTERVAL_SECONDS = 5.0
ERROR_PAUSE_SECONDS = 1.0


class Workers:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        pipeline: Pipeline,
        deliverer: Deliverer,
        metrics: Metrics,
        *,
        count: int,
        lease_seconds: float,
        poll_interval: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.pipeline = pipeline
        self.deliverer = deliverer
        self.metrics = metrics
        self.count = count
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.instance_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._work_ready = asyncio.Event()
        self._delivery_ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def notify_work(self) -> None:
        self._work_ready.set()

    def notify_delivery(self) -> None:
        self._delivery_ready.set()

    def start(self) -> None:
        for n in range(self.count):
            self._tasks.append(
                asyncio.create_task(
                    self._loop(f"{self.instance_id}/w{n}", self._process_once, self._work_ready)
                )
            )
            self._tasks.append(
                asyncio.create_task(
                    self._loop(f"{self.instance_id}/d{n}", self._deliver_once, self._delivery_ready)
                )
            )
        self._tasks.append(asyncio.create_task(self._reap_forever()))

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish in-flight work within the grace period, then release whatever is still held."""
        self._stopping.set()
        self._work_ready.set()
        self._delivery_ready.set()
        _done, pending = (
            await asyncio.wait(self._tasks, timeout=grace_seconds) if self._tasks else (set(), set())
        )
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._release_held()

    async def _loop(
        self, worker_id: str, once: Callable[[str], Awaitable[bool]], ready: asyncio.Event
    ) -> None:
        while not self._stopping.is_set():
            try:
                did_work = await once(worker_id)
            except Exception:
                log.exception("worker_error", extra={"worker": worker_id})
                await asyncio.sleep(ERROR_PAUSE_SECONDS)
                continue
            if not did_work:
                ready.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ready.wait(), self.poll_interval)

    async def _process_once(self, worker_id: str) -> bool:
        now = utcnow()
        async with self.sessionmaker() as session, session.begin():
            ids = await repository.claim_work_items(
                session, worker_id, 1, now, now + dt.timedelta(seconds=self.lease_seconds)
            )
        for item_id in ids:
            try:
                await self.pipeline.handle(item_id, worker_id)
            except Exception:
                log.exception("work_item_failed", extra={"item": item_id})
                await self._release_item(item_id, worker_id)
                raise
            self.notify_delivery()
            self._work_ready.set()  # the conversation's next item may now be claimable
        return bool(ids)

    async def _deliver_once(self, worker_id: str) -> bool:
        ids = await self.deliverer.claim(worker_id, 1)
        for message_id in ids:
            await self.deliverer.deliver(message_id, worker_id)
        return bool(ids)

    async def _reap_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                async with self.sessionmaker() as session, session.begin():
                    released = await repository.release_expired_leases(session, utcnow())
                    depth = await repository.count_pending_work(session)
                    waiting = await repository.count_waiting(session)
                self.metrics.queue_depth.set(depth)
                self.metrics.waiting_conversations.set(waiting)
                if released:
                    log.warning("expired_leases_released", extra={"count": released})
                    self.notify_work()
            except Exception:
                log.exception("reaper_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), REAP_INTERVAL_SECONDS)

    async def _release_item(self, item_id: int, worker_id: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(WorkItem)
                .where(
                    WorkItem.id == item_id,
                    WorkItem.locked_by == worker_id,
                    WorkItem.status == WorkStatus.PROCESSING,
                )
                .values(status=WorkStatus.PENDING, locked_by=None, lease_until=None)
            )

    async def _release_held(self) -> None:
        prefix = f"{self.instance_id}/%"
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(WorkItem)
                .where(WorkItem.status == WorkStatus.PROCESSING, WorkItem.locked_by.like(prefix))
                .values(status=WorkStatus.PENDING, locked_by=None, lease_until=None)
            )
            await session.execute(
                update(Message)
                .where(Message.delivery_locked_by.like(prefix))
                .values(delivery_lease_until=None, delivery_locked_by=None)
            )


async def resume_after_restart(sessionmaker: async_sessionmaker[AsyncSession], single_process: bool) -> int:
    """On the embedded database only one hub runs: whatever was in flight died with it."""
    if not single_process:
        return 0  # on PostgreSQL other hubs may hold leases: expiry hands their work over
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            update(WorkItem)
            .where(WorkItem.status == WorkStatus.PROCESSING)
            .values(status=WorkStatus.PENDING, locked_by=None, lease_until=None)
        )
        await session.execute(
            update(Message)
            .values(delivery_lease_until=None, delivery_locked_by=None)
            .where(Message.delivery_locked_by.is_not(None))
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
