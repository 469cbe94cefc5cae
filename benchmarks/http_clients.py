"""What one outbound HTTP call costs the hub's process: httpx against aiohttp, on loopback.

The hub calls Rasa (``/model/parse``) and the platforms' APIs many at a time. This starts a
small JSON server in a child process (uvicorn, answering like ``/model/parse``), warms each
client up, then sends ``--calls`` POSTs with ``--concurrency`` in flight and prints the client
process's CPU time per call (``time.process_time``) and the wall time. Only the client's CPU is
what the hub pays; the server's is not counted.

    .venv/bin/python benchmarks/http_clients.py [--calls 3000] [--concurrency 16] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
import uvloop

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from nlu.rasa_runner import free_port  # noqa: E402

ANSWER = {"text": "", "intent": {"name": "faq", "confidence": 0.9}, "intent_ranking": [{"name": "faq"}] * 10}
SERVER = f"""
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def parse(request):
    await request.body()
    return JSONResponse({ANSWER!r})

app = Starlette(routes=[Route("/model/parse", parse, methods=["POST"])])
"""


async def measure(
    call: Callable[[int], Awaitable[None]], calls: int, concurrency: int
) -> tuple[float, float]:
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with limit:
            await call(i)

    await asyncio.gather(*(one(i) for i in range(200)))  # warm the pool
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(calls)))
    return (time.process_time() - cpu) / calls * 1000, time.perf_counter() - wall


async def with_httpx(url: str, calls: int, concurrency: int) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
    async with httpx.AsyncClient(limits=limits) as client:

        async def call(i: int) -> None:
            (await client.post(url, json={"text": f"สวัสดี {i}"})).json()

        return await measure(call, calls, concurrency)


async def with_aiohttp(url: str, calls: int, concurrency: int) -> tuple[float, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:

        async def call(i: int) -> None:
            body = json.dumps({"text": f"สวัสดี {i}"}, ensure_ascii=False).encode()
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as answer:
                json.loads(await answer.read())

        return await measure(call, calls, concurrency)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    port = free_port()
    command = [
        sys.executable,
        "-c",
        SERVER + f"\nimport uvicorn\nuvicorn.run(app, port={port}, log_level='warning')",
    ]
    server = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/model/parse"
        print(f"{args.calls} POSTs, {args.concurrency} at a time, to a loopback JSON server")
        print("client  | CPU ms/call | wall s")
        for _ in range(args.rounds):
            for name, run in (("httpx", with_httpx), ("aiohttp", with_aiohttp)):
                cpu, wall = uvloop.run(run(url, args.calls, args.concurrency))
                print(f"{name:<7} | {cpu:11.3f} | {wall:6.2f}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
