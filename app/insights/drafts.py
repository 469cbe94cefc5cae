"""Knowledge-base question drafts: an unanswered question copied for a curator to review.

A draft is a YAML file under ``<kb root>/drafts/``, outside ``faq/``: the loader never reads it,
so nothing a citizen sees changes until a curator moves the question into an entry and
``govchat kb validate`` passes. The same question for the same entry gives the same file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.logging import mask_pii
from knowledge_base.loader import KnowledgeBase

DRAFTS_DIR = "drafts"
FAQ_ID = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_QUESTION_CHARS = 500
HEADER = """\
# ร่างคำถามสำหรับฐานความรู้ (ยังไม่เผยแพร่) - a knowledge-base question draft, NOT live.
# To publish: add the question(s) below to the entry's `questions:` in faq/<department>.yml
# (or write the new entry there), run `govchat kb validate`, then delete this draft.
"""


class SuggestionError(ValueError):
    """The suggestion cannot be drafted; ``str(error)`` says why."""


@dataclass(frozen=True)
class Draft:
    path: Path
    relative_path: str  # to the knowledge-base root, e.g. ``drafts/name_reservation-1a2b3c4d5e.yml``
    faq_id: str | None
    question: str  # as written into the draft (personal data masked)
    created: bool  # False: the same suggestion was drafted before


def clean_question(text: str) -> str:
    question = " ".join(mask_pii(text).split())
    if not question:
        raise SuggestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise SuggestionError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
    return question


def _content(
    kb: KnowledgeBase, faq_id: str | None, question: str, source: str, now: dt.datetime
) -> dict[str, Any]:
    entry = kb.entry(faq_id) if faq_id else None
    return {
        "faq_id": faq_id,
        "entry_exists": entry is not None,
        "department": entry.department if entry else None,
        "title": entry.title if entry else None,
        "questions": [question],
        "suggested_at": now.isoformat(timespec="seconds"),
        "source": source,
    }


def write_suggestion(
    root: Path,
    kb: KnowledgeBase,
    faq_id: str | None,
    question_text: str,
    *,
    source: str,
    now: dt.datetime,
) -> Draft:
    """Write (or find) the draft adding ``question_text`` to entry ``faq_id`` (None: a new entry)."""
    if faq_id is not None and not FAQ_ID.fullmatch(faq_id):
        raise SuggestionError("faq_id must be lower-case letters, digits and '_', starting with a letter")
    question = clean_question(question_text)
    digest = hashlib.sha256(f"{faq_id or ''}\n{question}".encode()).hexdigest()[:10]
    relative = f"{DRAFTS_DIR}/{faq_id or 'new_entry'}-{digest}.yml"
    path = root / relative
    if path.exists():
        return Draft(path, relative, faq_id, question, created=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(
        _content(kb, faq_id, question, source, now), allow_unicode=True, sort_keys=False, width=1000
    )
    temporary = path.with_suffix(".tmp")
    temporary.write_text(HEADER + body, encoding="utf-8")
    temporary.replace(path)
    return Draft(path, relative, faq_id, question, created=True)
