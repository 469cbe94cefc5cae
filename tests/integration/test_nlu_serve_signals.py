"""``govchat nlu serve`` stops the Rasa server it started, whatever stops it.

Rasa runs in a session of its own (so a stop can end everything it spawned), which also means
no terminal signal reaches it: when the command is told to stop, it has to stop Rasa itself.
Here the command's serving path (``stop_on_signals`` + ``run_server``, as ``nlu.commands.serve``
runs them) drives a stand-in Rasa process (``tests/fakes/rasa_process.py``); each test signals
the command and checks that the stand-in is gone and its port free again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, free_port

FAKE_RASA = REPO_ROOT / "tests" / "fakes" / "rasa_process.py"
HARNESS = """
import sys
from pathlib import Path
from nlu.commands import run_server
from nlu.rasa_env import RasaEnv
from nlu.rasa_runner import RasaServer, stop_on_signals

env_root, port, log = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
with stop_on_signals():
    server = RasaServer(RasaEnv(Path(env_root)), Path("model.tar.gz"), port=port, log_file=log)
    code = run_server(server)
print("exit", code, flush=True)
raise SystemExit(code)
"""


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie nobody has reaped yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {condition}")
        time.sleep(0.05)


class Serve:
    """The serving command in a child process, with a stand-in Rasa behind it."""

    def __init__(self, tmp_path: Path, ready: bool) -> None:
        env_root = tmp_path / "rasa-venv"
        (env_root / "bin").mkdir(parents=True)
        python = env_root / "bin" / "python"
        python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_RASA}" "$@"\n')
        python.chmod(0o755)
        self.port = free_port()
        self.pid_file = tmp_path / "rasa.pid"
        env = dict(os.environ, FAKE_RASA_PID_FILE=str(self.pid_file), PYTHONPATH=str(REPO_ROOT))
        if not ready:
            env["FAKE_RASA_NEVER_READY"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "-c", HARNESS, str(env_root), str(self.port), str(tmp_path / "rasa.log")],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )

    @property
    def rasa_pid(self) -> int:
        wait_until(lambda: self.pid_file.exists() and self.pid_file.read_text())
        return int(self.pid_file.read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        if self.pid_file.exists() and alive(pid := int(self.pid_file.read_text())):
            os.kill(pid, signal.SIGKILL)  # what the command under test should have done


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Serve]:
    serve = Serve(tmp_path, ready=True)
    yield serve
    serve.stop()


@pytest.fixture
def loading(tmp_path: Path) -> Iterator[Serve]:
    serve = Serve(tmp_path, ready=False)
    yield serve
    serve.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_a_serving_command_stops_rasa_and_frees_its_port(serving: Serve, signum: int) -> None:
    assert serving.process.stdout is not None
    assert "Rasa NLU server ready" in serving.process.stdout.readline()
    rasa = serving.rasa_pid
    assert alive(rasa) and port_open(serving.port)

    serving.process.send_signal(signum)
    code = serving.process.wait(30)

    assert not alive(rasa)
    assert not port_open(serving.port)
    assert code == 128 + signum


def test_sigterm_while_rasa_is_still_loading_stops_it_too(loading: Serve) -> None:
    rasa = loading.rasa_pid
    wait_until(lambda: port_open(loading.port))

    loading.process.send_signal(signal.SIGTERM)
    code = loading.process.wait(30)

    assert not alive(rasa)
    assert code == 128 + signal.SIGTERM
