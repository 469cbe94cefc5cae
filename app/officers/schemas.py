"""Request bodies of the officer and admin APIs."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from app.officers.models import Role

MAX_TEXT_CODE_POINTS = 2000


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("text is empty")
    if len(value) > MAX_TEXT_CODE_POINTS:  # str length counts code points
        raise ValueError(f"text is longer than {MAX_TEXT_CODE_POINTS} characters")
    return value


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    token: str


class ReplyRequest(BaseModel):
    text: str

    _check = field_validator("text")(_text)


class MessageAccepted(BaseModel):
    message_id: str


class NoteRequest(BaseModel):
    text: str

    _check = field_validator("text")(_text)


class TransferRequest(BaseModel):
    department: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=MAX_TEXT_CODE_POINTS)


class AssignRequest(BaseModel):
    officer_id: str | None


class OfficerCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=1024)
    departments: list[str] = Field(min_length=1)
    role: Role = Role.OFFICER


class OfficerUpdate(BaseModel):
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    departments: list[str] | None = Field(default=None, min_length=1)
    role: Role | None = None
    active: bool | None = None
