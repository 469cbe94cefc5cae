"""Load benchmark: signed LINE webhooks at rising steady rates, and Rasa's own REST channel as the peer.

Systems (``--configs``), each started fresh with the fake LINE API on loopback:

* ``sqlite-embedded``, ``sqlite-rasa``: one ``govchat serve`` on a fresh SQLite file;
* ``pg-embedded``, ``pg-rasa``: ``--pg-processes`` (2) ``govchat serve`` on a fresh PostgreSQL
  database and Redis, separate ports; webhooks go round-robin to them, as a load balancer would;
* ``pg-split-embedded``, ``pg-split-rasa``: as ``pg-*``, but the ``--pg-processes`` hubs that take
  the webhooks run no workers (``GOVCHAT_WORKERS=0``), and ``--worker-processes`` (2) more
  ``govchat serve`` run the workers under ``nice -n --worker-nice`` (10): README, "Web and
  worker processes";
* ``-rasa``: ``RASA_URL`` points at ``rasa run --enable-api`` on the model ``govchat nlu train``
  trains (``nlu/rasa_runner.py``); ``-embedded``: no ``RASA_URL``;
* ``bare-fastapi`` (only when asked for): ``benchmarks/bare_line_app.py``, a FastAPI app that
  only checks the signature and replies through line-bot-sdk (no database, no NLU): the floor
  under the hub on the same stack;
* the peer (unless ``--skip-peer``): ``rasa run`` with its REST channel on a model trained from the
  same data with a dialogue part (``benchmarks/rasa_rest_peer.py``; ``--peer-policies``: Rasa's
  default policies, as a project made by ``rasa init`` has, or ``RulePolicy`` alone), each message
  ``POST /webhooks/rest/webhook``; driven at steady rates and by ``--peer-concurrency`` closed-loop
  senders (how the issue's reference figure was measured).

Each step sends ``rate`` messages per second for ``--seconds`` from one asyncio client (uvloop,
aiohttp pool, bodies built and signed before the step) and waits for the answers. A system's
ladder stops at its first step that is not sustained (``--keep-going``: run every rate). Before
the first step, 3 s at 10/s warm the pools and caches and make the first returning citizens.
Hub logs: ``var/bench-load/logs/``. The ``--database-url`` database is dropped and re-created
for each ``pg-*`` system; every child process (hubs, Rasa, the fake) is stopped on exit, Ctrl-C
or SIGTERM.

* ack: signed POST -> 200, from the instant the message was *scheduled* (so a late generator
  cannot hide a slow hub); reply: scheduled -> the fake LINE API accepted the answer (reply or
  push); for the peer, scheduled -> its HTTP answer.
* lost: not acknowledged with 200, or never answered (no new answer for ``--drain-idle`` s, or
  ``--drain-timeout`` s after the step).
* sustained: nothing lost; reply p99 <= ``--reply-bound`` (5 s); no growing backlog (reply p50
  of the step's last fifth <= p50 of the rest + 1 s); with Rasa, no message answered by the embedded
  engine because Rasa failed (``embedded_failover`` in the engines column; ``embedded`` there are the
  answers it was sure of; ``--hub-env GOVCHAT_NLU_LOCAL_SURE_AT=1.01`` sends every message to Rasa).
* lag: how late the generator sent a message (p99 over 50 ms is flagged: the machine is too busy
  for steady sending, though late messages go out at once so the rate holds on average);
  CPU%: of the hubs, the Rasa server, the fake LINE API and the generator while the step sent
  and drained (100% = one core); CPU ms/msg: of the hubs (their Rasa server not included), or
  of the REST peer, per message: what a message costs, whatever else runs on the machine.

Texts: FAQ questions (85%) and greet/thanks/goodbye examples (15%) that the hub answers directly
(``govchat nlu predict``: action answer or smalltalk, so no conversation goes to an officer queue and
stops getting bot answers). The questions are the knowledge base's own (``--texts kb``, the default;
every engine trained on them) or the held-out paraphrases, Thai and English (``--texts heldout``; none
did): with Rasa, the latter decide how often the embedded engine is sure and answers itself
(``nlu.cascade``), as citizens' messages would. ``--returning`` (30%) of messages come from
a citizen who has written before (at least 5 s earlier), the rest from new citizens.

The pieces: ``load_steps.py`` (the workload, measuring and judging a step), ``load_sending.py``
(steady sending, CPU time), ``load_hub.py`` (the hub processes and their driver),
``load_peer.py`` (the REST peer) and ``load_report.py`` (the table and the summary).

    .venv/bin/python benchmarks/load.py                          # everything, 60 s steps
    .venv/bin/python benchmarks/load.py --seconds 5 --rates 20,50 --peer-rates 10,20
    .venv/bin/python benchmarks/load.py --configs sqlite-embedded --rates 300 --skip-peer
    .venv/bin/python benchmarks/load.py --configs "" --peer-rates 40,80,160   # the peer alone
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
# The Rasa server (RasaServer) and the hub processes (they inherit the environment) share it.
os.environ.setdefault("RASA_AUTH_TOKEN", secrets.token_urlsafe(24))

from benchmarks.load_hub import BARE, run_hub_system  # noqa: E402
from benchmarks.load_peer import run_peer  # noqa: E402
from benchmarks.load_report import step_row, summary, table  # noqa: E402
from benchmarks.load_steps import PEER, VAR_DIR, Step, load_workload  # noqa: E402
from benchmarks.rasa_rest_peer import POLICIES  # noqa: E402
from nlu.commands import train_current  # noqa: E402
from nlu.rasa_env import ensure  # noqa: E402
from nlu.rasa_runner import RasaServer  # noqa: E402

CONFIGS = (
    "sqlite-embedded",
    "pg-embedded",
    "sqlite-rasa",
    "pg-rasa",
    "pg-split-embedded",
    "pg-split-rasa",
    BARE,
)
DEFAULT_CONFIGS = CONFIGS[:6]


def rates(text: str) -> list[float]:
    return [float(r) for r in text.split(",") if r.strip()]


def key_value(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    if not key or not _:
        raise argparse.ArgumentTypeError("expected KEY=VALUE")
    return key, value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help=f"comma-separated, of {CONFIGS}")
    parser.add_argument("--rates", type=rates, default=rates("25,50,100,200,300,400"), help="messages/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each step")
    parser.add_argument("--reply-bound", type=float, default=5.0, help="reply p99 of a sustained step, s")
    parser.add_argument("--skip-peer", action="store_true", help="do not run Rasa's REST channel")
    parser.add_argument("--peer-rates", type=rates, default=rates("10,20,40,60,80,100,150,200"))
    parser.add_argument("--peer-concurrency", type=int, default=32, help="closed-loop senders; 0: skip")
    parser.add_argument(
        "--peer-policies",
        choices=POLICIES,
        default="default",
        help="the peer's dialogue policies: Rasa's defaults (as after rasa init), or RulePolicy alone",
    )
    parser.add_argument("--keep-going", action="store_true", help="run every rate even after a failed step")
    parser.add_argument("--returning", type=float, default=0.3, help="share of returning citizens")
    parser.add_argument(
        "--workers", type=int, default=None, help="GOVCHAT_WORKERS of each hub (default: the hub's)"
    )
    parser.add_argument("--pg-processes", type=int, default=2, help="hub processes of the pg-* systems")
    parser.add_argument("--worker-processes", type=int, default=2, help="worker processes of pg-split-*")
    parser.add_argument("--worker-nice", type=int, default=10, help="their nice value (pg-split-*)")
    parser.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/govchat_bench",
        help="the pg-* systems' database; dropped and re-created for each system",
    )
    parser.add_argument("--postgres-admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--hub-env", type=key_value, action="append", default=[], help="KEY=VALUE for hubs")
    parser.add_argument("--pool", type=int, default=512, help="client connections at most")
    parser.add_argument("--request-timeout", type=float, default=30.0, help="webhook POST timeout, s")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="wait for answers after a step")
    parser.add_argument("--drain-idle", type=float, default=30.0, help="give up after this long without one")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between steps")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--texts", choices=("kb", "heldout"), default="kb", help="questions: see Texts above")
    args = parser.parse_args(argv)
    args.configs = [c for c in args.configs.split(",") if c]
    unknown = set(args.configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; choose from {CONFIGS}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds every context manager: children are stopped

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    rows: list[tuple[str, ...]] = []

    def report(step: Step) -> None:
        rows.append(step_row(step))
        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)

    print("preparing: texts (govchat nlu predict), models ...", file=sys.stderr, flush=True)
    workload = load_workload(args.returning, args.seed, VAR_DIR, args.texts)
    print(f"texts: {len(workload.questions)} questions, {len(workload.smalltalk)} smalltalk", file=sys.stderr)
    results: dict[str, list[Step]] = {}
    closed = None
    with contextlib.ExitStack() as stack:
        rasa = None
        for system in args.configs:
            if system.endswith("-rasa") and rasa is None:
                model = train_current(quiet=True).model
                log = VAR_DIR / "logs" / "rasa-nlu.log"
                rasa = stack.enter_context(RasaServer(ensure(quiet=True), model, log_file=log))
            nlu = rasa if system.endswith("-rasa") else None
            results[system] = run_hub_system(system, workload.fresh(), nlu, args, report)
        stack.close()  # the hubs' Rasa server must not share the CPU with the peer
        if not args.skip_peer:
            results[PEER], closed = run_peer(workload.fresh(), args, report)
    print()
    print(
        f"govchat load benchmark: {args.seconds:g} s per step, {args.returning:.0%} returning citizens, "
        f"{args.workers or 'default'} workers per hub, {args.pg_processes} hubs for pg-*, "
        f"pg-split-*: {args.pg_processes} without workers + {args.worker_processes} worker processes "
        f"at nice {args.worker_nice}, "
        f"peer with {args.peer_policies} policies"
    )
    print(table(rows))
    print(summary(results, closed, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
