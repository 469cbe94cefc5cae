"""``GET /api/admin/opendata.csv`` against INTERFACES.md, on SQLite.

``TestDailyAggregates`` on PostgreSQL too: the days and counts are SQL that differs between them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx
import pytest

from tests.integration.insights.conftest import PHONE, PHONE_DIGITS, THAI_ID, Seeder, decision

URL = "/api/admin/opendata.csv"
HEADER = "date,channel,intent,faq_id,messages,escalations"
BANGKOK = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture
def hub_database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url  # access, the file's form and refused periods: the API's rules


def bangkok(day: str, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=BANGKOK)


def rows(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


class TestAccess:
    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get(URL, params={"from": "2026-01-01", "to": "2026-01-31"})
        assert response.status_code == 401

    async def test_an_officer_is_refused(
        self, client: httpx.AsyncClient, officer_only_headers: dict[str, str]
    ) -> None:
        response = await client.get(
            URL, params={"from": "2026-01-01", "to": "2026-01-31"}, headers=officer_only_headers
        )
        assert response.status_code == 403

    async def test_a_supervisor_downloads_it(
        self, client: httpx.AsyncClient, supervisor_headers: dict[str, str]
    ) -> None:
        response = await client.get(
            URL, params={"from": "2026-01-01", "to": "2026-01-31"}, headers=supervisor_headers
        )
        assert response.status_code == 200


class TestDailyAggregates:
    @pytest.fixture
    def hub_database_url(self, database_url: str) -> str:
        return database_url  # Bangkok days: timezone() on PostgreSQL, date(..., '+7 hours') on SQLite

    async def test_daily_counts_per_channel_intent_and_faq_with_small_counts_suppressed(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str], seeder: Seeder
    ) -> None:
        line = await seeder.conversation("line")
        web = await seeder.conversation("webchat")
        answer = decision("answer", faq_id="company_certificate")
        for minute in range(6):
            await seeder.message(
                line, "ขอหนังสือรับรอง", nlu=answer, created_at=bangkok("2026-03-02", 9, minute)
            )
        escalate = decision("escalate", faq_id="company_certificate", reason="low_confidence", confidence=0.3)
        for minute in range(2):
            await seeder.message(
                line, "ขอหนังสือรับรองด่วน", nlu=escalate, created_at=bangkok("2026-03-02", 10, minute)
            )
        for minute in range(5):
            await seeder.message(
                web,
                "คุยกับเจ้าหน้าที่",
                nlu=decision("escalate", intent="request_human", reason="requested"),
                created_at=bangkok("2026-03-03", 11, minute),
            )

        response = await client.get(
            URL, params={"from": "2026-03-02", "to": "2026-03-03"}, headers=admin_headers
        )

        assert rows(response) == [
            {
                "date": "2026-03-02",
                "channel": "line",
                "intent": "faq",
                "faq_id": "company_certificate",
                "messages": "8",
                "escalations": "<5",
            },
            {
                "date": "2026-03-03",
                "channel": "webchat",
                "intent": "request_human",
                "faq_id": "",
                "messages": "5",
                "escalations": "5",
            },
        ]

    async def test_dates_are_bangkok_days_and_to_is_inclusive(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str], seeder: Seeder
    ) -> None:
        line = await seeder.conversation("line")
        greet = decision("smalltalk", intent="greet")
        # 23:30 on 1 March in Bangkok is still 1 March there (16:30 UTC); 00:30 on 2 March is 1 March in UTC
        await seeder.message(line, "สวัสดี", nlu=greet, created_at=bangkok("2026-03-01", 23, 30))
        await seeder.message(line, "สวัสดี", nlu=greet, created_at=bangkok("2026-03-02", 0, 30))
        await seeder.message(line, "สวัสดี", nlu=greet, created_at=bangkok("2026-03-03", 0, 30))

        response = await client.get(
            URL, params={"from": "2026-03-01", "to": "2026-03-02"}, headers=admin_headers
        )

        assert [(row["date"], row["messages"]) for row in rows(response)] == [
            ("2026-03-01", "<5"),
            ("2026-03-02", "<5"),
        ]


class TestFile:
    async def test_utf8_with_bom_and_the_fixed_header(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.get(
            URL, params={"from": "2026-01-01", "to": "2026-01-31"}, headers=admin_headers
        )

        assert response.headers["content-type"].startswith("text/csv")
        assert response.content.startswith(b"\xef\xbb\xbf")
        assert response.content.decode("utf-8-sig").splitlines() == [HEADER]

    async def test_no_text_and_no_identifier_reaches_the_file(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str], seeder: Seeder
    ) -> None:
        line = await seeder.conversation("line", user_id="Uline-user-identifier", display_name="สมชาย")
        fallback = decision("fallback", intent="nlu_fallback")
        for minute in range(6):
            text = f"บัตร {THAI_ID} โทร {PHONE}"
            await seeder.message(line, text, nlu=fallback, created_at=bangkok("2026-03-02", 9, minute))

        response = await client.get(
            URL, params={"from": "2026-03-02", "to": "2026-03-02"}, headers=admin_headers
        )

        body = response.content.decode("utf-8-sig")
        assert PHONE_DIGITS.search(body) is None
        assert "บัตร" not in body and "Uline-user-identifier" not in body and "สมชาย" not in body
        assert line.id not in body
        assert rows(response) == [
            {
                "date": "2026-03-02",
                "channel": "line",
                "intent": "nlu_fallback",
                "faq_id": "",
                "messages": "6",
                "escalations": "<5",
            },
        ]


BAD_PERIODS = [
    ({"from": "2026-13-01", "to": "2026-12-31"}, "'from' must be a date"),
    ({"from": "2026-01-01", "to": "31/01/2026"}, "'to' must be a date"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "is after"),
    ({"to": "2026-01-01"}, "'from' is required"),
    ({"from": "2024-01-01", "to": "2026-01-01"}, "at most 366"),
]


class TestBadRequests:
    async def test_bad_dates_are_400_with_a_reason(
        self, client: httpx.AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        for params, reason in BAD_PERIODS:
            response = await client.get(URL, params=params, headers=admin_headers)

            assert response.status_code == 400, params
            assert reason in response.json()["detail"], params
