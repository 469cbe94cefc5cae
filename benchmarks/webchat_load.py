"""Web-chat load: N concurrent sessions against a running hub; message->reply latency and throughput.

Each session opens its WebSocket, then sends M questions one after another, each as soon as the
previous reply arrived (as a citizen would). Latency is from the POST to the bot's reply on the
WebSocket. Prints numbers; not a test.

    .venv/bin/python benchmarks/webchat_load.py --url http://127.0.0.1:8000 --sessions 20 --messages 5
    .venv/bin/python benchmarks/webchat_load.py --start-hub --sessions 20   # starts its own hub (SQLite)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import websockets

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.harness import HubProcess  # noqa: E402

QUESTIONS = [
    "จดทะเบียนบริษัทออนไลน์ได้ไหม",
    "ยื่นงบการเงินออนไลน์ยังไงครับ",
    "ขอหนังสือรับรองบริษัทออนไลน์",
    "จองชื่อบริษัทหมดอายุกี่วัน",
    "สวัสดีค่ะ",
]


async def citizen(http: httpx.AsyncClient, url: str, messages: int, latencies: list[float]) -> None:
    session = (await http.post(f"{url}/api/webchat/sessions")).json()
    sid, token = session["session_id"], session["token"]
    ws_url = url.replace("http", "ws", 1) + f"/api/webchat/sessions/{sid}/ws?token={token}"
    async with websockets.connect(ws_url) as socket:
        for n in range(messages):
            started = time.perf_counter()
            await http.post(
                f"{url}/api/webchat/sessions/{sid}/messages",
                json={"text": QUESTIONS[n % len(QUESTIONS)], "client_message_id": uuid.uuid4().hex},
                headers={"Authorization": f"Bearer {token}"},
            )
            while True:
                event = json.loads(await asyncio.wait_for(socket.recv(), timeout=60))
                if event["message"]["sender"] == "bot":
                    latencies.append(time.perf_counter() - started)
                    break


async def run(url: str, sessions: int, messages: int) -> None:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=sessions * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(citizen(http, url, messages, latencies) for _ in range(sessions)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"web chat: {sessions} sessions x {messages} messages, {len(latencies)} replies in {elapsed:.1f} s")
    print(f"message->reply p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(f"throughput {len(latencies) / elapsed:.1f} answered messages/s, os.cpu_count()={os.cpu_count()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--start-hub", action="store_true")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.url
        if args.start_hub:
            var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="govchat-bench-")))
            database_url = f"sqlite+aiosqlite:///{var_dir / 'govchat.db'}"
            fast_polling = {"GOVCHAT_POLL_INTERVAL": "0.1"}
            hub = HubProcess(
                database_url=database_url, var_dir=var_dir, extra_env=fast_polling, port=args.port
            )
            url = stack.enter_context(hub).url
        asyncio.run(run(url, args.sessions, args.messages))


if __name__ == "__main__":
    main()
