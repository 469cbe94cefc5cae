"""Real `govchat serve` processes, for the tests that need the hub as production runs it.

``HubProcess`` starts ``govchat serve`` on a free port, configured by the environment it is
given only (no ``.env``: it runs in the folder of its log), and writes its output to a log file:
a pipe nobody reads would block a chatty hub once full. When the hub exits or never gets ready,
the error carries the end of that log. The ``hubs`` fixture starts them and stops them all
afterwards (a conftest imports it).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import POSTGRES_AVAILABLE, REPO_ROOT, free_port

# The trained embedded engine is cached here between runs, for every test that starts hubs.
HUB_VAR_DIR = REPO_ROOT / "var" / "test-hubs"
GOVCHAT = Path(sys.executable).with_name("govchat")
NEEDS_POSTGRES = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_AVAILABLE, reason="PostgreSQL is not reachable on 127.0.0.1:5432"),
]


class HubProcess:
    """One `govchat serve` process on a free port; its log goes to a file (a pipe could fill up)."""

    def __init__(self, env: dict[str, str], log_path: Path, name: str = "hub") -> None:
        self.env = env
        self.name = name
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> HubProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(GOVCHAT), "serve", "--port", str(self.port)],
                cwd=self.log_path.parent,  # no stray .env: only the environment configures it
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 120) -> HubProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, leases and in-flight calls are left as they are."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-size:]
        except OSError:
            return ""


StartHubs = Callable[..., list[HubProcess]]


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[StartHubs]:
    """``start(env, *names)``: hub processes started side by side; all stopped afterwards."""
    started: list[HubProcess] = []

    def start(env: dict[str, str], *names: str) -> list[HubProcess]:
        batch = [
            HubProcess(env, tmp_path / "hubs" / f"{name}-{len(started) + n}.log", name).start()
            for n, name in enumerate(names)
        ]
        started.extend(batch)
        return [hub.wait_ready() for hub in batch]

    try:
        yield start
    finally:
        for hub in started:
            hub.stop()
