"""``govchat kb export`` and ``govchat kb import``: the published knowledge base as YAML files, and back.

The export writes today's format (``departments.yml`` and ``faq/<department>.yml``), so changes can
be reviewed in version control and ``govchat kb validate`` passes on it. It is deterministic: the
same database gives the same bytes (entries in their department's order, fields in one order,
stable quoting and line breaks). An import brings a folder in as reviewed changes, published at
once by "import" and audited; entries the folder no longer has are retired.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.schema import utcnow
from app.kb import repository
from app.kb.fields import entry_of, fields_of
from app.kb.models import ChangeStatus, EntryStatus, KbChange
from app.kb.publishing import Person, publish_version
from app.officers.repository import add_audit
from knowledge_base.loader import DepartmentsFile, load_knowledge_base
from knowledge_base.parsing import DEPARTMENTS_FILE, FAQ_DIR, Problem, read_yaml
from knowledge_base.schema import FaqEntry
from knowledge_base.validate import validate_knowledge_base

IMPORTER = Person("import")
# The order fields are written in, as the curated files have them.
FIELD_ORDER = (
    "id",
    "department",
    "title",
    "answer",
    "detail",
    "title_en",
    "answer_en",
    "source_url",
    "reviewed_at",
    "expires_at",
    "related",
    "questions",
)


class _FlowList(list[str]):
    """A short list written on one line (``related: [a, b]``)."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # lists under a key indented, as in the curated files
        super().increase_indent(flow, False)


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_flow_list(dumper: yaml.SafeDumper, items: _FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=True)


_Dumper.add_representer(str, _represent_text)
_Dumper.add_representer(_FlowList, _represent_flow_list)


def _entry_document(entry: FaqEntry) -> dict[str, Any]:
    values = entry.model_dump(mode="python")
    values["source_url"] = str(entry.source_url)
    document: dict[str, Any] = {}
    for name in FIELD_ORDER:
        value = values.get(name)
        if value is None or value == []:
            continue
        document[name] = _FlowList(value) if name == "related" else value
    return document


def render_department_file(department_name: str, entries: Sequence[FaqEntry]) -> str:
    header = f"# {department_name}: exported from the govchat database by `govchat kb export`.\n\n"
    body = yaml.dump(
        [_entry_document(entry) for entry in entries],
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=10_000,
        default_flow_style=False,
    )
    # a blank line between entries, as in the curated files
    return header + body.replace("\n- id:", "\n\n- id:")


async def export_knowledge_base(
    sessionmaker: async_sessionmaker[AsyncSession], departments_root: Path, output: Path
) -> int:
    """Write the published entries under ``output``; the number of entries written."""
    async with sessionmaker() as session:
        rows = await repository.published_entries(session)
    by_department: dict[str, list[FaqEntry]] = {}
    for row in rows:
        by_department.setdefault(row.department, []).append(entry_of(row.id, row.fields))
    faq_dir = output / FAQ_DIR
    faq_dir.mkdir(parents=True, exist_ok=True)
    for stale in faq_dir.glob("*.yml"):  # a department emptied since the last export
        if stale.stem not in by_department:
            stale.unlink()
    shutil.copyfile(departments_root / DEPARTMENTS_FILE, output / DEPARTMENTS_FILE)
    departments = read_yaml(departments_root / DEPARTMENTS_FILE)
    names = {item["id"]: item.get("name_en", item["id"]) for item in departments.get("departments", [])}
    for department in sorted(by_department):
        text = render_department_file(names.get(department, department), by_department[department])
        (faq_dir / f"{department}.yml").write_text(text, encoding="utf-8")
    return len(rows)


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "retired": len(self.retired),
            "unchanged": self.unchanged,
        }


def check_folder(folder: Path, hub_departments: DepartmentsFile, today: dt.date) -> list[Problem]:
    """What ``kb validate`` refuses in the folder, and departments the hub does not have."""
    problems = [p for p in validate_knowledge_base(folder, today) if p.severity == "error"]
    if problems:
        return problems
    for entry in load_knowledge_base(folder).entries.values():
        if entry.department not in hub_departments.departments:
            message = (
                f"entry {entry.id!r}: department {entry.department!r} is not one of the hub's departments"
            )
            problems.append(Problem(folder / FAQ_DIR / f"{entry.department}.yml", 1, message))
    return problems


async def import_knowledge_base(
    sessionmaker: async_sessionmaker[AsyncSession], folder: Path, hub_departments: DepartmentsFile
) -> ImportReport:
    """Publish the folder's entries as reviewed changes by "import", in one transaction."""
    report = ImportReport(problems=check_folder(folder, hub_departments, utcnow().date()))
    if report.problems:
        return report
    incoming = load_knowledge_base(folder).entries
    async with sessionmaker() as session, session.begin():
        current = {row.id: row for row in await repository.all_entries(session)}
        for entry in incoming.values():
            row = current.get(entry.id)
            fields = fields_of(entry)
            if row is not None and row.status == EntryStatus.PUBLISHED and row.fields == fields:
                report.unchanged += 1
                continue
            (report.created if row is None else report.updated).append(entry.id)
            await _publish(session, row, entry.id, entry.department, EntryStatus.PUBLISHED, fields)
        for entry_id, row in current.items():
            if entry_id not in incoming and row.status == EntryStatus.PUBLISHED:
                report.retired.append(entry_id)
                await _publish(session, row, entry_id, row.department, EntryStatus.RETIRED, row.fields)
        add_audit(session, None, "kb_import", None, {"folder": folder.name, **report.as_dict()})
    return report


async def _publish(
    session: AsyncSession,
    row: Any,
    entry_id: str,
    department: str,
    status: str,
    fields: dict[str, Any],
) -> None:
    before = {**row.fields, "status": row.status} if row is not None else {}
    after = {**fields, "status": status}
    change = KbChange(
        entry_id=entry_id,
        department=department,
        status=ChangeStatus.PUBLISHED,
        is_new_entry=row is None,
        base_version=row.version if row is not None else 0,
        fields={name: value for name, value in after.items() if before.get(name) != value},
        author_username=IMPORTER.username,
        created_at=utcnow(),
        reviewer_username=IMPORTER.username,
        reviewed_at=utcnow(),
    )
    session.add(change)
    await session.flush()
    change.published_version = await publish_version(
        session,
        row,
        entry_id=entry_id,
        department=department,
        status=status,
        fields=fields,
        author=IMPORTER,
        approver=IMPORTER,
        change_id=change.id,
        base_version=change.base_version,
    )
