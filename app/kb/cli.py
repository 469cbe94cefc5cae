"""``govchat kb export --output DIR`` and ``govchat kb import DIR``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.settings import Settings
from knowledge_base.loader import DEFAULT_ROOT, KnowledgeBaseError, load_departments


async def kb_export(args: argparse.Namespace, settings: Settings) -> int:
    from app.insights.cli import _database
    from app.kb.live import seed_if_empty
    from app.kb.transfer import export_knowledge_base

    root = settings.kb_dir or DEFAULT_ROOT
    output = Path(args.output)
    async with _database(settings) as sessionmaker:
        await seed_if_empty(sessionmaker, root)  # as the hub's first start would
        count = await export_knowledge_base(sessionmaker, root, output)
    print(f"govchat kb export: wrote {count} entries to {output}")
    return 0


async def kb_import(args: argparse.Namespace, settings: Settings) -> int:
    from app.events import create_event_bus
    from app.insights.cli import _database
    from app.kb.live import DatabaseKnowledgeBase
    from app.kb.transfer import import_knowledge_base

    root = settings.kb_dir or DEFAULT_ROOT
    folder = Path(args.folder)
    try:
        departments = load_departments(root)
    except KnowledgeBaseError as error:
        print(f"govchat kb import: {error}", file=sys.stderr)
        return 1
    async with _database(settings) as sessionmaker:
        report = await import_knowledge_base(sessionmaker, folder, departments)
        if report.problems:
            for problem in report.problems:
                print(problem, file=sys.stderr)
            print(f"govchat kb import: nothing imported, {len(report.problems)} problem(s)", file=sys.stderr)
            return 1
        if report.created or report.updated or report.retired:
            bus = create_event_bus(settings.redis_url)
            try:  # running hubs reload at once (without Redis: at their next check)
                kb = await DatabaseKnowledgeBase.open(sessionmaker, bus, root)
                await kb.announce("", questions_changed=True)
            finally:
                await bus.aclose()
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    return 0


def register(sub: Any) -> None:
    from app.insights.cli import _handler, _subcommands

    kb = _subcommands(sub.choices["kb"])
    export = kb.add_parser(
        "export", help="write the published knowledge base as YAML (kb validate passes on it)"
    )
    export.add_argument("--output", required=True, help="the folder to write (departments.yml, faq/*.yml)")
    export.set_defaults(handler=_handler(kb_export))
    load = kb.add_parser("import", help="publish a folder of knowledge-base YAML as reviewed changes")
    load.add_argument("folder", help="a folder as `govchat kb export` writes it")
    load.set_defaults(handler=_handler(kb_import))
