"""``gather_one_per_turn``: a batch's steps start in separate event-loop turns, with gather's results."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from app.conversations.pacing import gather_one_per_turn


class _TurnCounter:
    """Counts event-loop turns: a callback that schedules itself again runs once per turn."""

    def __init__(self) -> None:
        self.turn = 0
        self._handle: asyncio.Handle | None = None

    def start(self) -> None:
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.turn += 1
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


async def test_each_awaitable_starts_in_a_turn_of_its_own() -> None:
    counter = _TurnCounter()
    started_in: list[int] = []

    async def step(n: int) -> int:
        started_in.append(counter.turn)
        await asyncio.sleep(0)
        return n * 10

    counter.start()
    try:
        results = await gather_one_per_turn(step(n) for n in range(5))
    finally:
        counter.stop()

    assert results == [0, 10, 20, 30, 40]
    assert len(set(started_in)) == 5  # asyncio.gather would start all five in one turn
    assert started_in == sorted(started_in)


async def test_they_still_run_concurrently() -> None:
    release = asyncio.Event()
    waiting: list[int] = []

    async def step(n: int) -> int:
        waiting.append(n)
        if len(waiting) == 3:
            release.set()
        await release.wait()  # only returns once all three have started
        return n

    assert await asyncio.wait_for(gather_one_per_turn(step(n) for n in range(3)), timeout=5) == [0, 1, 2]


async def test_exceptions_are_returned_in_place() -> None:
    async def step(n: int) -> int:
        if n == 1:
            raise ValueError("the second fails")
        return n

    results = await gather_one_per_turn(step(n) for n in range(3))

    assert results[0] == 0 and results[2] == 2
    assert isinstance(results[1], ValueError)


async def test_cancelled_while_starting_leaves_nothing_running_or_unawaited() -> None:
    finished: list[int] = []
    cancelled: list[int] = []

    async def step(n: int) -> None:
        try:
            await asyncio.sleep(60)
            finished.append(n)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise

    steps: list[Coroutine[Any, Any, None]] = [step(n) for n in range(50)]
    gathering = asyncio.create_task(gather_one_per_turn(iter(steps)))
    for _ in range(3):
        await asyncio.sleep(0)
    gathering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gathering
    await asyncio.sleep(0)  # the cancelled steps run their handlers

    assert finished == []
    assert cancelled and len(cancelled) < 50  # cancelled part-way through starting
    never_started = steps[len(cancelled) :]
    assert all(s.cr_frame is None for s in never_started)  # closed: no "never awaited" warning
