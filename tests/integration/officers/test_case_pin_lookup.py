"""The number and PIN lookup from another channel identity, on both databases."""

from __future__ import annotations

import httpx

from app.services import Services
from tests.integration.officers.conftest import new_citizen
from tests.integration.officers.test_case_status_anywhere import file_complaint


async def test_number_and_pin_from_another_identity(client: httpx.AsyncClient, services: Services) -> None:
    filer = await new_citizen(client, services)
    number, pin = await file_complaint(filer)
    other = await new_citizen(client, services)

    await other.say(f"{number.lower().replace('-', ' ')} PIN {pin}")
    answer = (await other.wait_for_reply(1))[-1]["text"]
    await other.say(f"{number} {(int(pin) + 5000) % 10000:04d}")
    refused = (await other.wait_for_reply(2))[-1]["text"]

    assert number in answer and services.responses.complaint_statuses["received"] in answer
    assert refused == services.responses.complaint_pin_refused
