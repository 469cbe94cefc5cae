"""BatchingCaller: concurrent single calls go out together, alone when nothing is in flight."""

from __future__ import annotations

import asyncio

import pytest

from nlu.batching import BatchingCaller


class Recorder:
    """A batch call that records its batches and answers only when the test releases it."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.called = asyncio.Event()
        self.release = asyncio.Event()
        self.error: Exception | None = None

    async def __call__(self, items: list[str]) -> list[str]:
        self.batches.append(items)
        self.called.set()
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return [item.upper() for item in items]


async def test_an_item_goes_alone_at_once_when_nothing_is_in_flight() -> None:
    call = Recorder()
    call.release.set()
    caller = BatchingCaller(call, max_in_flight=1)
    assert await caller.submit("a") == "A"
    assert call.batches == [["a"]]


async def test_items_that_arrive_while_a_call_is_in_flight_go_together_in_the_next() -> None:
    call = Recorder()
    caller = BatchingCaller(call, max_in_flight=1)
    first = asyncio.ensure_future(caller.submit("a"))
    await call.called.wait()
    rest = [asyncio.ensure_future(caller.submit(x)) for x in "bcd"]
    await asyncio.sleep(0)
    assert call.batches == [["a"]]  # b, c, d wait for the call in flight
    call.release.set()
    assert await first == "A"
    assert await asyncio.gather(*rest) == ["B", "C", "D"]
    assert call.batches == [["a"], ["b", "c", "d"]]


async def test_a_batch_is_never_larger_than_max_batch() -> None:
    call = Recorder()
    caller = BatchingCaller(call, max_batch=2, max_in_flight=1)
    first = asyncio.ensure_future(caller.submit("a"))
    await call.called.wait()
    rest = [asyncio.ensure_future(caller.submit(x)) for x in "bcde"]
    call.release.set()
    await asyncio.gather(first, *rest)
    assert call.batches == [["a"], ["b", "c"], ["d", "e"]]


async def test_every_item_of_a_failed_batch_gets_the_error() -> None:
    call = Recorder()
    call.error = RuntimeError("rasa down")
    call.release.set()
    caller = BatchingCaller(call, max_in_flight=1)
    results = await asyncio.gather(*(caller.submit(x) for x in "ab"), return_exceptions=True)
    assert [str(r) for r in results] == ["rasa down", "rasa down"]
    assert caller.in_flight == 0


async def test_a_cancelled_caller_does_not_hold_up_the_others() -> None:
    call = Recorder()
    caller = BatchingCaller(call, max_in_flight=1)
    first = asyncio.ensure_future(caller.submit("a"))
    await call.called.wait()
    gone = asyncio.ensure_future(caller.submit("b"))
    kept = asyncio.ensure_future(caller.submit("c"))
    await asyncio.sleep(0)
    gone.cancel()
    call.release.set()
    assert await first == "A" and await kept == "C"
    assert call.batches == [["a"], ["c"]]
    with pytest.raises(asyncio.CancelledError):
        await gone


def test_limits_below_one_are_refused() -> None:
    with pytest.raises(ValueError):
        BatchingCaller(Recorder(), max_batch=0)
