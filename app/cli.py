"""The ``govchat`` command (INTERFACES.md, "CLI")."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from app.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.main import create_app

    os.umask(0o077)  # whatever the hub writes (database, attachments, caches) is its user's alone
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        # The client's address is decided by the app (GOVCHAT_TRUSTED_PROXIES): uvicorn would
        # otherwise believe X-Forwarded-For from any loopback peer.
        proxy_headers=False,
        timeout_graceful_shutdown=15,
        ws_max_size=64 * 1024,
    )
    return 0


def cmd_kb_validate(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge_base.loader import DEFAULT_ROOT
    from knowledge_base.validate import run_validate

    return run_validate(settings.kb_dir or DEFAULT_ROOT, warn_stale=args.warn_stale, out=sys.stdout)


def cmd_nlu_train(args: argparse.Namespace, settings: Settings) -> int:
    from nlu import commands

    return commands.run_train(args.force)


def cmd_nlu_serve(args: argparse.Namespace, settings: Settings) -> int:
    from nlu import commands

    return commands.serve(port=args.port)


def cmd_nlu_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from app.nlu_tools import evaluate

    return evaluate(settings, folds=args.folds)


def cmd_nlu_predict(args: argparse.Namespace, settings: Settings) -> int:
    from app.nlu_tools import predict_file

    return predict_file(settings, args.input, args.output)


def cmd_officer_add(args: argparse.Namespace, settings: Settings) -> int:
    from app.officers.cli import add_officer

    return asyncio.run(add_officer(settings, args.username, args.password, args.department, args.role))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govchat", description="govchat: the agency's multi-channel Thai chatbot hub"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub (and its workers) in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=cmd_serve)

    kb = sub.add_parser("kb", help="knowledge base tools").add_subparsers(dest="kb_command", required=True)
    validate = kb.add_parser("validate", help="check the knowledge base; exit 1 on any problem")
    validate.add_argument("--warn-stale", action="store_true", help="also list stale and expired entries")
    validate.set_defaults(handler=cmd_kb_validate)

    nlu = sub.add_parser("nlu", help="the Thai NLU").add_subparsers(dest="nlu_command", required=True)
    train = nlu.add_parser("train", help="generate Rasa training data from the knowledge base and train")
    train.add_argument("--force", action="store_true", help="train even when nothing changed")
    train.set_defaults(handler=cmd_nlu_train)
    nlu_serve = nlu.add_parser("serve", help="start the Rasa server on the current model")
    nlu_serve.add_argument("--port", type=int, default=5005)
    nlu_serve.set_defaults(handler=cmd_nlu_serve)
    evaluate = nlu.add_parser("evaluate", help="cross-validated report per intent and per FAQ entry")
    evaluate.add_argument("--folds", type=int, default=5)
    evaluate.set_defaults(handler=cmd_nlu_evaluate)
    predict = nlu.add_parser("predict", help='decide on each line of a JSONL file of {"text": ...}')
    predict.add_argument("--input", required=True)
    predict.add_argument("--output", default="-")
    predict.set_defaults(handler=cmd_nlu_predict)

    officer = sub.add_parser("officer", help="officer accounts").add_subparsers(
        dest="officer_command", required=True
    )
    add = officer.add_parser("add", help="create an officer in the database DATABASE_URL names")
    add.add_argument("--username", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--department", required=True, action="append", help="repeat for several departments")
    add.add_argument("--role", choices=["officer", "supervisor", "admin"], default="officer")
    add.set_defaults(handler=cmd_officer_add)

    from app.cli_extensions import register_extensions

    register_extensions(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            print(
                f"govchat: configuration error: {problem['msg'].removeprefix('Value error, ')}",
                file=sys.stderr,
            )
        return 2
    return handler(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
