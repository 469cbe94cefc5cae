"""The knowledge-base authoring API: who sees what, drafting, review, history, and citizens answered at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.officers.models import Role
from app.services import Services
from tests.integration.kb.conftest import KB, Editor, approve, make_editor, new_entry_fields, propose
from tests.integration.officers.conftest import new_citizen

ENTRY = "online_courses"  # general
QUESTION = "มีคอร์สเรียนออนไลน์ฟรีไหมคะ"  # one of its training questions
NEW_ANSWER = (
    "เรียนฟรีได้ที่ DBD e-Learning (e-learning.dbd.go.th) ค่ะ สมัครสมาชิกครั้งเดียว"
    " เรียนได้ทุกหลักสูตรผ่านมือถือ และรับวุฒิบัตรได้เมื่อสอบผ่านค่ะ"
)


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # the API's rules; the database matters in test_kb_publishing.py


async def entry(client: httpx.AsyncClient, editor: Editor, entry_id: str) -> dict[str, Any]:
    response = await client.get(f"{KB}/entries/{entry_id}", headers=editor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestEntries:
    async def test_a_supervisor_lists_only_their_departments_entries(
        self, client: httpx.AsyncClient, author: Editor
    ) -> None:
        response = await client.get(f"{KB}/entries", headers=author.headers)
        assert response.status_code == 200
        entries = response.json()["entries"]
        assert {e["department"] for e in entries} == {"general"}
        course = next(e for e in entries if e["id"] == ENTRY)
        assert course["version"] == 1 and course["status"] == "published" and course["pending_changes"] == 0
        assert QUESTION in course["questions"] and course["source_url"].startswith("https://")

    async def test_an_admin_sees_every_department(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.get(f"{KB}/entries", headers=admin_headers)
        departments = {e["department"] for e in response.json()["entries"]}
        assert departments == {"registration", "accounts", "information", "general", "complaints"}

    async def test_search_matches_questions_and_department_filters(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.get(
            f"{KB}/entries", params={"q": "คอร์สเรียนออนไลน์ฟรี", "department": "general"}, headers=admin_headers
        )
        assert [e["id"] for e in response.json()["entries"]] == [ENTRY]
        response = await client.get(
            f"{KB}/entries", params={"q": "คอร์สเรียนออนไลน์ฟรี", "department": "accounts"}, headers=admin_headers
        )
        assert response.json()["entries"] == []

    async def test_stale_and_expiring_filters(
        self, client: httpx.AsyncClient, author: Editor, reviewer: Editor
    ) -> None:
        change = await propose(
            client, author, ENTRY, "general", {"reviewed_at": "2024-01-01", "expires_at": "2026-12-20"}
        )
        await approve(client, reviewer, change)
        for flag in ("stale", "expiring"):
            response = await client.get(f"{KB}/entries", params={flag: "true"}, headers=author.headers)
            assert [e["id"] for e in response.json()["entries"]] == [ENTRY], flag

    async def test_another_departments_entry_is_not_found(
        self, client: httpx.AsyncClient, author: Editor
    ) -> None:
        for path in ("registration_fees", "registration_fees/history", "no_such_entry"):
            response = await client.get(f"{KB}/entries/{path}", headers=author.headers)
            assert response.status_code == 404, path

    async def test_an_officer_is_refused_everywhere(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        officer = await make_editor(client, services, ["general"], Role.OFFICER)
        change = {"entry_id": ENTRY, "department": "general", "fields": {"answer": NEW_ANSWER}}
        for method, path, body in (
            ("GET", "/entries", None),
            ("GET", f"/entries/{ENTRY}", None),
            ("GET", f"/entries/{ENTRY}/history", None),
            ("GET", "/changes", None),
            ("POST", "/changes", change),
            ("POST", "/check", change),
            ("POST", "/changes/x/approve", None),
            ("POST", "/changes/x/reject", {"note": "ไม่"}),
        ):
            response = await client.request(method, KB + path, json=body, headers=officer.headers)
            assert response.status_code == 403, (method, path)


class TestDrafting:
    async def test_a_change_waits_for_review_and_changes_nothing_yet(
        self, client: httpx.AsyncClient, author: Editor, services: Services
    ) -> None:
        change_id = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        assert (await entry(client, author, ENTRY))["pending_changes"] == 1
        assert services.kb.store.current.entries[ENTRY].answer != NEW_ANSWER
        response = await client.get(f"{KB}/changes/{change_id}", headers=author.headers)
        change = response.json()
        assert change["status"] == "pending_review" and change["is_new_entry"] is False
        assert change["author"] == {"id": author.id, "username": author.username}
        [diff] = change["diff"]
        assert diff["field"] == "answer" and diff["after"] == NEW_ANSWER and diff["before"].startswith("กรมมี")

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"answer": "สั้นไป"}, "answer"),
            ({"answer": "   "}, "answer"),
            ({"source_url": "https://example.com/courses"}, "source_url"),
            ({"source_url": "not a link"}, "source_url"),
            ({"reviewed_at": "1 ธันวา"}, "reviewed_at"),
            ({"questions": ["มีคอร์สไหม"]}, "questions"),
            ({"title": "Online courses"}, "title"),
            ({"title_en": "Free online courses"}, "title_en"),
            ({"related": ["no_such_entry"]}, "related"),
            ({"colour": "red"}, "colour"),
        ],
    )
    async def test_what_kb_validate_refuses_is_422_with_a_thai_reason_per_field(
        self, client: httpx.AsyncClient, author: Editor, fields: dict[str, Any], field: str
    ) -> None:
        response = await client.post(
            f"{KB}/changes",
            json={"entry_id": ENTRY, "department": "general", "fields": fields},
            headers=author.headers,
        )
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert {d["field"] for d in detail} == {field}
        assert all(d["loc"] == ["body", "fields", field] and d["type"] == "kb_invalid" for d in detail)
        assert all(any("\u0e00" <= c <= "\u0e7f" for c in d["msg"]) for d in detail), detail
        assert (await entry(client, author, ENTRY))["pending_changes"] == 0

    async def test_a_question_another_entry_has_is_refused(
        self, client: httpx.AsyncClient, author: Editor, services: Services
    ) -> None:
        taken = services.kb.store.current.entries["contact_channels"].questions[0]
        questions = [*services.kb.store.current.entries[ENTRY].questions, taken]
        response = await client.post(
            f"{KB}/changes",
            json={"entry_id": ENTRY, "department": "general", "fields": {"questions": questions}},
            headers=author.headers,
        )
        assert response.status_code == 422
        [problem] = response.json()["detail"]
        assert problem["field"] == "questions" and taken in problem["msg"]

    async def test_a_change_to_another_departments_entry_is_not_found(
        self, client: httpx.AsyncClient, author: Editor
    ) -> None:
        for department in ("registration", "general"):
            response = await client.post(
                f"{KB}/changes",
                json={
                    "entry_id": "registration_fees",
                    "department": department,
                    "fields": {"answer": NEW_ANSWER},
                },
                headers=author.headers,
            )
            assert response.status_code == 404, department

    async def test_check_reports_problems_and_near_duplicates_without_storing(
        self, client: httpx.AsyncClient, author: Editor, services: Services
    ) -> None:
        fields = new_entry_fields("ก")
        taken = services.kb.store.current.entries["contact_channels"].questions[0]
        fields["questions"] = [*fields["questions"], taken]
        fields["answer"] = "สั้นไป"
        response = await client.post(
            f"{KB}/check",
            json={"entry_id": "test_service", "department": "general", "fields": fields},
            headers=author.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert {p["field"] for p in body["problems"]} == {"answer", "questions"}
        assert {
            "question": taken,
            "entry_id": "contact_channels",
            "title": services.kb.store.current.entries["contact_channels"].title,
        } in body["near_duplicates"]
        changes = await client.get(f"{KB}/changes", headers=author.headers)
        assert changes.json()["changes"] == []


class TestReview:
    async def test_a_second_supervisors_approval_is_what_the_next_citizen_reads(
        self, client: httpx.AsyncClient, author: Editor, reviewer: Editor, services: Services
    ) -> None:
        change_id = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        published = await approve(client, reviewer, change_id)
        assert published["status"] == "published" and published["version"] == 2
        assert published["entry"]["answer"] == NEW_ANSWER
        citizen = await new_citizen(client, services)
        await citizen.say(QUESTION)
        [reply] = await citizen.wait_for_reply(1)
        assert NEW_ANSWER.split(" ")[0] in reply["text"] and "รับวุฒิบัตรได้เมื่อสอบผ่าน" in reply["text"]

    async def test_the_author_cannot_approve_their_own_change(
        self, client: httpx.AsyncClient, author: Editor, services: Services
    ) -> None:
        change_id = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        response = await client.post(f"{KB}/changes/{change_id}/approve", headers=author.headers)
        assert response.status_code == 409
        assert "ตนเอง" in response.json()["detail"]
        assert services.kb.store.current.entries[ENTRY].answer != NEW_ANSWER

    async def test_an_admin_approves_any_department(
        self, client: httpx.AsyncClient, author: Editor, admin_headers: dict[str, str]
    ) -> None:
        change_id = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        response = await client.post(f"{KB}/changes/{change_id}/approve", headers=admin_headers)
        assert response.status_code == 200 and response.json()["entry"]["version"] == 2

    async def test_a_supervisor_of_another_department_cannot_see_or_approve(
        self, client: httpx.AsyncClient, author: Editor, services: Services
    ) -> None:
        outsider = await make_editor(client, services, ["registration"])
        change_id = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        for method, path in (("GET", ""), ("POST", "/approve")):
            response = await client.request(
                method, f"{KB}/changes/{change_id}{path}", headers=outsider.headers
            )
            assert response.status_code == 404
        listed = await client.get(f"{KB}/changes", headers=outsider.headers)
        assert listed.json()["changes"] == []

    async def test_a_rejection_carries_its_note_back_and_publishes_nothing(
        self, client: httpx.AsyncClient, author: Editor, reviewer: Editor, services: Services
    ) -> None:
        change_id = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        missing_note = await client.post(
            f"{KB}/changes/{change_id}/reject", json={"note": "  "}, headers=reviewer.headers
        )
        assert missing_note.status_code == 422
        response = await client.post(
            f"{KB}/changes/{change_id}/reject", json={"note": "ระบุค่าธรรมเนียมด้วยค่ะ"}, headers=reviewer.headers
        )
        assert response.json() == {"change_id": change_id, "status": "rejected", "note": "ระบุค่าธรรมเนียมด้วยค่ะ"}
        listed = await client.get(
            f"{KB}/changes", params={"status": "rejected", "entry_id": ENTRY}, headers=author.headers
        )
        [change] = listed.json()["changes"]
        assert change["note"] == "ระบุค่าธรรมเนียมด้วยค่ะ"
        assert change["reviewed_by"]["username"] == reviewer.username
        again = await client.post(f"{KB}/changes/{change_id}/approve", headers=reviewer.headers)
        assert again.status_code == 409
        assert services.kb.store.current.entries[ENTRY].answer != NEW_ANSWER
        assert (await entry(client, author, ENTRY))["version"] == 1

    async def test_history_keeps_every_version_with_who_and_the_diff(
        self, client: httpx.AsyncClient, author: Editor, reviewer: Editor
    ) -> None:
        await approve(
            client, reviewer, await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        )
        response = await client.get(f"{KB}/entries/{ENTRY}/history", headers=author.headers)
        first, second = response.json()["versions"]
        assert (first["version"], first["author"], first["approved_by"]) == (1, "seed", "seed")
        assert (second["version"], second["author"], second["approved_by"]) == (
            2,
            author.username,
            reviewer.username,
        )
        assert second["fields"]["answer"] == NEW_ANSWER
        [diff] = second["diff"]
        assert diff == {"field": "answer", "before": first["fields"]["answer"], "after": NEW_ANSWER}

    async def test_a_stale_approval_is_refused(
        self, client: httpx.AsyncClient, author: Editor, reviewer: Editor
    ) -> None:
        older = await propose(client, author, ENTRY, "general", {"answer": NEW_ANSWER})
        newer = await propose(client, author, ENTRY, "general", {"reviewed_at": "2026-12-05"})
        await approve(client, reviewer, newer)
        response = await client.post(f"{KB}/changes/{older}/approve", headers=reviewer.headers)
        assert response.status_code == 409 and "ฉบับล่าสุด" in response.json()["detail"]

    async def test_a_new_entry_is_published_after_review(
        self, client: httpx.AsyncClient, author: Editor, reviewer: Editor, services: Services
    ) -> None:
        change_id = await propose(client, author, "test_service", "general", new_entry_fields("ก"))
        published = await approve(client, reviewer, change_id)
        assert published["version"] == 1 and published["entry"]["department"] == "general"
        assert services.kb.store.current.entries["test_service"].title == "บริการทดสอบ ก"

    async def test_a_required_entry_cannot_be_retired(
        self, client: httpx.AsyncClient, author: Editor
    ) -> None:
        response = await client.post(
            f"{KB}/changes",
            json={"entry_id": ENTRY, "department": "general", "fields": {"status": "retired"}},
            headers=author.headers,
        )
        assert response.status_code == 422 and response.json()["detail"][0]["field"] == "status"
