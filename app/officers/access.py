"""Who may see and do what: departments and roles."""

from __future__ import annotations

from collections.abc import Iterable

from app.conversations.models import Conversation
from app.officers.models import Officer, Role

ALL_DEPARTMENTS = "*"  # in ``Officer.departments``: every department, present and future


def department_scope(officer: Officer) -> frozenset[str] | None:
    """The departments an officer works for; ``None`` means all of them."""
    if officer.role == Role.ADMIN or ALL_DEPARTMENTS in (officer.departments or []):
        return None
    return frozenset(officer.departments or [])


def visible_departments(officer: Officer, all_departments: Iterable[str]) -> list[str]:
    scope = department_scope(officer)
    return [d for d in all_departments if scope is None or d in scope]


def can_see(officer: Officer, conversation: Conversation) -> bool:
    scope = department_scope(officer)
    if scope is None:
        return True
    return conversation.department is not None and conversation.department in scope


def can_overrule(officer: Officer) -> bool:
    """Supervisors and admins may transfer, resolve and reassign what another officer holds."""
    return officer.role in (Role.SUPERVISOR, Role.ADMIN)


def is_admin(officer: Officer) -> bool:
    return officer.role == Role.ADMIN
