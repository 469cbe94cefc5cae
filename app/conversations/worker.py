"""Background workers of one hub process: handle queued events, deliver replies, reap leases.

Per kind of work (handling events, delivering replies) one claimer leases batches of ready
items in a single statement, up to ``count`` items in at most two batches at once, and hands
each batch to one handler, which shares its database round trips among the batch. One
claimer instead of polling loops keeps idle workers from racing for the same rows (on
SQLite every empty claim is still a write). Claimers wake at once when this process
queues something and poll otherwise, so items queued by another hub process (or left by a
crashed one) are picked up too.

A process with ``count == 0`` runs no workers: it takes requests and queues them, and wakes
the worker processes through the event bus (``WAKE_TOPIC``). Run them at a lower CPU
priority, and webhooks are acknowledged first when the CPU is short (README, "Web and
worker processes").
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import itertools
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from app.conversations import outbox, queue_counts, work_queue
from app.conversations.delivery import Deliverer
from app.conversations.models import WorkStatus
from app.conversations.pipeline import Pipeline
from app.db.schema import utcnow
from app.db.transactions import Transactions
from app.events import EventBus, listen_forever
from app.metrics import Metrics

log = logging.getLogger(__name__)
REAP_INTERVAL_SECONDS = 5.0
ERROR_PAUSE_SECONDS = 1.0
MAX_ATTEMPTS = 5  # crashes of one event before it is marked failed
# Claims handled at once per kind: one prepares (NLU, sends) while the other waits on the
# database. More would split the ready items into smaller batches that share less.
BATCHES_IN_FLIGHT = 2
# Once woken, wait this long before claiming, so that what arrives meanwhile joins the batch:
# one message at a time costs about ten times the CPU of one in a batch of thirty. Measured
# (benchmarks/load.py, SQLite): 20 ms made every rate cheaper and its acks faster; 50 ms no better.
CLAIM_LINGER_SECONDS = 0.02
WAKE_TOPIC = "work-queued"  # {"kinds": ["w", "d"]}: what a process without workers queued


class Queue(StrEnum):
    """The two queues workers claim from.

    The short values travel in wake messages and lease owners, which processes of different
    versions share during a rolling restart.
    """

    WORK = "w"  # work items: inbound events to handle
    DELIVERY = "d"  # outbound messages to send


Claim = Callable[[str, int], Awaitable[list[int]]]
Handle = Callable[[list[int], str], Coroutine[Any, Any, bool]]  # True: claim again, more may be ready


class Workers:
    def __init__(
        self,
        transactions: Transactions,
        pipeline: Pipeline,
        deliverer: Deliverer,
        metrics: Metrics,
        bus: EventBus,
        *,
        count: int,
        lease_seconds: float,
        poll_interval: float,
    ) -> None:
        self.transactions = transactions
        self.pipeline = pipeline
        self.deliverer = deliverer
        self.metrics = metrics
        self.bus = bus
        self.count = count
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.instance_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._ready = {Queue.WORK: asyncio.Event(), Queue.DELIVERY: asyncio.Event()}  # wakes its claimer
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncio.Task[None] | None = None
        self._to_announce: set[str] = set()
        self._announcer: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[bool]] = set()
        self._claims = itertools.count(1)
        self._held: dict[str, dict[int, str]] = {Queue.WORK: {}, Queue.DELIVERY: {}}  # {id: owner}

    def notify_work(self) -> None:
        self._wake(Queue.WORK)

    def notify_delivery(self) -> None:
        self._wake(Queue.DELIVERY)

    def _wake(self, kind: Queue) -> None:
        if self.count:
            self._ready[kind].set()
            return
        self._to_announce.add(kind)
        if self._announcer is None or self._announcer.done():
            self._announcer = asyncio.create_task(self._announce())

    async def _announce(self) -> None:
        """Wake the worker processes; what is queued while one publish is out goes in the next."""
        while self._to_announce:
            kinds = sorted(self._to_announce)
            self._to_announce.clear()
            await self.bus.publish(WAKE_TOPIC, {"kinds": kinds})

    async def _listen(self) -> None:
        """Wake when a process without workers queues something; the poll covers a Redis outage."""
        await listen_forever(self.bus, WAKE_TOPIC, self._woken)

    async def _woken(self, event: dict[str, Any]) -> None:
        for kind in event.get("kinds", []):
            if kind in self._ready:
                self._ready[kind].set()

    def start(self) -> None:
        """Start the claimers, the reaper and the lease renewal; none when ``count`` is 0."""
        if not self.count:
            return
        self._listener = asyncio.create_task(self._listen())
        self._tasks = [
            asyncio.create_task(
                self._claim_loop(Queue.WORK, self._claim_work, self._handle_work, self._ready[Queue.WORK])
            ),
            asyncio.create_task(
                self._claim_loop(
                    Queue.DELIVERY, self.deliverer.claim, self._handle_deliveries, self._ready[Queue.DELIVERY]
                )
            ),
            asyncio.create_task(self._reap_forever()),
            asyncio.create_task(self._renew_forever()),
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish in-flight work within the grace period, then release whatever is still held."""
        for helper in (self._listener, self._announcer):
            if helper is not None:
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
        self._stopping.set()
        for ready in self._ready.values():
            ready.set()
        running = [*self._tasks, *self._handlers]
        _done, pending = await asyncio.wait(running, timeout=grace_seconds) if running else (set(), set())
        # Handlers started while the claimers wound down are waited for too.
        if self._handlers - set(running):
            _more, late = await asyncio.wait(self._handlers - set(running), timeout=1.0)
            pending |= late
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._release_held()

    async def _claim_loop(self, kind: Queue, claim: Claim, handle: Handle, ready: asyncio.Event) -> None:
        """Lease what is ready, up to the free handler slots, and hand each claim to one handler.

        A claim's items belong to different conversations; their handler shares its database
        round trips among them. Each claim gets its own owner id: should a lease expire while
        its handler still runs and this process claim the item again, the first handler can
        no longer finish it. A finished handler asks for another claim only when one may find
        something: the last claim filled every slot, or the handler saw more of its
        conversations waiting. (Every claim is a write; an empty one per message cost a fifth
        of the hub's time.)
        """
        in_flight: dict[asyncio.Task[bool], int] = {}  # handler -> items it holds
        held = self._held[kind]
        saturated = False  # the last claim took as many as there were free slots

        def finished(ids: list[int], task: asyncio.Task[bool]) -> None:
            in_flight.pop(task, None)
            self._handlers.discard(task)
            for item_id in ids:
                held.pop(item_id, None)
            more = task.cancelled() or task.exception() is not None or task.result()
            if more or saturated:
                ready.set()

        while not self._stopping.is_set():
            free = self.count - sum(in_flight.values()) if len(in_flight) < BATCHES_IN_FLIGHT else 0
            claimed = 0
            if free > 0:
                ready.clear()
                owner = f"{self.instance_id}/{kind}{next(self._claims)}"
                try:
                    ids = await claim(owner, free)
                except Exception:
                    log.exception("claim_failed", extra={"kind": kind})
                    await asyncio.sleep(ERROR_PAUSE_SECONDS)
                    continue
                if ids:
                    held.update(dict.fromkeys(ids, owner))
                    task = asyncio.create_task(handle(ids, owner))
                    in_flight[task] = len(ids)
                    self._handlers.add(task)
                    task.add_done_callback(functools.partial(finished, ids))
                claimed = len(ids)
                saturated = claimed == free
            if free > 0 and claimed == free:
                continue  # a full batch: there may be more ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), self.poll_interval)
            await asyncio.sleep(CLAIM_LINGER_SECONDS)

    async def _claim_work(self, owner: str, limit: int) -> list[int]:
        until = utcnow() + dt.timedelta(seconds=self.lease_seconds)
        return await self.transactions.run_autocommit(
            lambda session: work_queue.claim_work_items(session, owner, limit, until)
        )

    async def _handle_work(self, item_ids: list[int], owner: str) -> bool:
        try:
            handled = await self.pipeline.handle_batch(item_ids, owner)
        except Exception as error:
            if len(item_ids) == 1:
                return await self._handle_failed(item_ids[0], owner, error)
            # One item's failure must not hold back the rest: each alone, so it alone is released.
            log.warning("work_batch_failed_retrying_alone", extra={"items": len(item_ids)}, exc_info=True)
            alone = await asyncio.gather(*(self._handle_work([item_id], owner) for item_id in item_ids))
            return any(alone)
        if any(h is not None and h.more_replies for h in handled.values()):
            self.notify_delivery()
        leased = [h.deliver_now for h in handled.values() if h is not None and h.deliver_now is not None]
        if leased:  # leased to us with the replies: no claim, no reload
            heads = [batch.messages[0].id for batch in leased]
            self._held[Queue.DELIVERY].update(dict.fromkeys(heads, owner))
            try:
                if await self._delivering(heads, self.deliverer.send_all(leased)):
                    self.notify_delivery()
            finally:
                for head_id in heads:
                    self._held[Queue.DELIVERY].pop(head_id, None)
        return any(h is not None and h.more_work for h in handled.values())

    async def _handle_failed(self, item_id: int, owner: str, error: Exception) -> bool:
        log.error("work_item_failed", extra={"item": item_id}, exc_info=error)
        with contextlib.suppress(Exception):  # if even this fails, the lease expires
            await self._release_item(item_id, owner, f"{type(error).__name__}: {error}"[:500])
        await asyncio.sleep(ERROR_PAUSE_SECONDS)  # keep a failing item from spinning
        return True

    async def _handle_deliveries(self, message_ids: list[int], owner: str) -> bool:
        sends = [self._delivering([m], self.deliverer.deliver(m, owner)) for m in message_ids]
        return any(await asyncio.gather(*sends))

    async def _delivering(self, message_ids: list[int], sending: Awaitable[bool]) -> bool:
        """Await a send; True (claim again) if it failed unexpectedly: its lease expires, and a retry follows."""
        try:
            return await sending
        except Exception:  # the delivery lease expires and another attempt follows
            log.exception("delivery_failed_unexpectedly", extra={"message_ids": message_ids})
            await asyncio.sleep(ERROR_PAUSE_SECONDS)
            return True

    async def _renew_forever(self) -> None:
        """Extend the leases of what this process is still handling, every third of a lease.

        A slow answer (Rasa at its timeout, a channel API retrying) must not let another
        worker take the item over and answer it a second time.
        """
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.lease_seconds / 3)
            if self._stopping.is_set():
                return
            try:
                await self._renew_leases()
            except Exception:
                log.exception("lease_renewal_failed")

    async def _renew_leases(self) -> None:
        items, messages = dict(self._held[Queue.WORK]), dict(self._held[Queue.DELIVERY])
        if not items and not messages:
            return
        until = utcnow() + dt.timedelta(seconds=self.lease_seconds)

        def renew(session: Session) -> None:
            for owner, ids in _by_owner(items).items():
                work_queue.renew_work_leases(session, owner, ids, until)
            for owner, ids in _by_owner(messages).items():
                outbox.renew_delivery_leases(session, owner, ids, until)

        await self.transactions.run(renew)

    async def _reap_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                released, depth, waiting = await self.transactions.run(_reap)
                self.metrics.queue_depth.set(depth)
                self.metrics.waiting_conversations.set(waiting)
                if released:
                    log.warning("expired_leases_released", extra={"count": released})
                    self.notify_work()
            except Exception:
                log.exception("reaper_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), REAP_INTERVAL_SECONDS)

    async def _release_item(self, item_id: int, worker_id: str, error: str) -> None:
        """Back to the queue; after ``MAX_ATTEMPTS`` crashes, failed (the message stays in the transcript)."""
        status = await self.transactions.run(
            lambda session: work_queue.release_work_item(session, item_id, worker_id, error, MAX_ATTEMPTS)
        )
        if status == WorkStatus.FAILED:
            self.metrics.work_failures.inc()
            log.error("work_item_given_up", extra={"item": item_id, "attempts": MAX_ATTEMPTS})

    async def _release_held(self) -> None:
        owners = f"{self.instance_id}/%"
        await self.transactions.run(lambda session: work_queue.release_held(session, owners))


def _reap(session: Session) -> tuple[int, int, int]:
    """Give back expired leases; then the queue's depth and how many conversations wait for an officer."""
    released = work_queue.release_expired_leases(session, utcnow())
    return released, queue_counts.count_pending_work(session), queue_counts.count_waiting(session)


def _by_owner(held: dict[int, str]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for item_id, owner in held.items():
        grouped.setdefault(owner, []).append(item_id)
    return grouped


async def resume_after_restart(transactions: Transactions, single_process: bool) -> int:
    """On the embedded database only one hub runs: whatever was in flight died with it."""
    if not single_process:
        return 0  # on PostgreSQL other hubs may hold leases: expiry hands their work over
    return await transactions.run(work_queue.release_held)
