"""``listen_forever``: events reach the handler, a failed subscription is tried again, cancelling stops it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.events import InProcessBus, listen_forever

RETRY = 0.01


class _FailingBus:
    """An in-process bus whose first ``failures`` subscriptions fail, as with Redis unreachable."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0
        self.inner = InProcessBus()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        await self.inner.publish(topic, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("redis unreachable")
        async with self.inner.subscribe(topic) as events:
            yield events

    async def aclose(self) -> None:
        return None


class _Listener:
    """What ``listen_forever`` handed over, with an event set at each call; ``fail_on`` raises for that event."""

    def __init__(self, bus: _FailingBus, fail_on: dict[str, Any] | None = None) -> None:
        self.bus = bus
        self.fail_on = fail_on
        self.heard: list[dict[str, Any]] = []
        self.resumed: list[int] = []  # the subscription attempt each resumption came with
        self.listening = asyncio.Event()
        self.got_event = asyncio.Event()
        self.got_resumed = asyncio.Event()

    async def on_event(self, event: dict[str, Any]) -> None:
        if event == self.fail_on:
            raise RuntimeError("lost while listening")
        self.heard.append(event)
        self.got_event.set()

    async def on_resumed(self) -> None:
        self.resumed.append(self.bus.attempts)
        self.got_resumed.set()

    def start(self, retry_seconds: float = RETRY) -> asyncio.Task[None]:
        return asyncio.create_task(
            listen_forever(
                self.bus,
                "t",
                self.on_event,
                listening=self.listening,
                on_resumed=self.on_resumed,
                retry_seconds=retry_seconds,
            )
        )


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class TestListenForever:
    async def test_events_on_the_topic_reach_the_handler(self) -> None:
        listener = _Listener(_FailingBus(failures=0))
        task = listener.start()
        await listener.listening.wait()
        await listener.bus.publish("other", {"n": 0})
        await listener.bus.publish("t", {"n": 1})
        await asyncio.wait_for(listener.got_event.wait(), 2)
        await _stop(task)
        assert listener.heard == [{"n": 1}]
        assert listener.resumed == []  # nothing was missed

    async def test_after_a_failed_subscription_it_listens_again_and_catches_up(self) -> None:
        listener = _Listener(_FailingBus(failures=2))
        task = listener.start()
        await listener.listening.wait()  # set at the first failure: a start is not held by the outage
        assert listener.bus.attempts == 1
        await asyncio.wait_for(listener.got_resumed.wait(), 2)
        await listener.bus.publish("t", {"n": 1})
        await asyncio.wait_for(listener.got_event.wait(), 2)
        await _stop(task)
        assert listener.resumed == [3]  # once, when the third attempt subscribed
        assert listener.heard == [{"n": 1}]

    async def test_a_failing_handler_counts_as_a_failure_and_listening_resumes(self) -> None:
        listener = _Listener(_FailingBus(failures=0), fail_on={"n": 1})
        task = listener.start()
        await listener.listening.wait()
        await listener.bus.publish("t", {"n": 1})
        await asyncio.wait_for(listener.got_resumed.wait(), 2)
        await listener.bus.publish("t", {"n": 2})
        await asyncio.wait_for(listener.got_event.wait(), 2)
        await _stop(task)
        assert listener.resumed == [2]
        assert listener.heard == [{"n": 2}]

    async def test_cancelling_stops_it_and_ends_the_subscription(self) -> None:
        listener = _Listener(_FailingBus(failures=0))
        task = listener.start()
        await listener.listening.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert listener.bus.inner._fanout.topics() == []
        assert listener.bus.attempts == 1

    async def test_cancelling_during_the_pause_after_a_failure_stops_it(self) -> None:
        listener = _Listener(_FailingBus(failures=100))
        task = listener.start(retry_seconds=60)
        await listener.listening.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert listener.bus.attempts == 1
