"""What the benchmarks share: a ``govchat serve`` process, a hub in this process, fake platforms'
settings, waiting for readiness, percentiles.

A script run as ``python benchmarks/x.py`` puts the repository root on ``sys.path`` itself
before importing this module (``sys.path[0]`` is then ``benchmarks/``, not the root).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import httpx

from nlu.rasa_runner import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.settings import Settings
    from nlu.client import Prediction
    from nlu.evaluate import Decide

__all__ = [
    "ADMIN_PASSWORD",
    "REPO_ROOT",
    "SECRET_KEY",
    "HubNotReady",
    "free_port",
    "hub_in_process",
    "hub_process",
    "hub_settings",
    "latency_line",
    "line_env",
    "percentile",
    "policy_decider",
    "wait_until_ready",
]

ADMIN_PASSWORD = "benchmark-admin-password"
SECRET_KEY = "benchmark-secret-key-" + "x" * 32
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


@contextlib.contextmanager
def hub_process(
    database_url: str,
    var_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    redis_url: str | None = None,
    port: int | None = None,
    output: IO[bytes] | int | None = subprocess.DEVNULL,
    ready_path: str = "/readyz",
) -> Iterator[str]:
    """``govchat serve`` in its own process, configured by environment as in production; yields its URL.

    Rasa and Redis are off unless asked for (``env``, ``redis_url``), whatever this shell has set.
    """
    port = port or free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GOVCHAT_VAR_DIR": str(var_dir),
        "GOVCHAT_SECRET_KEY": SECRET_KEY,
        "GOVCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GOVCHAT_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO_ROOT),
    }
    for name in ("RASA_URL", "REDIS_URL"):
        environment.pop(name, None)
    if redis_url:
        environment["REDIS_URL"] = redis_url
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=var_dir,  # not the checkout: a developer's .env there must not configure the benchmark
        env=environment,
        stdout=output,
        stderr=output,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process, path=ready_path)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


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
