"""What ``govchat nlu train`` and ``govchat nlu serve`` do (the CLI only parses arguments).

``train(force)`` generates the Rasa training data from the knowledge base and the core
intents and trains, unless a model for exactly that data, config and code already exists.
``serve(port)`` starts the Rasa server on the current model (training it first if needed).
Both also run as ``python -m nlu.commands train [--force]`` / ``serve [--port P]`` for the
Makefile. Exit codes: 0 ok, 1 failure, 3 Python 3.10 missing (Rasa cannot run here).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from knowledge_base.loader import DEFAULT_ROOT, KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from nlu.examples import CORE_INTENTS_FILE, load_training_examples
from nlu.rasa_env import EXIT_NO_PYTHON, REPO_ROOT, PythonNotFoundError, RasaEnvError, ensure
from nlu.rasa_runner import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    RasaRunError,
    RasaServer,
    exit_code_for,
    stop_on_signals,
    train_model,
)
from nlu.training_data import DEFAULT_CONFIG, RasaProject, build_project

BUILD_ROOT = REPO_ROOT / "var" / "rasa" / "data"


class NluCommandError(RuntimeError):
    """A clear, user-facing reason why an NLU command failed; ``exit_code`` for the CLI."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class TrainResult:
    model: Path
    trained: bool
    seconds: float
    project: RasaProject


def build_govchat_project(
    kb_root: Path = DEFAULT_ROOT,
    core_path: Path = CORE_INTENTS_FILE,
    build_root: Path = BUILD_ROOT,
    config: Path = DEFAULT_CONFIG,
) -> RasaProject:
    """The Rasa project for the knowledge base and core intents as they are on disk now.

    Only the citizens' questions train (adding each entry's title and answer, as the embedded
    engine does, did not change FAQ top-1 on the held-out set and cost intent accuracy).
    """
    try:
        kb = load_knowledge_base(kb_root)
    except KnowledgeBaseError as exc:
        raise NluCommandError(f"cannot train: {exc}") from exc
    return build_project_for(kb, core_path, build_root, config)


def build_project_for(
    kb: KnowledgeBase,
    core_path: Path = CORE_INTENTS_FILE,
    build_root: Path = BUILD_ROOT,
    config: Path = DEFAULT_CONFIG,
) -> RasaProject:
    """The Rasa project for ``kb`` as the hub serves it (which may no longer be the files on disk)."""
    try:
        examples = load_training_examples(kb, core_path)
    except (OSError, ValueError) as exc:
        raise NluCommandError(f"cannot read the core intents ({core_path}): {exc}") from exc
    titles = {entry.id: entry.title for entry in kb.entries.values()}
    return build_project(examples, titles, build_root, config)


def train_current(force: bool = False, *, config: Path = DEFAULT_CONFIG, quiet: bool = False) -> TrainResult:
    project = build_govchat_project(config=config)
    try:
        env = ensure(quiet=quiet)
    except PythonNotFoundError as exc:
        raise NluCommandError(str(exc), EXIT_NO_PYTHON) from exc
    except RasaEnvError as exc:
        raise NluCommandError(f"cannot build the Rasa environment: {exc}") from exc
    started = time.monotonic()
    if not quiet:
        print(f"Rasa training data: {project.root}", file=sys.stderr)
    try:
        model, trained = train_model(project, env, force=force)
    except RasaRunError as exc:
        raise NluCommandError(str(exc)) from exc
    return TrainResult(model, trained, time.monotonic() - started, project)


def train(force: bool = False) -> Path:
    """Train the Rasa model for the current knowledge base (skipped when nothing changed)."""
    result = train_current(force)
    if result.trained:
        print(f"Trained the Rasa model in {result.seconds:.0f} s: {result.model}")
    else:
        print(f"The Rasa model is up to date (nothing changed): {result.model}")
    return result.model


def serve(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> int:
    """Run the Rasa server on the current model until Ctrl-C or SIGTERM; returns the exit code."""
    with stop_on_signals():
        try:
            result = train_current(False)
            env = ensure(quiet=True)
        except KeyboardInterrupt as interrupt:
            return exit_code_for(interrupt)
        except NluCommandError as exc:
            print(f"govchat: {exc}", file=sys.stderr)
            return exc.exit_code
        except RasaEnvError as exc:
            print(f"govchat: {exc}", file=sys.stderr)
            return 1
        server = RasaServer(env, result.model, port=port, host=host)
        print(f"Starting Rasa on http://{host}:{port} (model {result.model.name}) ...", file=sys.stderr)
        return run_server(server)


def run_server(server: RasaServer) -> int:
    """Start ``server`` and wait for it; SIGINT, SIGTERM or SIGHUP stop it (and what it spawned)
    before this returns ``128 + signal``. Call inside ``stop_on_signals()``."""
    try:
        server.start()
        hint = f"RASA_URL={server.url}"
        if not os.environ.get("RASA_AUTH_TOKEN"):  # generated: the hub needs it too
            hint += f" RASA_AUTH_TOKEN={server.auth_token}"
        print(f"Rasa NLU server ready on {server.url} (log: {server.log_file}); set {hint}")
        return server.wait()
    except KeyboardInterrupt as interrupt:
        server.stop()
        return exit_code_for(interrupt)
    except RasaRunError as exc:
        print(f"govchat: {exc}", file=sys.stderr)
        return 1


def run_train(force: bool = False) -> int:
    """``train`` for a CLI: messages on stderr, an exit code back."""
    try:
        train(force)
    except NluCommandError as exc:
        print(f"govchat: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nlu.commands", description="Train or serve the Rasa NLU."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train the model unless nothing changed")
    train_parser.add_argument("--force", action="store_true", help="train even if a current model exists")
    serve_parser = commands.add_parser("serve", help="serve the current model over HTTP")
    serve_parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve_parser.add_argument("--host", default=DEFAULT_HOST)
    args = parser.parse_args(argv)
    if args.command == "train":
        return run_train(args.force)
    return serve(args.port, args.host)


if __name__ == "__main__":
    raise SystemExit(main())
