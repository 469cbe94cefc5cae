"""A small knowledge base written into ``tmp_path``, to break one rule at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

DEPARTMENTS = """\
departments:
  - id: registration
    name_th: งานจดทะเบียน
    name_en: Registration
  - id: accounts
    name_th: งานบัญชี
    name_en: Accounts
required_ids:
  name_reservation: registration
  financial_statement_submission: accounts
"""

NAME_QUESTIONS = [
    "จองชื่อบริษัทยังไงคะ",
    "วิธีจองชื่อนิติบุคคล",
    "จองชื่อห้างหุ้นส่วนออนไลน์ได้ไหม",
    "ตรวจสอบชื่อซ้ำได้ที่ไหน",
    "ขั้นตอนการจองชื่อ",
    "อยากตั้งชื่อบริษัทใหม่",
    "ระบบจองชื่ออยู่ไหนครับ",
    "จองชื่อ หจก",
]
FILING_QUESTIONS = [
    "ส่งงบการเงินออนไลน์ยังไง",
    "ยื่นงบผ่าน e-Filing",
    "ไฟล์ XBRL ทำยังไงครับ",
    "นำส่งงบการเงินประจำปี",
    "แนบ PDF งบการเงิน",
    "สมัครสมาชิกเพื่อยื่นงบ",
    "ยื่นงบของห้างหุ้นส่วน",
    "งบการเงินส่งที่ไหนคะ",
]


def entry_yaml(
    faq_id: str,
    department: str,
    questions: list[str],
    *,
    title: str = "หัวข้อทดสอบ",
    answer: str = "เข้าระบบออนไลน์ของกรม แล้วทำตามขั้นตอนที่ระบบแสดงทีละขั้นค่ะ หากติดขัดโทร 1570 ค่ะ",
    source_url: str = "https://www.dbd.go.th/",
    reviewed_at: str = "2026-11-01",
    extra: str = "",
    related: list[str] | None = None,
) -> str:
    lines = [
        f"- id: {faq_id}",
        f"  department: {department}",
        f"  title: {title}",
        f"  answer: {answer}",
        f"  source_url: {source_url}",
        f"  reviewed_at: {reviewed_at}",
    ]
    lines += [f"  {line}" for line in extra.splitlines()]
    if related is not None:
        lines.append("  related:")
        lines += [f"    - {item}" for item in related]
    lines.append("  questions:")
    lines += [f"    - {question}" for question in questions]
    return "\n".join(lines) + "\n"


@dataclass
class TmpKnowledgeBase:
    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def line_of(self, relative: str, needle: str, occurrence: int = 1) -> int:
        """1-based line of the ``occurrence``-th line of the file containing ``needle``."""
        hits = [
            number
            for number, line in enumerate((self.root / relative).read_text(encoding="utf-8").splitlines(), 1)
            if needle in line
        ]
        return hits[occurrence - 1]


WriteKb = Callable[..., TmpKnowledgeBase]


@pytest.fixture
def write_kb(tmp_path: Path) -> WriteKb:
    """Writes a valid two-department knowledge base; keyword arguments replace its files."""

    def write(
        departments: str = DEPARTMENTS,
        registration: str | None = None,
        accounts: str | None = None,
    ) -> TmpKnowledgeBase:
        kb = TmpKnowledgeBase(tmp_path / "kb")
        kb.write("departments.yml", departments)
        kb.write(
            "faq/registration.yml",
            registration
            if registration is not None
            else entry_yaml("name_reservation", "registration", NAME_QUESTIONS),
        )
        kb.write(
            "faq/accounts.yml",
            accounts
            if accounts is not None
            else entry_yaml("financial_statement_submission", "accounts", FILING_QUESTIONS),
        )
        return kb

    return write
