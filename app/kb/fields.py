"""An entry's fields at the boundary: typed from the database's JSON, and a draft checked by ``kb validate``'s rules.

A change sets some fields over the published version; the merged entry must pass the rules of
``knowledge_base.entry_rules`` against the other entries in service, and every refusal names its
field with a Thai reason for the editor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.kb.models import EntryStatus
from knowledge_base.entry_rules import placement_findings, question_findings, text_findings
from knowledge_base.schema import Department, FaqEntry

STATUS = "status"
CONTENT_FIELDS = tuple(name for name in FaqEntry.model_fields if name != "id")
CHANGE_FIELDS = frozenset((*CONTENT_FIELDS, STATUS))
OPTIONAL_TEXT_FIELDS = frozenset({"detail", "title_en", "answer_en", "expires_at"})
FIELD_LABELS = {
    "id": "รหัสรายการ",
    "department": "ฝ่าย",
    "title": "หัวข้อ",
    "answer": "คำตอบ",
    "title_en": "หัวข้อภาษาอังกฤษ",
    "answer_en": "คำตอบภาษาอังกฤษ",
    "detail": "รายละเอียด",
    "source_url": "แหล่งที่มา",
    "reviewed_at": "วันที่ตรวจทาน",
    "expires_at": "วันหมดอายุ",
    "related": "รายการที่เกี่ยวข้อง",
    "questions": "คำถาม",
    STATUS: "สถานะ",
}
_TYPE_REASONS = {
    "missing": "ต้องระบุ{label}",
    "string_type": "{label}ต้องเป็นข้อความ",
    "list_type": "{label}ต้องเป็นรายการข้อความ",
    "url_parsing": "{label}ต้องเป็นลิงก์ที่ถูกต้อง",
    "url_scheme": "{label}ต้องเป็นลิงก์ https",
    "url_type": "{label}ต้องเป็นลิงก์ที่ถูกต้อง",
    "date_from_datetime_parsing": "{label}ต้องเป็นวันที่รูปแบบ ปปปป-ดด-วว",
    "date_parsing": "{label}ต้องเป็นวันที่รูปแบบ ปปปป-ดด-วว",
    "date_type": "{label}ต้องเป็นวันที่รูปแบบ ปปปป-ดด-วว",
    "date_from_datetime_inexact": "{label}ต้องเป็นวันที่รูปแบบ ปปปป-ดด-วว",
    "string_pattern_mismatch": "{label}ใช้ได้เฉพาะอักษรอังกฤษตัวเล็ก ตัวเลข และ _ โดยขึ้นต้นด้วยตัวอักษร",
    "extra_forbidden": "ไม่มีช่อง {label}",
}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    msg: str


@dataclass(frozen=True)
class CheckedDraft:
    """A change merged over its entry: the entry it would publish (None while invalid) and what is wrong."""

    entry: FaqEntry | None
    status: str
    fields: dict[str, Any]  # the change's own fields, in the database's JSON form
    problems: list[FieldProblem]


def entry_of(entry_id: str, fields: Mapping[str, Any]) -> FaqEntry:
    return FaqEntry.model_validate({**fields, "id": entry_id})


def fields_of(entry: FaqEntry) -> dict[str, Any]:
    return entry.model_dump(mode="json", exclude={"id"})


def _label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def _cleaned(name: str, value: Any) -> Any:
    """Spaces around texts are not content; an emptied optional field is cleared (whitespace-only is empty)."""
    if isinstance(value, str):
        value = value.strip()
        if not value and name in OPTIONAL_TEXT_FIELDS:
            return None
    elif isinstance(value, list):
        value = [item.strip() if isinstance(item, str) else item for item in value]
    return value


def clean_change_fields(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
    fields: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name, value in raw.items():
        if name == "id":
            problems.append(FieldProblem("id", "เปลี่ยนรหัสรายการไม่ได้ (สร้างรายการใหม่แทน)"))
        elif name not in CHANGE_FIELDS:
            problems.append(FieldProblem(name, f"ไม่มีช่อง “{name}” ในรายการความรู้"))
        else:
            fields[name] = _cleaned(name, value)
    for name in ("title", "answer"):
        if name in fields and fields[name] == "":
            problems.append(FieldProblem(name, f"ต้องระบุ{_label(name)}"))
    for index, question in enumerate(fields.get("questions") or []):
        if question == "":
            problems.append(FieldProblem("questions", f"คำถามข้อที่ {index + 1} ว่างอยู่"))
    return fields, problems


def _schema_problems(error: ValidationError) -> list[FieldProblem]:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "entry"
        template = _TYPE_REASONS.get(item["type"], "{label}ไม่ถูกต้อง")
        problems.append(FieldProblem(field, template.format(label=_label(field))))
    return problems


@dataclass(frozen=True)
class Rules:
    """What the rules compare a draft with: the entries in service and the departments file."""

    published: Mapping[str, FaqEntry]  # every entry citizens are answered from, by id
    departments: Mapping[str, Department]
    required_ids: Mapping[str, str]


def check_draft(
    entry_id: str,
    base_fields: Mapping[str, Any] | None,
    base_status: str | None,
    raw_fields: Mapping[str, Any],
    rules: Rules,
) -> CheckedDraft:
    """Merge ``raw_fields`` over the entry's published fields (``None``: a new entry) and check the result."""
    fields, problems = clean_change_fields(raw_fields)
    status = str(fields.get(STATUS, base_status or EntryStatus.PUBLISHED))
    if status not in tuple(EntryStatus):
        problems.append(FieldProblem(STATUS, "สถานะต้องเป็น published หรือ retired"))
    elif base_fields is None and status == EntryStatus.RETIRED:
        problems.append(FieldProblem(STATUS, "รายการใหม่ยังไม่ได้เผยแพร่ จึงยกเลิกไม่ได้"))
    content = {name: value for name, value in fields.items() if name != STATUS}
    try:
        entry = entry_of(entry_id, {**(base_fields or {}), **content})
    except ValidationError as error:
        return CheckedDraft(None, status, fields, problems + _schema_problems(error))
    others = {faq_id: other for faq_id, other in rules.published.items() if faq_id != entry_id}
    findings = list(placement_findings(entry, others, rules.departments, rules.required_ids))
    if status == EntryStatus.RETIRED:
        problems += _retirement_problems(entry, others.values(), rules.required_ids)
    else:
        findings += text_findings(entry)
        findings += question_findings(entry, others.values())
    problems += [FieldProblem(finding.field, finding.message_th) for finding in findings]
    canonical = fields_of(entry)
    stored = {name: canonical[name] for name in content}
    if STATUS in fields:
        stored[STATUS] = status
    return CheckedDraft(entry if not problems else None, status, stored, problems)


def _retirement_problems(
    entry: FaqEntry, others: Iterable[FaqEntry], required_ids: Mapping[str, str]
) -> list[FieldProblem]:
    """``kb validate`` refuses a knowledge base without a required entry, or with a ``related`` to nowhere."""
    problems = []
    if entry.id in required_ids:
        problems.append(FieldProblem(STATUS, "รายการนี้เป็นรายการที่ต้องมี จึงยกเลิกไม่ได้ (แก้ไขเนื้อหาแทน)"))
    pointing = [other.title for other in others if entry.id in other.related]
    if pointing:
        titles = ", ".join(f"“{title}”" for title in pointing)
        problems.append(
            FieldProblem(STATUS, f"ยกเลิกไม่ได้ เพราะรายการ {titles} อ้างถึงรายการนี้ (ลบออกจากรายการที่เกี่ยวข้องก่อน)")
        )
    return problems


def diff_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Field by field, in the schema's order, only what differs."""
    names = [*CONTENT_FIELDS, STATUS]
    names += sorted((set(before) | set(after)) - set(names))
    return [
        {"field": name, "before": before.get(name), "after": after.get(name)}
        for name in names
        if name in after and before.get(name) != after.get(name)
    ]
