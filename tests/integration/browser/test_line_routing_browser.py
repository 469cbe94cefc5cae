"""Issue 23's first walk, in real headless Chromium: a LINE citizen asks about a topic, then asks for
a person; the request reaches the department that owns the topic, and its officer's queue shows the
topic's Thai title and the citizen's question, while another department's officer never sees it.

The hub runs with LINE credentials against the loopback fake LINE API; the citizen's messages are
signed webhooks, as LINE sends them.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import LiveServer, make_settings
from tests.fakes.line.api import FakeLineApi
from tests.fakes.line.fixtures import TEST_SECRET, LineFixtures
from tests.integration.browser.axe import serious_violations
from tests.integration.browser.conftest import CHROMIUM
from tests.integration.browser.inbox_scene import LIVE_MS, OFFICER_PASSWORD, Console, Hub, row_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]

TEXT_EVENT = "ruby-sdk_minimum_text_message_event"
QUESTION = "ส่งงบการเงินออนไลน์ทำยังไงคะ"
TOPIC_TITLE = "ส่งงบการเงินประจำปีออนไลน์ด้วย DBD e-Filing"  # financial_statement_submission [accounts]


@pytest.fixture(scope="module")
def fake_line() -> Iterator[FakeLineApi]:
    with FakeLineApi() as fake:
        yield fake


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, fake_line: FakeLineApi) -> Iterator[LiveServer]:
    var_dir: Path = tmp_path_factory.mktemp("line-routing-hub")
    settings = make_settings(
        f"sqlite+aiosqlite:///{var_dir / 'govchat.db'}",
        var_dir,
        line_channel_secret=TEST_SECRET,
        line_channel_access_token=fake_line.access_token,
        line_api_base_url=fake_line.url,
        line_data_api_base_url=fake_line.data_url,
    )
    with LiveServer(settings) as server:
        yield server


def say_on_line(hub: LiveServer, fake: FakeLineApi, user_id: str, text: str) -> None:
    fixtures = LineFixtures()
    event = fixtures.fresh(fixtures.event(TEXT_EVENT), user_id=user_id)
    event["message"]["text"] = text
    event["replyToken"] = fake.issue_reply_token(user_id)
    body, headers = fixtures.signed(fixtures.envelope(event))
    response = httpx.post(f"{hub.url}/webhooks/line", content=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text


def wait_for_row(scene: Hub, headers: dict[str, str], user_question: str) -> dict[str, object]:
    deadline = time.monotonic() + LIVE_MS / 1000
    while time.monotonic() < deadline:
        for row in scene.queue(headers):
            if row.get("question") == user_question:
                return row
        time.sleep(0.05)  # polling interval, not a guess at how long the pipeline takes
    raise AssertionError("the request never reached this officer's queue")


def test_a_line_request_for_a_person_reaches_the_topics_department_with_its_title_and_question(
    browser: Browser, hub: LiveServer, fake_line: FakeLineApi
) -> None:
    scene = Hub(hub)
    accounts = scene.officer("kanya", ["accounts"])
    general = scene.officer("pracha", ["general"])
    user_id = "U" + uuid.uuid4().hex

    say_on_line(hub, fake_line, user_id, QUESTION)
    say_on_line(hub, fake_line, user_id, "ขอคุยกับเจ้าหน้าที่ค่ะ")

    row = wait_for_row(scene, accounts, QUESTION)
    assert row["department"] == "accounts"
    assert row["channel"] == "line"
    assert row["topic"] == {"faq_id": "financial_statement_submission", "title": TOPIC_TITLE}
    assert all(r["id"] != row["id"] for r in scene.queue(general)), "another department sees it"

    console = Console(browser, hub)
    try:
        page = console.log_in("kanya", OFFICER_PASSWORD)
        queued = row_of(page, str(row["id"]))
        expect(queued).to_contain_text(TOPIC_TITLE, timeout=LIVE_MS)
        expect(queued).to_contain_text(QUESTION)
        expect(queued).to_contain_text(re.compile("LINE"))
        assert serious_violations(page) == []
        console.shoot("line-routed-accounts")
    finally:
        console.close()
    scene.http.close()
