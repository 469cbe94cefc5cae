"""Events between hub processes: officer-console updates and web-chat pushes.

In-process by default; through Redis pub/sub when ``REDIS_URL`` is set, so a subscriber on
any hub process sees what any other process published. Events are notifications only: the
database stays the truth, and a subscriber that missed one catches up by reading it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
LISTEN_RETRY_SECONDS = 5.0  # a subscription lost with Redis is tried again this often


class EventBus(Protocol):
    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...

    def subscribe(
        self, topic: str
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]: ...

    async def aclose(self) -> None: ...


class _Fanout:
    """Local subscribers per topic, each with its own bounded queue."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def deliver(self, topic: str, event: dict[str, Any]) -> None:
        for queue in list(self._queues.get(topic, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stuck subscriber catches up from the database
                log.warning("event_dropped_for_slow_subscriber", extra={"topic": topic})

    @contextlib.asynccontextmanager
    async def subscription(self, topic: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._queues[topic].add(queue)
        try:
            yield queue
        finally:
            self._queues[topic].discard(queue)
            if not self._queues[topic]:
                del self._queues[topic]

    def topics(self) -> list[str]:
        return list(self._queues)


async def _drain(queue: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await queue.get()


class InProcessBus:
    def __init__(self) -> None:
        self._fanout = _Fanout()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        self._fanout.deliver(topic, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        async with self._fanout.subscription(topic) as queue:
            yield _drain(queue)

    async def aclose(self) -> None:
        return None


class RedisBus:
    """One Redis pub/sub connection per process, fanned out to local subscribers."""

    PREFIX = "govchat:"

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis
        from redis.exceptions import RedisError

        self._unavailable: tuple[type[Exception], ...] = (RedisError, OSError)
        self._publish_failing = False  # log an outage once, not once per event
        # Bounded waits: an unreachable Redis must not hold a request or a worker.
        self._redis = redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._pubsub = self._redis.pubsub()
        self._fanout = _Fanout()
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Never fails the caller: what was published is already in the database."""
        try:
            await self._redis.publish(self.PREFIX + topic, json.dumps(event, ensure_ascii=False))
        except self._unavailable as error:
            if not self._publish_failing:
                log.warning("redis_publish_failing", extra={"error": type(error).__name__})
                self._publish_failing = True
            # Subscribers in this process still hear it; the others catch up from the database.
            self._fanout.deliver(topic, event)
            return
        if self._publish_failing:
            log.info("redis_publish_recovered")
            self._publish_failing = False

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        async with self._fanout.subscription(topic) as queue:
            async with self._lock:
                await self._pubsub.subscribe(self.PREFIX + topic)
                if self._reader is None:
                    self._reader = asyncio.create_task(self._read())
            try:
                yield _drain(queue)
            finally:
                if topic not in self._fanout.topics():
                    async with self._lock:
                        await self._pubsub.unsubscribe(self.PREFIX + topic)

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis restarted: keep reading; the database is the truth
                log.exception("redis_bus_read_failed")
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            topic = message["channel"].decode()[len(self.PREFIX) :]
            self._fanout.deliver(topic, json.loads(message["data"]))

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()
        await self._redis.aclose()


def create_event_bus(redis_url: str | None) -> EventBus:
    return RedisBus(redis_url) if redis_url else InProcessBus()


async def listen_forever(
    bus: EventBus,
    topic: str,
    on_event: Callable[[dict[str, Any]], Awaitable[object]],
    *,
    listening: asyncio.Event | None = None,
    on_resumed: Callable[[], Awaitable[object]] | None = None,
    retry_seconds: float = LISTEN_RETRY_SECONDS,
) -> None:
    """Hand each event on ``topic`` to ``on_event`` until cancelled, subscribing again
    ``retry_seconds`` after the bus fails (Redis unreachable at start, or lost later).

    ``listening`` is set once subscribed, or at the first failure, so that a start waiting
    for it is not held by an unreachable Redis. ``on_resumed`` runs when a subscription is
    back after a failure: what was published meanwhile was not heard. An exception from
    ``on_event`` or ``on_resumed`` counts as a failure too.
    """
    failing = False
    while True:
        try:
            async with bus.subscribe(topic) as events:
                if listening is not None:
                    listening.set()
                if failing and on_resumed is not None:
                    await on_resumed()
                failing = False
                async for event in events:
                    await on_event(event)
        except Exception as error:  # cancelling is not an Exception: it stops the loop
            if not failing:  # once per outage, not once per retry
                log.warning("event_listen_failed", extra={"topic": topic, "error": type(error).__name__})
            failing = True
            if listening is not None:
                listening.set()
            await asyncio.sleep(retry_seconds)
