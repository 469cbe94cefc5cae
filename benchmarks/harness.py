"""What the benchmarks share: a ``govchat serve`` process, a hub in this process, fake platforms'
settings, waiting for readiness, percentiles, the hub's decision replayed.

A script run as ``python benchmarks/x.py`` puts the repository root on ``sys.path`` itself
before importing this module (``sys.path[0]`` is then ``benchmarks/``, not the root).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from nlu.rasa_runner import free_port, stop_process_group

REPO_ROOT = Path(__file__).resolve().parent.parent
# The held-out sets: questions no engine trains on, Thai, and English or code-switched.
HELDOUT = REPO_ROOT / "tests" / "data" / "heldout.jsonl"
HELDOUT_EN = REPO_ROOT / "tests" / "data" / "heldout_en.jsonl"

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.settings import Settings
    from nlu.client import Prediction
    from nlu.evaluate import Decide

__all__ = [
    "ADMIN_PASSWORD",
    "HELDOUT",
    "HELDOUT_EN",
    "LINE_CHANNEL_SECRET",
    "REPO_ROOT",
    "SECRET_KEY",
    "HubNotReady",
    "HubProcess",
    "free_port",
    "hub_in_process",
    "hub_settings",
    "latency_line",
    "line_env",
    "percentile",
    "policy_decider",
    "wait_until_ready",
]

ADMIN_PASSWORD = "benchmark-admin-password"
SECRET_KEY = "benchmark-secret-key-" + "x" * 32
LINE_CHANNEL_SECRET = "benchmark-channel-secret"
START_TIMEOUT_S = 180.0


class HubNotReady(RuntimeError):
    pass


class LineApiFake(Protocol):
    """What the hub needs of a fake LINE API: the in-process ``FakeLineApi`` or ``line_webhook.FakeLine``."""

    url: str
    data_url: str
    access_token: str


def line_env(fake: LineApiFake, channel_secret: str) -> dict[str, str]:
    """The environment that points a hub's LINE channel at ``fake``."""
    return {
        "LINE_CHANNEL_SECRET": channel_secret,
        "LINE_CHANNEL_ACCESS_TOKEN": fake.access_token,
        "LINE_API_BASE_URL": fake.url,
        "LINE_DATA_API_BASE_URL": fake.data_url,
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0..1); NaN when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def latency_line(name: str, seconds: list[float]) -> str:
    """One row of p50/p99/max in milliseconds, as the latency benchmarks print it."""
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<28} n={len(ms):<4} p50={percentile(ms, 0.5):7.1f} ms  p99={percentile(ms, 0.99):7.1f} ms"
        f"  max={max(ms):7.1f} ms"
    )


def wait_until_ready(
    url: str,
    process: subprocess.Popen[Any],
    timeout: float = START_TIMEOUT_S,
    *,
    path: str = "/readyz",
    interval: float = 0.2,
) -> None:
    """Poll ``url + path`` until it answers 200; ``HubNotReady`` if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        if process.poll() is not None:
            raise HubNotReady(f"the hub exited during start-up (exit code {process.returncode})")
        if time.monotonic() > deadline:
            raise HubNotReady(f"the hub did not become ready within {timeout:.0f} s")
        time.sleep(interval)


@dataclass(kw_only=True)
class HubProcess:
    """``govchat serve`` configured by environment as in production; ``start()`` returns once
    ``/readyz`` answers 200, ``stop()`` stops its whole process group. Nothing of this shell's
    ``GOVCHAT_*``, database, Redis or Rasa settings reaches it unless given here."""

    var_dir: Path
    database_url: str
    log_file: Path | None = None  # None: hub.log in var_dir
    fake: LineApiFake | None = None  # the fake LINE API its LINE channel talks to
    redis_url: str | None = None
    rasa_url: str | None = None
    workers: int | None = None  # GOVCHAT_WORKERS; None: the hub's default
    extra_env: dict[str, str] = field(default_factory=dict)
    nice: int = 0  # run under `nice -n` (a lower CPU priority)
    takes_webhooks: bool = True  # False: a worker process, not behind the load balancer
    bare: bool = False  # run benchmarks/bare_line_app.py instead of the hub
    port: int = 0  # 0: a free one
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.log_file or self.var_dir / "hub.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL", "RASA_URL") and not key.startswith("GOVCHAT_")
        }
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "GOVCHAT_VAR_DIR": str(self.var_dir),
                "GOVCHAT_LOG_LEVEL": "WARNING",
                "GOVCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "GOVCHAT_SECRET_KEY": SECRET_KEY,
                "RASA_TELEMETRY_ENABLED": "false",
            }
        )
        if self.fake is not None:
            env.update(line_env(self.fake, LINE_CHANNEL_SECRET))
        if self.workers is not None:
            env["GOVCHAT_WORKERS"] = str(self.workers)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        if self.rasa_url:
            env["RASA_URL"] = self.rasa_url
        env.update(self.extra_env)
        return env

    def start(self) -> HubProcess:
        self.port = self.port or free_port()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.var_dir,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def command(self) -> list[str]:
        if self.bare:
            uvicorn = [str(REPO_ROOT / ".venv" / "bin" / "uvicorn"), "benchmarks.bare_line_app:app"]
            return [*uvicorn, "--app-dir", str(REPO_ROOT), "--log-level", "warning", "--port", str(self.port)]
        nice = ["nice", "-n", str(self.nice)] if self.nice else []
        return [*nice, str(REPO_ROOT / ".venv" / "bin" / "govchat"), "serve", "--port", str(self.port)]

    def _wait_ready(self) -> None:
        assert self.process is not None
        try:
            wait_until_ready(self.url, self.process, START_TIMEOUT_S, interval=0.3)
        except HubNotReady as failure:
            tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"{failure}; the end of {self.log}:\n{tail}") from None

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process_group(process, timeout=30)

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def hub_settings(var_dir: Path, database_url: str = "", **values: Any) -> Settings:
    """Settings for a hub in this process: no ``.env`` file, quiet logs; ``values`` by field or env name."""
    from app.settings import Settings

    defaults: dict[str, Any] = {
        "GOVCHAT_VAR_DIR": var_dir,
        "GOVCHAT_SECRET_KEY": SECRET_KEY,
        "GOVCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GOVCHAT_LOG_LEVEL": "WARNING",
    }
    return Settings(_env_file=None, database_url=database_url, **{**defaults, **values})


@contextlib.asynccontextmanager
async def hub_in_process(settings: Settings) -> AsyncIterator[FastAPI]:
    """The hub's app with its lifespan entered (workers running), no HTTP server."""
    from app.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def policy_decider() -> Decide:
    """The hub's own decision (``DecisionPolicy.decide_message`` with the hub's default
    thresholds) replayed on a prediction already made."""
    from app.conversations.policy import TurnContext
    from app.nlu_tools import build_policy
    from app.settings import Settings
    from knowledge_base.loader import KnowledgeBaseStore

    policy = build_policy(Settings(), KnowledgeBaseStore())

    class Replay:
        def __init__(self, prediction: Prediction) -> None:
            self.prediction = prediction

        async def parse(self, text: str) -> Prediction:
            return self.prediction

    def decide(prediction: Prediction) -> tuple[str, str | None]:
        replay = Replay(prediction)
        _, decision = asyncio.run(policy.decide_message(prediction.text, replay, TurnContext()))  # type: ignore[arg-type]
        return decision.action.value, decision.faq_id

    return decide
