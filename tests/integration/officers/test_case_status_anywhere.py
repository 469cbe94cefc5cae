"""Case status in every conversation state, PINs from another identity, cancelling never loses a case.

The database matters only for the number and PIN lookup (``test_case_pin_lookup.py`` runs it on
both); these run on SQLite.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.complaints.models import ComplaintCase
from app.conversations.flows import MAX_PIN_FAILURES
from app.conversations.models import ConversationState
from app.services import Services
from app.settings import Settings
from tests.conftest import make_settings, wait_for
from tests.integration.officers.conftest import (
    Citizen,
    conversation_row,
    conversation_url,
    new_citizen,
)

DESCRIPTION = "ยื่นจดทะเบียนออนไลน์ไปสองสัปดาห์แล้ว ยังไม่มีใครติดต่อกลับเลยค่ะ"
_FILED = re.compile(r"(CMP-\d{4}-\d{6}) PIN (\d{4})")


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


async def file_complaint(citizen: Citizen) -> tuple[str, str]:
    """The bot's complaint flow; the number and PIN the confirmation gives."""
    await citizen.say("ขอร้องเรียนค่ะ")
    await citizen.wait_for_reply(1)
    await citizen.say(DESCRIPTION)
    filed = (await citizen.wait_for_reply(2))[-1]["text"]
    match = _FILED.search(filed)
    assert match is not None, filed
    return match.group(1), match.group(2)


async def case_row(services: Services, number: str) -> ComplaintCase:
    async with services.sessionmaker() as session:
        case = await session.scalar(select(ComplaintCase).where(ComplaintCase.number == number))
    assert case is not None
    return case


def received(services: Services) -> str:
    return services.responses.complaint_statuses["received"]


class TestWhileWaitingOrWithAnOfficer:
    async def test_the_number_is_answered_while_waiting_and_the_officer_sees_it_live(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        number, _pin = await file_complaint(citizen)
        assert (await conversation_row(services, citizen.conversation_id)).state == ConversationState.WAITING

        async with services.bus.subscribe(f"conversation:{citizen.conversation_id}") as events:
            await citizen.say(f"เรื่อง {number} ถึงไหนแล้วคะ")
            answer = (await citizen.wait_for_reply(3))[-1]["text"]
            seen = [await anext(events)]
            while seen[-1]["message"]["direction"] != "out":
                seen.append(await anext(events))

        assert number in answer and received(services) in answer
        assert seen[0]["message"]["text"] == f"เรื่อง {number} ถึงไหนแล้วคะ"
        assert seen[-1]["message"]["text"] == answer  # the console gets the bot's answer live
        detail = (await client.get(conversation_url(citizen.conversation_id), headers=admin_headers)).json()
        assert [m["text"] for m in detail["messages"][-2:]] == [f"เรื่อง {number} ถึงไหนแล้วคะ", answer]
        # still in the queue: asking for the status changes nothing
        assert (await conversation_row(services, citizen.conversation_id)).state == ConversationState.WAITING

    async def test_the_number_is_answered_while_talking_with_an_officer(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        number, _pin = await file_complaint(citizen)
        claimed = await client.post(conversation_url(citizen.conversation_id, "claim"), headers=admin_headers)
        assert claimed.status_code == 200
        joined = len(await citizen.wait_for_reply(3))

        await citizen.say(number.replace("-", " "))

        answer = (await citizen.wait_for_reply(joined + 1))[-1]["text"]
        assert number in answer and received(services) in answer
        row = await conversation_row(services, citizen.conversation_id)
        assert row.state == ConversationState.WITH_OFFICER

    async def test_other_messages_while_waiting_get_no_bot_answer_and_become_the_question(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        citizen = await new_citizen(client, services)
        await file_complaint(citizen)
        detail = "เพิ่มเติมค่ะ เจ้าหน้าที่ที่สำนักงานชื่อคุณสมชาย"

        said = await citizen.say(detail)

        async def noted() -> bool:
            row = await conversation_row(services, citizen.conversation_id)
            return row.question_message_id == int(said)

        await wait_for(noted)
        assert len(await citizen.replies()) == 2  # the officer answers this, not the bot


class TestAnotherIdentity:
    async def test_the_number_alone_asks_for_the_pin_then_the_pin_shows_the_status(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        filer = await new_citizen(client, services)
        number, pin = await file_complaint(filer)
        other = await new_citizen(client, services)  # another tab, another channel identity

        await other.say(number)
        asked = (await other.wait_for_reply(1))[-1]["text"]
        await other.say(pin)
        answer = (await other.wait_for_reply(2))[-1]["text"]

        assert asked == services.responses.complaint_ask_pin and DESCRIPTION not in asked
        assert number in answer and received(services) in answer

    async def test_while_waiting_the_pin_must_come_right_after_it_was_asked_for(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        filer = await new_citizen(client, services)
        number, pin = await file_complaint(filer)
        other = await new_citizen(client, services)
        await file_complaint(other)  # waiting for an officer now
        await other.say(number)
        assert (await other.wait_for_reply(3))[-1]["text"] == services.responses.complaint_ask_pin
        await other.say("รอเจ้าหน้าที่อยู่นะคะ")  # something else first: the request lapses

        said = await other.say(pin)

        async def handled() -> bool:  # a message for the officer becomes the row's question
            row = await conversation_row(services, other.conversation_id)
            return row.question_message_id == int(said)

        await wait_for(handled)
        assert len(await other.replies()) == 3

    async def test_number_and_pin_in_one_message(self, client: httpx.AsyncClient, services: Services) -> None:
        filer = await new_citizen(client, services)
        number, pin = await file_complaint(filer)
        other = await new_citizen(client, services)

        await other.say(f"{number} {pin}")

        answer = (await other.wait_for_reply(1))[-1]["text"]
        assert number in answer and received(services) in answer

    async def test_a_wrong_pin_reveals_nothing_and_guesses_are_limited(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        filer = await new_citizen(client, services)
        number, pin = await file_complaint(filer)
        wrong = f"{(int(pin) + 1) % 10000:04d}"
        guesser = await new_citizen(client, services)

        for n in range(1, MAX_PIN_FAILURES + 1):
            await guesser.say(f"{number} {wrong}")
            refused = (await guesser.wait_for_reply(n))[-1]["text"]
            assert refused == services.responses.complaint_pin_refused
        await guesser.say(f"{number} {pin}")  # even the right PIN, once locked

        locked = (await guesser.wait_for_reply(MAX_PIN_FAILURES + 1))[-1]["text"]
        assert locked == services.responses.complaint_pin_locked
        assert number not in locked
        # an unknown number with a PIN gets the same answer as a wrong PIN
        fresh = await new_citizen(client, services)
        await fresh.say("CMP-2569-999999 1234")
        assert (await fresh.wait_for_reply(1))[-1]["text"] == services.responses.complaint_pin_refused

    async def test_the_pin_is_never_logged_nor_stored_in_clear(
        self, client: httpx.AsyncClient, services: Services, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)  # the production level (GOVCHAT_LOG_LEVEL)
        filer = await new_citizen(client, services)
        number, pin = await file_complaint(filer)
        other = await new_citizen(client, services)
        await other.say(f"{number} {pin}")
        await other.wait_for_reply(1)

        case = await case_row(services, number)
        assert case.pin_hash is not None and pin not in case.pin_hash
        logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
        assert f"PIN {pin}" not in logged and f"{number} {pin}" not in logged


class TestCancellingKeepsTheCase:
    async def test_cancel_after_filing_ends_the_wait_and_the_case_goes_on(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        number, _pin = await file_complaint(citizen)
        filed = (await citizen.replies())[-1]
        assert filed["quick_replies"] == [services.responses.quick_reply_cancel]

        await citizen.say(services.responses.quick_reply_cancel)

        said = (await citizen.wait_for_reply(3))[-1]["text"]
        assert number in said and received(services) in said
        assert (await conversation_row(services, citizen.conversation_id)).state == ConversationState.BOT
        case = await case_row(services, number)
        assert (case.status, case.department) == ("received", "complaints")
        await citizen.say(number)  # and the citizen can still follow it
        assert received(services) in (await citizen.wait_for_reply(4))[-1]["text"]

    async def test_transfer_and_resolve_leave_the_case_as_it_is(
        self, client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
    ) -> None:
        citizen = await new_citizen(client, services)
        number, _pin = await file_complaint(citizen)
        url = conversation_url(citizen.conversation_id)
        assert (await client.post(f"{url}/claim", headers=admin_headers)).status_code == 200
        moved = await client.post(f"{url}/transfer", json={"department": "general"}, headers=admin_headers)
        assert moved.status_code == 200
        assert (await client.post(f"{url}/resolve", headers=admin_headers)).status_code == 200

        case = await case_row(services, number)
        assert (case.status, case.department, case.closed_at) == ("received", "complaints", None)
