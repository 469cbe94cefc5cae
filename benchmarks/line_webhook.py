"""LINE webhook latency at a steady rate: acknowledgement (signed POST -> 200) and event -> reply.

The script starts the fake LINE Messaging API on loopback and the hub as its own process
(``govchat serve``, configured by environment as in production, pointed at the fake), then
sends one signed text event every 1/rate seconds, each from a new citizen with a fresh reply
token and a Thai question. "Reply" is the moment the fake LINE API accepted the first answer
for that citizen (reply or push). Prints numbers; not a test.

    .venv/bin/python benchmarks/line_webhook.py [--rate 20] [--seconds 15]
        [--database-url postgresql+asyncpg://...]   # default: a fresh SQLite file
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from tests.fakes.line_api import BOT_USER_ID, FakeLineApi  # noqa: E402

SECRET = "benchmark-channel-secret"
QUESTIONS = (
    "จดทะเบียนบริษัทออนไลน์ได้ไหม",
    "ส่งงบการเงินออนไลน์ยังไง",
    "ขอหนังสือรับรองบริษัทออนไลน์",
    "จองชื่อบริษัทยังไงคะ",
    "สวัสดีครับ",
)


@dataclass
class Sent:
    user_id: str
    started: float  # wall clock, comparable with the fake's acceptance times
    acked: float | None = None
    status: int | None = None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def line_of(name: str, seconds: list[float]) -> str:
    if not seconds:
        return f"{name:<22} n=0"
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<22} n={len(ms):<5} p50={percentile(ms, 0.5):8.1f} ms  p99={percentile(ms, 0.99):8.1f} ms"
        f"  max={max(ms):8.1f} ms"
    )


def signed_event(fake: FakeLineApi, n: int) -> tuple[str, bytes, dict[str, str]]:
    user_id = f"Ubench{n:010d}{uuid.uuid4().hex[:16]}"
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": fake.issue_reply_token(user_id),
        "message": {
            "id": str(10**17 + n),
            "type": "text",
            "quoteToken": "q",
            "text": QUESTIONS[n % len(QUESTIONS)],
        },
    }
    body = json.dumps({"destination": BOT_USER_ID, "events": [event]}, ensure_ascii=False).encode("utf-8")
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return user_id, body, {"X-Line-Signature": signature, "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def hub_process(fake: FakeLineApi, database_url: str | None, workers: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="govchat-line-bench-") as tmp:
        yield from _serve(fake, database_url, workers, Path(tmp))


def _serve(fake: FakeLineApi, database_url: str | None, workers: int, var_dir: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": fake.access_token,
        "LINE_API_BASE_URL": fake.url,
        "LINE_DATA_API_BASE_URL": fake.data_url,
        "GOVCHAT_VAR_DIR": str(var_dir),
        "GOVCHAT_WORKERS": str(workers),
        "GOVCHAT_LOG_LEVEL": "WARNING",
        "GOVCHAT_ADMIN_PASSWORD": "benchmark-admin-password",
    }
    for inherited in ("RASA_URL", "REDIS_URL", "DATABASE_URL"):
        env.pop(inherited, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    log_path = var_dir / "hub.log"
    log_file = log_path.open("wb")
    hub = subprocess.Popen(
        [str(REPO_ROOT / ".venv" / "bin" / "govchat"), "serve", "--port", str(port)],
        cwd=var_dir,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if hub.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise RuntimeError(f"the hub did not start; the end of {log_path}:\n{tail}")
            time.sleep(0.2)
        yield url
    finally:
        hub.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            hub.wait(timeout=30)
        if hub.poll() is None:
            hub.kill()
        log_file.close()


async def drive(url: str, fake: FakeLineApi, rate: float, seconds: float) -> list[Sent]:
    sent: list[Sent] = []
    tasks: list[asyncio.Task[None]] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def post(n: int) -> None:
            user_id, body, headers = signed_event(fake, n)
            record = Sent(user_id, time.time())
            sent.append(record)
            response = await client.post("/webhooks/line", content=body, headers=headers)
            record.acked, record.status = time.time(), response.status_code

        start = time.monotonic()
        total = int(rate * seconds)
        for n in range(total):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))  # steady, not bursty
            tasks.append(asyncio.create_task(post(n)))
        await asyncio.gather(*tasks)
    return sent


def wait_for_replies(fake: FakeLineApi, sent: list[Sent], timeout: float) -> dict[str, float]:
    wanted = {s.user_id for s in sent if s.status == 200}
    deadline = time.monotonic() + timeout
    while True:
        first: dict[str, float] = {}
        for delivery in fake.deliveries():
            if delivery.chat_id in wanted and delivery.chat_id not in first:
                first[delivery.chat_id] = delivery.at
        if len(first) == len(wanted) or time.monotonic() > deadline:
            return first
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20.0, help="webhook requests per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to send")
    parser.add_argument("--workers", type=int, default=4, help="GOVCHAT_WORKERS of the hub")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with FakeLineApi() as fake, hub_process(fake, args.database_url, args.workers) as url:
        # One warm-up event so connection pools and caches are up before measuring.
        asyncio.run(drive(url, fake, rate=1, seconds=1))
        before = len(fake.deliveries())
        sent = asyncio.run(drive(url, fake, args.rate, args.seconds))
        replied = wait_for_replies(fake, sent, timeout=120)
        deliveries = fake.deliveries()[before:]
    acks = [s.acked - s.started for s in sent if s.acked is not None and s.status == 200]
    replies = [replied[s.user_id] - s.started for s in sent if s.user_id in replied]
    failed = [s.status for s in sent if s.status != 200]
    database = "PostgreSQL" if args.database_url and args.database_url.startswith("postgresql") else "SQLite"
    print(f"LINE webhook benchmark: {len(sent)} events at {args.rate:g}/s for {args.seconds:g} s")
    print(f"hub: govchat serve, {args.workers} workers, {database}, embedded NLU; fake LINE API on loopback")
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (numbers mean little when load >> CPUs)")
    print(line_of("webhook ack", acks))
    print(line_of("event -> reply", replies))
    vias = [d.via for d in deliveries]
    print(
        f"answers: {len(replied)}/{len(sent)}  via reply={vias.count('reply')} push={vias.count('push')}"
        f"  non-200 acks={len(failed)}"
    )
    return 0 if not failed and len(replied) == len(sent) else 1


if __name__ == "__main__":
    raise SystemExit(main())
