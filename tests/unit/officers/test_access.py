"""Who sees what: departments and roles."""

from __future__ import annotations

from app.conversations.models import Conversation
from app.officers.access import can_overrule, can_see, department_scope, visible_departments
from app.officers.models import Officer, Role

ALL = ["registration", "accounts", "information", "general", "complaints"]


def officer(role: Role, departments: list[str]) -> Officer:
    return Officer(username="x", password_hash="x", role=role, departments=departments, active=True)


def conversation(department: str | None) -> Conversation:
    return Conversation(citizen_id="c", channel="webchat", department=department)


class TestScope:
    def test_an_officer_sees_their_own_departments(self) -> None:
        somsri = officer(Role.OFFICER, ["accounts"])
        assert department_scope(somsri) == frozenset({"accounts"})
        assert can_see(somsri, conversation("accounts"))
        assert not can_see(somsri, conversation("registration"))
        assert not can_see(somsri, conversation(None))

    def test_the_star_means_every_department(self) -> None:
        everyone = officer(Role.OFFICER, ["*"])
        assert department_scope(everyone) is None
        assert visible_departments(everyone, ALL) == ALL

    def test_an_administrator_sees_everything(self) -> None:
        admin = officer(Role.ADMIN, [])
        assert can_see(admin, conversation("complaints"))
        assert can_see(admin, conversation(None))

    def test_a_supervisor_is_limited_to_their_departments_but_may_overrule(self) -> None:
        boss = officer(Role.SUPERVISOR, ["general"])
        assert not can_see(boss, conversation("accounts"))
        assert can_overrule(boss)
        assert not can_overrule(officer(Role.OFFICER, ["general"]))
