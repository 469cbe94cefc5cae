"""Concurrent single calls sent as batch calls: ``BatchingCaller``.

``submit(item)`` returns the result for one item; the items of concurrent ``submit`` calls go to
``call(items)`` together. At most ``max_in_flight`` batch calls run at a time, and each takes every
item waiting (up to ``max_batch``). So with nothing in flight an item goes at once, alone: no timer,
no added latency when the hub is quiet. Under load, the items that arrive while calls are in flight
wait for one to finish and go together: the batches grow with the load, by themselves.

The hub's workers parse a batch's messages concurrently (``app.conversations.pacing``), so the Rasa
client (``nlu.rasa_http``) parses them in a few requests instead of one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class BatchingCaller(Generic[T, R]):
    """Coalesces concurrent ``submit`` calls into calls of ``call`` (see module doc)."""

    def __init__(
        self,
        call: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_batch: int = 64,
        max_in_flight: int = 2,
    ) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be at least 1")
        self._call = call
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def submit(self, item: T) -> R:
        """The result of ``call`` for ``item``; ``call``'s exception if its batch failed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._start_calls()
        return await future  # a cancelled caller's future is skipped or its result dropped

    def _start_calls(self) -> None:
        while self._in_flight < self._max_in_flight:
            self._waiting = [(item, future) for item, future in self._waiting if not future.done()]
            if not self._waiting:
                return
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._call([item for item, _ in batch])
            if len(results) != len(batch):
                raise ValueError(f"{len(results)} results for {len(batch)} items")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # every item of the batch gets the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
        finally:
            self._in_flight -= 1
            self._start_calls()

    async def aclose(self) -> None:
        """Waits for the calls in flight (their callers get their results)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
