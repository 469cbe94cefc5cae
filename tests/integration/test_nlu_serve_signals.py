"""``govchat nlu serve`` stops the Rasa server it started, whatever stops it.

Rasa runs in a session of its own (so a stop can end everything it spawned), which also means
no terminal signal reaches it: when the command is told to stop, it has to stop Rasa itself.
Here the command's serving path (``stop_on_signals`` + ``run_server``, as ``nlu.commands.serve``
runs them) drives a stand-in Rasa process (``tests/fakes/rasa_process.py``); each test signals
the command and checks that the stand-in is gone and its port free again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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


def as_a_terminal_starts_it() -> None:
    """Ctrl-C interrupts the child, as from a terminal, even where the test run was started in the
    background of a script (there SIGINT is ignored, and an ignored signal stays ignored across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
            preexec_fn=as_a_terminal_starts_it,
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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
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


def test_ctrl_c_on_make_run_stops_rasa_and_the_hub(tmp_path: Path) -> None:
    """``scripts/run.sh`` (``make run``) with stand-ins on its ``.venv/bin``: ``govchat nlu serve``
    is the serving path above, ``govchat serve`` a static server answering ``/healthz``. Ctrl-C
    reaches the script's whole process group, as a terminal sends it."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "scripts" / "run.sh", checkout / "scripts" / "run.sh")
    bin_dir = checkout / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    env_root = tmp_path / "rasa-venv"
    (env_root / "bin").mkdir(parents=True)
    _script(env_root / "bin" / "python", f'exec "{sys.executable}" "{FAKE_RASA}" "$@"')
    _script(
        bin_dir / "python",
        f'[ "$*" = "-m nlu.rasa_env python" ] && exit 0\nexec "{sys.executable}" "$@"',
    )
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "healthz").write_text("ok")
    harness = tmp_path / "harness.py"
    harness.write_text(HARNESS)
    _script(
        bin_dir / "govchat",
        f'if [ "$1" = nlu ]; then exec "{sys.executable}" "{harness}" "{env_root}" "$4" "{tmp_path}/rasa.log"; fi\n'
        f'exec "{sys.executable}" -m http.server "$5" --bind 127.0.0.1 --directory "{tmp_path}/web"',
    )
    pid_file = tmp_path / "rasa.pid"
    hub_port, rasa_port = free_port(), free_port()
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO_ROOT),
        FAKE_RASA_PID_FILE=str(pid_file),
        PORT=str(hub_port),
        RASA_PORT=str(rasa_port),
        GOVCHAT_ADMIN_PASSWORD="x",
    )
    env.pop("RASA_URL", None)
    script = subprocess.Popen(
        ["bash", "scripts/run.sh"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
        preexec_fn=as_a_terminal_starts_it,
    )
    try:
        assert script.stdout is not None
        for line in script.stdout:
            if "govchat is running" in line:
                break
        rasa = int(pid_file.read_text())
        assert alive(rasa) and port_open(rasa_port) and port_open(hub_port)

        os.killpg(script.pid, signal.SIGINT)
        script.wait(60)

        assert not alive(rasa)
        assert not port_open(rasa_port)
        assert not port_open(hub_port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(script.pid, signal.SIGKILL)
        if pid_file.exists() and alive(pid := int(pid_file.read_text())):
            os.kill(pid, signal.SIGKILL)


def _script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
