"""The hub side of ``benchmarks/load.py``: start the hub processes of a system and drive them.

``HubDriver`` sends one step of signed LINE webhooks round-robin to the hubs and matches the
answers the fake LINE API accepted; ``run_hub_system`` runs a system's ladder of rates.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from benchmarks.harness import HubProcess
from benchmarks.line_webhook import Answer, FakeLine, signed_text_event
from benchmarks.load_sending import CpuMeter, InFlight, loop_factory, new_session, send_steadily
from benchmarks.load_steps import VAR_DIR, Message, Step, Workload, judge
from knowledge_base.conversation import load_responses
from nlu.rasa_runner import RasaServer
from tests.fakes.line.api import BOT_USER_ID

POLL_S = 0.25
BARE = "bare-fastapi"  # benchmarks/bare_line_app.py: the floor under the hub
WARM_UP_RATE, WARM_UP_S = 10.0, 3.0
HANDOVER_RESPONSES = (
    "escalated",
    "escalated_after_hours",
    "complaint_escalated",
    "complaint_ask_description",
    "complaint_ask_number",
    "expired_answer",
)


def handover_markers() -> list[str]:
    texts = load_responses().model_dump()
    return [str(texts[name]).split("{")[0][:40] for name in HANDOVER_RESPONSES]


_SAMPLE = re.compile(r"^(govchat_[a-z_]+)(?:\{([^}]*)\})? ([0-9.e+-]+)$", re.MULTILINE)


async def hub_metrics(session: aiohttp.ClientSession, urls: Sequence[str]) -> dict[str, float]:
    """Summed samples of the hubs' ``/metrics`` (``name{labels}`` -> value)."""
    totals: dict[str, float] = {}
    for url in urls:
        async with session.get(f"{url}/metrics") as response:
            text = await response.text()
        for name, labels, value in _SAMPLE.findall(text):
            key = f"{name}{{{labels}}}" if labels else name
            totals[key] = totals.get(key, 0.0) + float(value)
    return totals


def engine_counts(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    counts = {}
    for key, value in after.items():
        found = re.match(r'govchat_nlu_latency_seconds_count\{engine="([^"]+)"\}', key)
        if found:
            counts[found.group(1)] = value - before.get(key, 0.0)
    return counts


class HubDriver:
    """Sends one step of signed webhooks to the hubs and matches the fake LINE API's answers."""

    def __init__(
        self,
        system: str,
        hubs: Sequence[HubProcess],
        fake: FakeLine,
        workload: Workload,
        args: Any,
    ):
        self.system, self.fake, self.workload, self.args = system, fake, workload, args
        self.targets = [h.url for h in hubs if h.takes_webhooks]
        self.all_hubs = [h.url for h in hubs]  # their metrics: worker processes included
        self.serial = 0
        self.by_token: dict[str, Message] = {}
        self.pending: dict[str, deque[Message]] = {}  # per citizen, for pushes (no token)

    def build(self, rate: float, seconds: float) -> list[Message]:
        planned = self.workload.plan(round(rate * seconds), rate)
        ttl = seconds + self.args.drain_timeout + 120
        tokens = self.fake.issue_reply_tokens([user for user, _ in planned], ttl)
        messages = []
        now_ms = int(time.time() * 1000)
        for n, ((user, text), token) in enumerate(zip(planned, tokens, strict=True)):
            self.serial += 1
            body, signature = signed_text_event(
                user, text, token, self.serial, now_ms + int(n * 1000 / rate), BOT_USER_ID
            )
            headers = {"X-Line-Signature": signature, "Content-Type": "application/json"}
            target = f"{self.targets[n % len(self.targets)]}/webhooks/line"
            message = Message(user, target, body, headers, token)
            messages.append(message)
            self.by_token[token] = message
            self.pending.setdefault(user, deque()).append(message)
        return messages

    def take_answers(self, answers: Sequence[Answer], step: Step) -> None:
        for answer in answers:
            message: Message | None = None
            if answer.via == "reply":
                message = self.by_token.pop(answer.key, None)
            else:
                queue = self.pending.get(answer.key, deque())
                while queue and queue[0].answered is not None:
                    queue.popleft()
                message = queue[0] if queue else None
            if message is None or message.answered is not None:
                step.extra_answers += 1
                continue
            message.answered = answer.at
            if answer.handed_over:
                self.workload.retire(message.user)

    async def run(self, rate: float, seconds: float, cpu: CpuMeter, expect_rasa: bool) -> Step:
        step = Step(self.system, rate, await asyncio.to_thread(self.build, rate, seconds))
        in_flight = InFlight()
        async with new_session(self.args.pool, self.args.request_timeout) as session:

            async def post(message: Message) -> None:
                with in_flight.one():
                    message.lag = time.time() - message.scheduled
                    try:
                        async with session.post(
                            message.target, data=message.body, headers=message.headers
                        ) as response:
                            await response.read()
                            message.status = response.status
                    except (aiohttp.ClientError, TimeoutError):
                        message.status = 0
                    message.acked = time.time()
                    message.body, message.headers = b"", {}  # a long run keeps every message

            before = await hub_metrics(session, self.all_hubs)
            cpu.start()
            done = asyncio.Event()
            poller = asyncio.create_task(self._poll(step, done))
            started = time.monotonic()
            await send_steadily(step.messages, rate, post)
            step.seconds = time.monotonic() - started
            drain_started = time.monotonic()
            await self._drain(step)
            step.drained = time.monotonic() - drain_started
            step.cpu = cpu.stop()  # sending and draining: all the work this step caused
            done.set()
            await poller
            after = await hub_metrics(session, self.all_hubs)
            step.engines = engine_counts(before, after)
            step.hub_sent = sum(
                value - before.get(key, 0.0)
                for key, value in after.items()
                if key.startswith("govchat_messages_out_total")
            )
        step.in_flight_max = in_flight.max
        judge(step, self.args.reply_bound, expect_rasa)
        return step

    async def _poll(self, step: Step, done: asyncio.Event) -> None:
        while not done.is_set():
            self.take_answers(await asyncio.to_thread(self.fake.answers), step)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), POLL_S)
        self.take_answers(await asyncio.to_thread(self.fake.answers), step)

    async def _drain(self, step: Step) -> None:
        deadline = time.monotonic() + self.args.drain_timeout
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            expected = sum(m.status == 200 for m in step.messages)
            answered = step.answered
            if answered >= expected:
                return
            if answered != last:
                last, last_change = answered, time.monotonic()
            elif time.monotonic() - last_change > self.args.drain_idle:
                return
            await asyncio.sleep(POLL_S)


async def reset_postgres(admin_dsn: str, database: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


@contextlib.contextmanager
def started_hubs(system: str, fake: FakeLine, rasa_url: str | None, args: Any) -> Iterator[list[HubProcess]]:
    """The hub processes of ``system`` on a fresh database, stopped on the way out."""
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="govchat-load-")))
        log = VAR_DIR / "logs" / f"{system}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_bytes(b"")
        common: dict[str, Any] = {
            "fake": fake,
            "var_dir": VAR_DIR,
            "log_file": log,
            "rasa_url": rasa_url,
            "workers": args.workers,
            "extra_env": dict(args.hub_env),
        }
        if system == BARE:
            hubs = [HubProcess(database_url="", bare=True, **common)]
        elif system.startswith("sqlite"):
            url = f"sqlite+aiosqlite:///{scratch / 'govchat.db'}"
            hubs = [HubProcess(database_url=url, **common)]
        else:
            database = args.database_url.rsplit("/", 1)[1].split("?")[0]
            asyncio.run(reset_postgres(args.postgres_admin_dsn, database))
            shared = {"database_url": args.database_url, "redis_url": args.redis_url}
            if system.startswith("pg-split"):
                # the workers first: the first process migrates, and the web ones need it there
                hubs = [
                    HubProcess(**shared, **common, nice=args.worker_nice, takes_webhooks=False)
                    for _ in range(args.worker_processes)
                ]
                web = {**common, "workers": 0}
                hubs += [HubProcess(**shared, **web) for _ in range(args.pg_processes)]
            else:
                hubs = [HubProcess(**shared, **common) for _ in range(args.pg_processes)]
        for hub in hubs:  # one after the other: the first one migrates the database
            stack.enter_context(hub)
        yield hubs


def run_hub_system(
    system: str, workload: Workload, rasa: RasaServer | None, args: Any, report: Callable[[Step], None]
) -> list[Step]:
    steps: list[Step] = []
    with (
        FakeLine(handover_markers()) as fake,
        started_hubs(system, fake, rasa.url if rasa else None, args) as hubs,
    ):
        pids = {"hub": [h.process.pid for h in hubs if h.process], "fake": [fake.pid]}
        if rasa is not None and rasa.process is not None:
            pids["rasa"] = [rasa.process.pid]
        pids["gen"] = [os.getpid()]
        driver = HubDriver(system, hubs, fake, workload, args)
        cpu = CpuMeter(pids)
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            # connection pools, caches, the first parses; also the first returning citizens
            warm = runner.run(driver.run(WARM_UP_RATE, WARM_UP_S, cpu, expect_rasa=False))
            if warm.lost:
                print(f"[{system}] warm-up: {warm.lost} of {len(warm.messages)} unanswered", file=sys.stderr)
            for rate in args.rates:
                step = runner.run(driver.run(rate, args.seconds, cpu, expect_rasa=rasa is not None))
                steps.append(step)
                report(step)
                if not step.sustained and not args.keep_going:
                    break
                time.sleep(args.pause)
    return steps
