"""The peer side of ``benchmarks/load.py``: Rasa's own REST channel, at steady rates and closed-loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchmarks.load_sending import CpuMeter, InFlight, loop_factory, new_session, send_steadily
from benchmarks.load_steps import PEER, VAR_DIR, Message, Step, Workload, judge
from benchmarks.rasa_rest_peer import REST_PATH, RestPeer, build_peer_project, rest_body, train_peer
from nlu.rasa_env import ensure


async def peer_step(url: str, workload: Workload, rate: float, cpu: CpuMeter, args: Any) -> Step:
    planned = workload.plan(round(rate * args.seconds), rate)
    headers = {"Content-Type": "application/json"}
    target = f"{url}{REST_PATH}"
    step = Step(PEER, rate, [Message(u, target, rest_body(u, t), headers) for u, t in planned])
    in_flight = InFlight()
    async with new_session(args.pool, args.drain_timeout + args.seconds) as session:

        async def post(message: Message) -> None:
            with in_flight.one():
                message.lag = time.time() - message.scheduled
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                    async with session.post(message.target, data=message.body, headers=headers) as response:
                        answer = await response.json(content_type=None)
                        message.status = response.status
                        message.acked = time.time()
                        if response.status == 200 and answer:
                            message.answered = message.acked
                message.body = b""

        cpu.start()
        started = time.monotonic()
        await send_steadily(step.messages, rate, post)
        step.seconds = time.monotonic() - started
        step.cpu = cpu.stop()
    step.in_flight_max = in_flight.max
    judge(step, args.reply_bound, expect_rasa=False)
    return step


@dataclass
class ClosedLoop:
    senders: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds


async def peer_closed_loop(url: str, workload: Workload, senders: int, seconds: float) -> ClosedLoop:
    """``senders`` citizens' apps in parallel, each sending its next message once answered."""
    latencies: list[float] = []
    failures = 0
    stop_at = time.monotonic() + seconds
    headers = {"Content-Type": "application/json"}

    async def sender(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal failures
        rng = random.Random(index)
        users: list[str] = []
        while time.monotonic() < stop_at:
            if users and rng.random() < workload.returning:
                user = rng.choice(users)
            else:
                user = f"closed-{index}-{len(users)}"
                users.append(user)
            started = time.monotonic()
            try:
                async with session.post(
                    f"{url}{REST_PATH}", data=rest_body(user, workload.text(rng)), headers=headers
                ) as response:
                    ok = response.status == 200 and bool(await response.json(content_type=None))
            except (aiohttp.ClientError, TimeoutError, ValueError):
                ok = False
            if ok:
                latencies.append(time.monotonic() - started)
            else:
                failures += 1

    async with new_session(senders * 2, 120) as session:
        began = time.monotonic()
        await asyncio.gather(*(sender(i, session) for i in range(senders)))
        elapsed = time.monotonic() - began
    return ClosedLoop(senders, elapsed, latencies, failures)


def run_peer(
    workload: Workload, args: Any, report: Callable[[Step], None]
) -> tuple[list[Step], ClosedLoop | None]:
    env = ensure(quiet=True)
    project = build_peer_project(policies=args.peer_policies)
    model, trained = train_peer(project, env)
    print(f"[peer] model {'trained' if trained else 'cached'}: {model}", file=sys.stderr)
    steps: list[Step] = []
    closed = None
    with RestPeer(env, project, model, VAR_DIR / "logs" / "rasa-rest-peer.log") as peer:
        assert peer.process is not None
        cpu = CpuMeter({"rasa": [peer.process.pid], "gen": [os.getpid()]})
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            for rate in args.peer_rates:
                step = runner.run(peer_step(peer.url, workload, rate, cpu, args))
                steps.append(step)
                report(step)
                if not step.sustained and not args.keep_going:
                    break
                time.sleep(args.pause)
            if args.peer_concurrency:
                closed = runner.run(peer_closed_loop(peer.url, workload, args.peer_concurrency, args.seconds))
    return steps, closed
