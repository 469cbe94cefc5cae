"""``govchat retention run``, ``govchat kb suggest`` and ``govchat citizen export|erase``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import run_migrations
from app.db.schema import utcnow
from app.settings import Settings
from channels.base import Channel

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = settings.resolved_database_url()
    await asyncio.to_thread(run_migrations, url)
    engine = create_engine(url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def _print_json(data: Any, output: str = "-") -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output == "-":
        print(text)
    else:
        Path(output).write_text(text + "\n", encoding="utf-8")


async def retention_run(args: argparse.Namespace, settings: Settings) -> int:
    from app.insights.retention import run_retention

    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        print("govchat retention run: --days must be at least 1", file=sys.stderr)
        return 1
    async with _database(settings) as sessionmaker:
        report = await run_retention(sessionmaker, settings.var_dir, days)
    _print_json(report.as_dict())
    return 0


async def kb_suggest(args: argparse.Namespace, settings: Settings) -> int:
    from app.insights.drafts import SuggestionError, write_suggestion
    from knowledge_base.loader import DEFAULT_ROOT, load_knowledge_base

    root = settings.kb_dir or DEFAULT_ROOT
    try:
        draft = write_suggestion(
            root, load_knowledge_base(root), args.faq_id, args.question, source="cli", now=utcnow()
        )
    except SuggestionError as error:
        print(f"govchat kb suggest: {error}", file=sys.stderr)
        return 1
    verb = "wrote" if draft.created else "already drafted:"
    print(
        f"govchat: {verb} {draft.path} (not live: move the question into faq/ and run `govchat kb validate`)"
    )
    return 0


async def citizen_export(args: argparse.Namespace, settings: Settings) -> int:
    from app.insights.export import CitizenNotFound, export_citizen

    async with _database(settings) as sessionmaker:
        try:
            data = await export_citizen(sessionmaker, args.channel, args.user_id)
        except CitizenNotFound as error:
            print(f"govchat citizen export: {error}", file=sys.stderr)
            return 1
    _print_json(data, args.output)
    return 0


async def citizen_erase(args: argparse.Namespace, settings: Settings) -> int:
    from app.insights.export import CitizenNotFound, ErasureRefused, erase_citizen

    async with _database(settings) as sessionmaker:
        try:
            counts = await erase_citizen(sessionmaker, settings.var_dir, args.channel, args.user_id)
        except (CitizenNotFound, ErasureRefused) as error:
            print(f"govchat citizen erase: {error}", file=sys.stderr)
            return 1
    _print_json({"erased": True, **counts})
    return 0


def _handler(command: Command) -> Callable[[argparse.Namespace, Settings], int]:
    return lambda args, settings: asyncio.run(command(args, settings))


def _subcommands(parser: argparse.ArgumentParser) -> Any:
    """The sub-command group of an existing command (``govchat kb``), to add to it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise LookupError(f"{parser.prog} has no sub-commands")


def register(sub: Any) -> None:
    retention = sub.add_parser("retention", help="the retention period (GOVCHAT_RETENTION_DAYS)")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_commands.add_parser("run", help="delete personal data older than the retention period")
    run.add_argument("--days", type=int, default=None, help="override GOVCHAT_RETENTION_DAYS once")
    run.set_defaults(handler=_handler(retention_run))

    suggest = _subcommands(sub.choices["kb"]).add_parser(
        "suggest", help="draft a question for a knowledge-base entry under knowledge_base/drafts/"
    )
    suggest.add_argument("--faq-id", required=True)
    suggest.add_argument("--question", required=True)
    suggest.set_defaults(handler=_handler(kb_suggest))

    citizen = sub.add_parser("citizen", help="data-subject requests (audited)")
    citizen_commands = citizen.add_subparsers(dest="citizen_command", required=True)
    for name, command, text in (
        ("export", citizen_export, "print everything held on one citizen as JSON"),
        ("erase", citizen_erase, "erase one citizen's personal data"),
    ):
        parser = citizen_commands.add_parser(name, help=text)
        parser.add_argument("--channel", required=True, choices=[c.value for c in Channel])
        parser.add_argument(
            "--user-id", required=True, help="LINE userId, Messenger PSID or web-chat session id"
        )
        if name == "export":
            parser.add_argument("--output", default="-", help="a file (default: standard output)")
        parser.set_defaults(handler=_handler(command))
