"""Training and serving Rasa in its own environment, as subprocesses of the hub's Python.

* ``train_model(project, env)`` trains once per project fingerprint (training data, config,
  components, Rasa version) and caches the model under ``~/.cache/govchat/rasa-models``,
  so a second ``make test`` or a fresh clone on the same machine skips training.
* ``serve_command(model, port)`` is the command line of the Rasa HTTP server.
* ``RasaServer`` starts that server and waits until ``/status`` reports the model loaded;
  tests, benchmarks and ``govchat nlu serve`` use it.

Every Rasa process gets ``rasa_process_env()``: the repo on PYTHONPATH (our components and
``nlu.thai_text``) and ``RASA_TELEMETRY_ENABLED=false``, and runs through our launcher,
which also disables Rasa's crash reporting.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from nlu.rasa_env import REPO_ROOT, RasaEnv, cache_dir, rasa_process_env
from nlu.training_data import RASA_PROJECT, RasaProject

LAUNCHER = "nlu.rasa_project.launcher"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5005
START_TIMEOUT_S = 180.0
TRAIN_TIMEOUT_S = 1800.0
# Our input channel: many texts parsed in one request (nlu/rasa_project/batch_channel.py).
CREDENTIALS_FILE = RASA_PROJECT / "credentials.yml"


class RasaRunError(RuntimeError):
    """Training or serving Rasa failed; the message carries the end of Rasa's output."""


class StopRequested(KeyboardInterrupt):
    """SIGTERM or SIGHUP raised as an exception, as Python does for SIGINT.

    Python's default for SIGTERM ends the process at once: no ``finally`` or ``__exit__`` runs,
    and the Rasa server (in a session of its own, so no signal reaches it) lives on, orphaned,
    holding its port. Raised instead, the signal unwinds through ``RasaServer.stop()``.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stop_on_signals(signums: Sequence[int] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Turn ``signums`` into ``StopRequested`` inside the block (main thread only, as Python requires)."""

    def _raise(signum: int, _frame: object) -> None:
        for other in signums:  # a second SIGTERM must not cut the stopping short
            signal.signal(other, signal.SIG_IGN)
        raise StopRequested(signum)

    previous = {signum: signal.signal(signum, _raise) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_code_for(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number, as a shell reports a process ended by that signal."""
    signum = interrupt.signum if isinstance(interrupt, StopRequested) else signal.SIGINT
    return 128 + int(signum)


def models_dir() -> Path:
    return cache_dir() / "rasa-models"


def model_path(project: RasaProject) -> Path:
    return models_dir() / f"{project.fingerprint}.tar.gz"


def rasa_command(env: RasaEnv, *args: str) -> list[str]:
    return [str(env.python), "-m", LAUNCHER, *args]


def log_tail(path: Path, lines: int = 30) -> str:
    """The end of a log file, for an error message."""
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def train_model(
    project: RasaProject,
    env: RasaEnv,
    *,
    force: bool = False,
    log_file: Path | None = None,
    timeout: float = TRAIN_TIMEOUT_S,
) -> tuple[Path, bool]:
    """``(model path, trained now?)``; trains only when no model for this fingerprint exists."""
    target = model_path(project)
    if target.exists() and not force:
        return target, False
    run_rasa_training(
        env,
        nlu_training_args(project),
        cwd=project.root,
        target=target,
        log=log_file or project.root / "train.log",
        timeout=timeout,
    )
    return target, True


def nlu_training_args(project: RasaProject) -> list[str]:
    """The arguments of ``rasa train`` for an NLU-only model of ``project``."""
    files = ["--config", str(project.config_file), "--nlu", str(project.nlu_file)]
    return ["nlu", *files, "--domain", str(project.domain_file)]


def run_rasa_training(
    env: RasaEnv, train_args: Sequence[str], *, cwd: Path, target: Path, log: Path, timeout: float
) -> None:
    """``rasa train <train_args>`` into ``target``, logging to ``log``; RasaRunError with the log's end."""
    target.parent.mkdir(parents=True, exist_ok=True)
    name = target.name.removesuffix(".tar.gz")
    with tempfile.TemporaryDirectory(prefix="rasa-train-", dir=target.parent) as out:
        command = rasa_command(env, "train", *train_args, "--out", out, "--fixed-model-name", name)
        with log.open("w", encoding="utf-8") as handle:
            try:
                result = subprocess.run(
                    command,
                    cwd=cwd,
                    env=rasa_process_env(),
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise RasaRunError(f"Rasa training took over {timeout:.0f} s (log: {log})") from exc
        produced = Path(out) / f"{name}.tar.gz"
        if result.returncode != 0 or not produced.exists():
            raise RasaRunError(
                f"Rasa training failed (exit {result.returncode}, log: {log}):\n{log_tail(log)}"
            )
        os.replace(produced, target)  # atomic: a concurrent reader sees the old or the new file


def serve_command(
    env: RasaEnv, model: Path, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST, auth_token: str = ""
) -> list[str]:
    """The Rasa HTTP server (``/model/parse``, ``/status``) on ``model``, loopback by default.

    The hub needs ``/model/parse``, which only ``--enable-api`` serves; that API can also replace
    the model, so it is never served without ``--auth-token`` (calls then carry ``?token=``).
    ``--credentials`` adds our batch parse channel, which reads the same token from
    ``RASA_AUTH_TOKEN`` in the server's environment (``RasaServer`` sets it).
    """
    if not auth_token:
        raise RasaRunError("the Rasa HTTP API is never served without an auth token")
    return rasa_command(
        env,
        "run",
        "--enable-api",
        # One argument: a generated token may start with "-", which argparse would take for an option.
        f"--auth-token={auth_token}",
        "--model",
        str(model),
        "--interface",
        host,
        "--port",
        str(port),
        "--response-timeout",
        "30",
        "--credentials",
        str(CREDENTIALS_FILE),
    )


def free_port(host: str = DEFAULT_HOST) -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_in_use(host: str, port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class RasaServer:
    """A Rasa server subprocess; ``start()`` returns once the model answers on ``/status``."""

    def __init__(
        self,
        env: RasaEnv,
        model: Path,
        port: int | None = None,
        host: str = DEFAULT_HOST,
        log_file: Path | None = None,
        auth_token: str | None = None,
    ) -> None:
        self.env = env
        # The hub sends it as RASA_AUTH_TOKEN; without one configured, a fresh one per server.
        self.auth_token = auth_token or os.environ.get("RASA_AUTH_TOKEN") or secrets.token_urlsafe(24)
        self.model = model
        self.host = host
        self.port = port or free_port(host)
        self.log_file = log_file or Path(tempfile.gettempdir()) / f"govchat-rasa-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = START_TIMEOUT_S) -> RasaServer:
        if self.process is not None and self.process.poll() is None:
            return self
        if _port_in_use(self.host, self.port):
            # another server there would answer /status and pass for ours
            raise RasaRunError(
                f"{self.host}:{self.port} is already in use: stop what runs there or pick --port"
            )
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                serve_command(self.env, self.model, self.port, self.host, self.auth_token),
                cwd=REPO_ROOT,
                env={**rasa_process_env(), "RASA_AUTH_TOKEN": self.auth_token},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends Rasa's children too
            )
        try:
            self._wait_ready(timeout)
        except BaseException:  # Ctrl-C or SIGTERM while Rasa loads: __exit__ will not run
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RasaRunError(
                    f"Rasa exited with {self.process.returncode} while starting (log: {self.log_file}):\n"
                    f"{log_tail(self.log_file)}"
                )
            if self.is_ready():
                self._warm_up(max(deadline - time.monotonic(), 5.0))
                return
            time.sleep(0.5)
        self.stop()
        raise RasaRunError(f"Rasa did not load the model within {timeout:.0f} s (log: {self.log_file})")

    def _warm_up(self, timeout: float) -> None:
        """The first parse loads the Thai dictionary and builds the graph; pay that now, not
        in a citizen's request (where the hub's short timeout would trip the breaker)."""
        try:
            httpx.post(
                f"{self.url}/model/parse",
                json={"text": "สวัสดีครับ"},
                params={"token": self.auth_token},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            self.stop()
            raise RasaRunError(f"Rasa did not answer its first parse: {exc} (log: {self.log_file})") from exc

    def is_ready(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/status", params={"token": self.auth_token}, timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and bool(response.json().get("model_file"))

    def stop(self, timeout: float = 20.0) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process_group(process, timeout)

    def pause(self) -> None:
        """SIGSTOP the server: it accepts connections but never answers (a hung Rasa)."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGCONT)

    def wait(self) -> int:
        """Block until the server exits (``govchat nlu serve``); Ctrl-C or ``StopRequested`` stops it."""
        assert self.process is not None
        try:
            return self.process.wait()
        except KeyboardInterrupt as interrupt:
            self.stop()
            return exit_code_for(interrupt)

    def __enter__(self) -> RasaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def stop_process_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM a child started with ``start_new_session`` and all it spawned; SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)
