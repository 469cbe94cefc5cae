"""Typed shape of the knowledge base files (``faq/*.yml``, ``departments.yml``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class Department(BaseModel):
    """An officer queue. ``target_wait_minutes`` colours the console queue when breached."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_th: str
    name_en: str
    target_wait_minutes: int = Field(default=30, gt=0)


class FaqEntry(BaseModel):
    """One curated answer and the citizen questions it answers."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    department: str
    title: str
    answer: str
    # English title and answer, where the agency publishes the information in English too: a
    # question written in English gets them (``knowledge_base.language``).
    title_en: str | None = None
    answer_en: str | None = None
    detail: str | None = None
    source_url: HttpUrl
    reviewed_at: dt.date
    expires_at: dt.date | None = None
    related: list[str] = Field(default_factory=list)
    questions: list[str]

    def is_expired(self, today: dt.date) -> bool:
        return self.expires_at is not None and self.expires_at < today
