"""Real `govchat serve` processes, for the tests that need the hub as production runs it, and the
`govchat` command run as a process or called in this process.

``HubProcess`` starts ``govchat serve`` on a free port, configured by the environment it is
given only (no ``.env``: it runs in the folder of its log), and writes its output to a log file:
a pipe nobody reads would block a chatty hub once full. When the hub exits or never gets ready,
the error carries the end of that log. The ``hubs`` fixture starts them and stops them all
afterwards; ``module_hubs`` keeps them for a module's tests, whose hubs take 6-20 s each to
start (a conftest imports them).

A command's own behaviour (exit status, messages, what it writes) is checked with ``call_govchat``,
which calls the console script's ``main`` in this process; one test per command family runs the
installed script with ``run_govchat``, a process start costing seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from app import cli
from tests.conftest import POSTGRES_AVAILABLE, free_port, fresh_postgres_database

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


@contextlib.contextmanager
def started_hubs(log_dir: Path) -> Iterator[StartHubs]:
    """``start(env, *names)``: hub processes started side by side; all stopped on leaving."""
    started: list[HubProcess] = []

    def start(env: dict[str, str], *names: str) -> list[HubProcess]:
        batch = [
            HubProcess(env, log_dir / f"{name}-{len(started) + n}.log", name).start()
            for n, name in enumerate(names)
        ]
        started.extend(batch)
        return [hub.wait_ready() for hub in batch]

    try:
        yield start
    finally:
        for hub in started:
            hub.stop()


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[StartHubs]:
    """Hubs of one test: for a test that kills, restarts or reconfigures them."""
    with started_hubs(tmp_path / "hubs") as start:
        yield start


@pytest.fixture(scope="module")
def module_hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartHubs]:
    """Hubs shared by a module's tests, each test using citizens and officers of its own."""
    with started_hubs(tmp_path_factory.mktemp("hubs")) as start:
        yield start


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database with no schema for a module's hubs, which migrate it themselves
    (request it before ``module_hubs``: it must outlive the processes)."""
    if not POSTGRES_AVAILABLE:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    async with fresh_postgres_database(migrated=False) as url:
        yield url


async def run_govchat(environment: Mapping[str, str | None], cwd: Path, *args: str) -> tuple[int, str]:
    """The installed ``govchat`` script as a process, in this environment with the variables of
    ``environment`` set (``None`` unsets one): its exit status and output (stderr included)."""
    env = {**os.environ, **environment}
    process = await asyncio.create_subprocess_exec(
        str(GOVCHAT),
        *args,
        cwd=cwd,  # no stray .env: only the environment configures it
        env={name: value for name, value in env.items() if value is not None},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


CallGovchat = Callable[..., Awaitable[tuple[int, str]]]


@pytest.fixture
def call_govchat(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> CallGovchat:
    """``call(environment, *args)``: ``govchat *args`` called in this process, as ``run_govchat``
    runs it (in ``tmp_path``, the variables of ``environment`` set): its exit status and output."""

    async def call(environment: Mapping[str, str | None], *args: str) -> tuple[int, str]:
        with monkeypatch.context() as patch:
            patch.chdir(tmp_path)
            for name, value in environment.items():
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
            capsys.readouterr()
            # a thread: the commands run their own event loop (asyncio.run), the test's is running
            status = await asyncio.to_thread(cli.main, list(args))
            out, err = capsys.readouterr()
        return status, out + err

    return call
