"""Outside office hours an escalated citizen is told when to expect an answer (clock injected)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from app.services import Services
from tests.integration.officers.conftest import new_citizen

BANGKOK = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # the notice depends on the clock, not the database


def _set_clock(services: Services, moment: dt.datetime) -> None:
    services.workers.pipeline.flows.clock = lambda: moment


class TestEscalationNotice:
    async def test_on_a_saturday_the_citizen_learns_when_officers_are_back(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        _set_clock(services, dt.datetime(2026, 12, 5, 10, 0, tzinfo=BANGKOK))  # Saturday, Father's Day
        citizen = await new_citizen(client, services)

        await citizen.say("ขอคุยกับเจ้าหน้าที่")

        text = (await citizen.wait_for_reply(1))[-1]["text"]
        assert "คิวที่ 1" in text
        assert "นอกเวลาทำการ" in text
        # Monday 7 December is the substitution holiday: Tuesday morning is the next opening
        assert "วันอังคารที่ 8 ธันวาคม 2569 เวลา 08:30 น." in text

    async def test_on_a_weekday_evening_the_next_morning_is_given(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        _set_clock(services, dt.datetime(2026, 11, 25, 18, 45, tzinfo=BANGKOK))  # Wednesday evening
        citizen = await new_citizen(client, services)
        await citizen.say("ขอคุยกับเจ้าหน้าที่")
        text = (await citizen.wait_for_reply(1))[-1]["text"]
        assert "วันพฤหัสบดีที่ 26 พฤศจิกายน 2569 เวลา 08:30 น." in text

    @pytest.mark.parametrize("hour", [9, 16])
    async def test_during_office_hours_there_is_no_after_hours_notice(
        self, client: httpx.AsyncClient, services: Services, hour: int
    ) -> None:
        _set_clock(services, dt.datetime(2026, 11, 25, hour, 0, tzinfo=BANGKOK))
        citizen = await new_citizen(client, services)
        await citizen.say("ขอคุยกับเจ้าหน้าที่")
        text = (await citizen.wait_for_reply(1))[-1]["text"]
        assert text == services.responses.escalated.format(position=1)

    async def test_the_queue_reminder_repeats_the_notice(
        self, client: httpx.AsyncClient, services: Services
    ) -> None:
        _set_clock(services, dt.datetime(2027, 1, 1, 9, 0, tzinfo=BANGKOK))  # New Year's Day
        citizen = await new_citizen(client, services)
        await citizen.say("ขอคุยกับเจ้าหน้าที่")
        await citizen.wait_for_reply(1)
        await citizen.say("ขอคุยกับเจ้าหน้าที่")
        text = (await citizen.wait_for_reply(2))[-1]["text"]
        assert text.startswith(services.responses.still_waiting.format(position=1))
        assert "วันจันทร์ที่ 4 มกราคม 2570 เวลา 08:30 น." in text
