"""Where a message's CPU goes inside the hub: intake, claim, handling, delivery, batch by batch.

Runs the hub in process (embedded NLU, web-chat channel, no HTTP) with its workers stopped and
drives one batch of messages at a time (``--batch``, default 1: one message, as at a low rate;
under load the workers' batches hold tens) through the same functions the workers call, so each stage's
CPU time (``time.process_time``: this process, the SQLite thread included) and wall time can be
measured on its own. The database server's own CPU (PostgreSQL) is not counted.

    .venv/bin/python benchmarks/hub_stages.py [--messages 400] [--batch 1] [--known-citizens N] [--database-url URL]

``--known-citizens`` first stores that many other citizens, each with a conversation, as a
service in use has: a fresh database hides statements that grow with the tables.

Without ``--database-url``: a fresh SQLite file. A PostgreSQL URL's database is dropped and
re-created first (default admin DSN: ``postgresql://postgres@127.0.0.1:5432/test``).
The floor under all of it (HTTP, signature, the LINE reply, no database) is
``benchmarks/load.py --configs bare-fastapi``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from app.conversations import chats, work_queue  # noqa: E402
from app.conversations.intake import queue_inbound  # noqa: E402
from app.db.schema import utcnow  # noqa: E402
from benchmarks.harness import hub_in_process, hub_settings  # noqa: E402
from benchmarks.load_hub import reset_postgres  # noqa: E402
from channels.base import Channel, InboundKind, InboundMessage  # noqa: E402

QUESTIONS = ("จดทะเบียนบริษัทออนไลน์ได้ไหม", "ยื่นงบการเงินออนไลน์ยังไง", "สวัสดีครับ", "ขอบคุณค่ะ", "จองชื่อบริษัทยังไง")
STAGES = ("intake", "claim", "handle", "deliver")
WARM_UP = 50
CITIZENS = 150  # so that most messages after the first rounds come from returning citizens


async def measure(
    database_url: str, var_dir: Path, messages: int, batch: int, known_citizens: int = 0
) -> dict[str, tuple[float, float]]:
    cpu = dict.fromkeys(STAGES, 0.0)
    wall = dict.fromkeys(STAGES, 0.0)
    async with hub_in_process(hub_settings(var_dir, database_url)) as app:
        services = app.state.services
        await services.workers.stop()  # this loop plays the worker, one batch at a time
        transactions = services.workers.transactions  # the units the hub's intake and workers run
        pipeline, deliverer = services.workers.pipeline, services.workers.deliverer
        for start in range(0, known_citizens, 1000):
            known = {
                (Channel.LINE.value, f"known-{n}") for n in range(start, min(start + 1000, known_citizens))
            }
            await transactions.run(lambda session: chats.conversation_ids_for(session, known))  # noqa: B023
        measured = 0
        for start in range(0, WARM_UP + messages, batch):
            events = [  # different citizens: a claim takes one item per conversation
                InboundMessage(
                    channel=Channel.WEBCHAT,
                    dedupe_key=f"stage-{n}",
                    user_id=f"citizen-{n % CITIZENS}",
                    kind=InboundKind.TEXT,
                    timestamp=utcnow(),
                    text=QUESTIONS[n % len(QUESTIONS)],
                )
                for n in range(start, start + batch)
            ]
            marks = [(time.process_time(), time.perf_counter())]
            await transactions.run_autocommit(lambda session: queue_inbound(session, events))  # noqa: B023
            marks.append((time.process_time(), time.perf_counter()))
            until = utcnow() + dt.timedelta(seconds=60)
            items = await transactions.run_autocommit(
                lambda session: work_queue.claim_work_items(session, "stages", batch, until)  # noqa: B023
            )
            marks.append((time.process_time(), time.perf_counter()))
            handled = await pipeline.handle_batch(items, "stages")
            marks.append((time.process_time(), time.perf_counter()))
            await deliverer.send_all([h.deliver_now for h in handled.values() if h and h.deliver_now])
            marks.append((time.process_time(), time.perf_counter()))
            if start >= WARM_UP:
                measured += len(events)
                for i, stage in enumerate(STAGES):
                    cpu[stage] += marks[i + 1][0] - marks[i][0]
                    wall[stage] += marks[i + 1][1] - marks[i][1]
    return {stage: (1000 * cpu[stage] / measured, 1000 * wall[stage] / measured) for stage in STAGES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--batch", type=int, default=1, help="messages stored, claimed and handled together")
    parser.add_argument("--known-citizens", type=int, default=0, help="other citizens stored first")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--postgres-admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="govchat-stages-") as scratch:
        url = args.database_url or f"sqlite+aiosqlite:///{scratch}/govchat.db"
        if url.startswith("postgresql"):
            asyncio.run(reset_postgres(args.postgres_admin_dsn, url.rsplit("/", 1)[1].split("?")[0]))
        results = asyncio.run(measure(url, Path(scratch), args.messages, args.batch, args.known_citizens))
    print(
        f"hub stages, {args.messages} messages in batches of {args.batch}, {url.split(':', 1)[0]},"
        f" {args.known_citizens} other citizens"
    )
    print(f"{'stage':8} | CPU ms/msg | wall ms/msg")
    for stage, (cpu_ms, wall_ms) in results.items():
        print(f"{stage:8} | {cpu_ms:10.2f} | {wall_ms:11.2f}")
    print(
        f"{'total':8} | {sum(c for c, _ in results.values()):10.2f} | {sum(w for _, w in results.values()):11.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
