"""Background work that leaves the event loop free for webhooks between its steps.

The hub answers webhooks and runs its workers on one event loop. The loop runs every step
that is ready before it looks for new requests, so a batch's steps started together (NLU for
each message, building each send) run back to back, and a webhook that arrives meanwhile
waits for all of them. Started one per loop turn, it waits for one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def gather_one_per_turn(awaitables: Iterable[Awaitable[T]]) -> list[T | BaseException]:
    """``asyncio.gather(*awaitables, return_exceptions=True)``, starting one awaitable per loop turn.

    They still run concurrently (a Rasa call or a send in flight does not hold up the next);
    only their first steps are spread out.
    """
    started: list[asyncio.Future[T]] = []
    pending = iter(awaitables)
    try:
        for awaitable in pending:
            started.append(asyncio.ensure_future(awaitable))
            await asyncio.sleep(0)  # its first step runs in the next turn, after requests read meanwhile
    except BaseException:  # cancelled while starting: nothing may be left running or unawaited
        for future in started:
            future.cancel()
        for awaitable in pending:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
        raise
    return await asyncio.gather(*started, return_exceptions=True)
