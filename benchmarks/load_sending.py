"""How ``benchmarks/load.py`` sends: open loop at a steady rate, over one aiohttp pool, on uvloop;
and what sending costs: ``CpuMeter`` reads the CPU time of named processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.load_steps import Message


class CpuMeter:
    """CPU seconds of named processes (Linux ``/proc``) between ``start`` and ``stop``."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids
        self._before: dict[str, float] = {}
        self._started = 0.0

    @staticmethod
    def seconds(pid: int) -> float:
        if pid == os.getpid():
            return time.process_time()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _read(self) -> dict[str, float]:
        return {name: sum(map(self.seconds, pids)) for name, pids in self.pids.items()}

    def start(self) -> None:
        self._before, self._started = self._read(), time.monotonic()

    def stop(self) -> dict[str, float]:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        return {name: 100 * (v - self._before[name]) / elapsed for name, v in self._read().items()}


async def send_steadily(
    messages: Sequence[Message], rate: float, send: Callable[[Message], Coroutine[Any, Any, None]]
) -> None:
    """Start ``send`` for message n at start + n/rate (open loop: never waits for answers)."""
    loop = asyncio.get_running_loop()
    start_mono = loop.time() + 0.05
    start_wall = time.time() + (start_mono - loop.time())
    tasks: set[asyncio.Task[None]] = set()
    n = 0
    while n < len(messages):
        due = start_mono + n / rate
        now = loop.time()
        if due > now:
            await asyncio.sleep(due - now)
            continue
        while n < len(messages) and start_mono + n / rate <= now:
            message = messages[n]
            message.scheduled = start_wall + n / rate
            task = asyncio.create_task(send(message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
    if tasks:
        await asyncio.gather(*tasks)


class InFlight:
    def __init__(self) -> None:
        self.now = self.max = 0

    @contextlib.contextmanager
    def one(self) -> Iterator[None]:
        self.now += 1
        self.max = max(self.max, self.now)
        try:
            yield
        finally:
            self.now -= 1


def new_session(pool: int, timeout: float) -> aiohttp.ClientSession:
    # keep-alive shorter than uvicorn's 5 s, so the client never reuses a connection the server closes
    connector = aiohttp.TCPConnector(limit=pool, limit_per_host=0, keepalive_timeout=4)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout))


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop
