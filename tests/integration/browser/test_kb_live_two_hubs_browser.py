"""Issue 27's walk on two real `govchat serve` processes sharing PostgreSQL and Redis: a supervisor
changes an answer in the console of one hub, a second supervisor approves it there, and a LINE
citizen whose webhook goes to the OTHER hub gets the new text on their next question, with no restart.

The LINE API is the loopback fake; the citizen's messages are signed webhooks, as LINE sends them.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import fresh_postgres_database
from tests.fakes.line.api import FakeLineApi
from tests.fakes.line.fixtures import TEST_SECRET, LineFixtures
from tests.integration.browser.conftest import CHROMIUM
from tests.integration.browser.inbox_scene import OFFICER_PASSWORD, Console, Hub
from tests.integration.browser.kb_scene import (
    LIVE_MS,
    answer_box,
    open_entry,
    open_knowledge_base,
    shoot,
    submit_answer,
)
from tests.integration.processes import NEEDS_POSTGRES, HubProcess, StartHubs, hubs
from tests.integration.scale.test_two_processes import two_process_environment

__all__ = ["hubs"]

pytestmark = [
    *NEEDS_POSTGRES,
    pytest.mark.browser,
    pytest.mark.redis,  # its hubs talk through Redis
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]

TEXT_EVENT = "ruby-sdk_minimum_text_message_event"
TITLE = "กำหนดส่งงบการเงินและโทษเมื่อส่งล่าช้า"  # financial_statement_deadline [accounts]
QUESTION = "ส่งงบการเงินภายในวันไหนคะ"  # one of its questions
OLD_ANSWER_START = "บริษัทจำกัดส่งงบการเงินภายใน 1 เดือนนับจากวันที่ที่ประชุมผู้ถือหุ้นอนุมัติงบ"
NEW_ANSWER = (
    "บริษัทจำกัดส่งงบการเงินภายใน 1 เดือนหลังที่ประชุมผู้ถือหุ้นอนุมัติงบ ส่วนห้างหุ้นส่วนนิติบุคคลส่งภายใน"
    " 5 เดือนหลังวันปิดบัญชี ส่งช้ามีค่าปรับ ดูอัตราใหม่ปี 2570 ที่เว็บไซต์กรม หรือโทร 1570 ค่ะ"
)
REPLY_S = 30.0


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database with no schema: the hubs migrate it themselves.

    Playwright's sync API owns this thread's event loop, so the database is made and dropped on
    a loop of another thread, kept running in between.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    database = fresh_postgres_database(migrated=False)
    try:
        url = asyncio.run_coroutine_threadsafe(database.__aenter__(), loop).result()
        try:
            yield url
        finally:
            asyncio.run_coroutine_threadsafe(database.__aexit__(None, None, None), loop).result()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


@pytest.fixture(scope="module")
def fake_line() -> Iterator[FakeLineApi]:
    with FakeLineApi() as fake:
        yield fake


@pytest.fixture
def two_hubs(postgres_url: str, hubs: StartHubs, fake_line: FakeLineApi) -> tuple[HubProcess, HubProcess]:
    env = {
        **two_process_environment(postgres_url),
        "LINE_CHANNEL_SECRET": TEST_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": fake_line.access_token,
        "LINE_API_BASE_URL": fake_line.url,
        "LINE_DATA_API_BASE_URL": fake_line.data_url,
        # no periodic look at the database within the test: only Redis can tell the LINE hub
        "GOVCHAT_KB_CHECK_SECONDS": "3600",
    }
    (console_hub,) = hubs(env, "console")  # the first one migrates and seeds the knowledge base
    (line_hub,) = hubs(env, "line")
    return console_hub, line_hub


def ask_on_line(hub: HubProcess, fake: FakeLineApi, text: str) -> str:
    """A new LINE citizen asks ``text``; LINE's text of the bot's first reply to them."""
    user_id = "U" + uuid.uuid4().hex
    fixtures = LineFixtures()
    event = fixtures.fresh(fixtures.event(TEXT_EVENT), user_id=user_id)
    event["message"]["text"] = text
    event["replyToken"] = fake.issue_reply_token(user_id)
    body, headers = fixtures.signed(fixtures.envelope(event))
    response = httpx.post(f"{hub.url}/webhooks/line", content=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + REPLY_S
    while time.monotonic() < deadline:
        texts = fake.delivered_texts(user_id)
        if texts:
            return texts[0]
        time.sleep(0.05)  # polling interval, not a guess at how long the pipeline takes
    raise AssertionError(f"no LINE reply to {text!r}:\n{hub.log_tail()}")


def wait_for_reload(hub: HubProcess) -> None:
    """The approval reached this hub through Redis: it read the knowledge base again (logged only on a change).

    Waiting for it keeps the test from racing the few milliseconds between the approval's answer
    and the other process's reload; the hub's periodic look is turned off, so only Redis can do it.
    """
    deadline = time.monotonic() + REPLY_S
    while time.monotonic() < deadline:
        if '"kb_reloaded"' in hub.log_path.read_text("utf-8", "replace"):
            return
        time.sleep(0.05)  # polling interval, not a guess at how long the reload takes
    raise AssertionError(f"the LINE hub never reloaded the knowledge base:\n{hub.log_tail()}")


def log_in(browser: Browser, hub: HubProcess, username: str, consoles: list[Console]) -> Page:
    console = Console(browser, hub)
    consoles.append(console)
    page = console.log_in(username, OFFICER_PASSWORD)
    open_knowledge_base(page)
    return page


def test_an_answer_approved_in_one_hubs_console_is_what_line_citizens_get_from_the_other_hub(
    browser: Browser, two_hubs: tuple[HubProcess, HubProcess], fake_line: FakeLineApi
) -> None:
    console_hub, line_hub = two_hubs
    before = ask_on_line(line_hub, fake_line, QUESTION)
    assert OLD_ANSWER_START in before, before

    scene = Hub(console_hub)
    scene.officer("kb_malee", ["accounts"], role="supervisor")
    scene.officer("kb_prasert", ["accounts"], role="supervisor")
    consoles: list[Console] = []
    try:
        author = log_in(browser, console_hub, "kb_malee", consoles)
        open_entry(author, TITLE)
        assert answer_box(author).input_value().startswith(OLD_ANSWER_START)
        submit_answer(author, NEW_ANSWER)
        expect(author.locator("#preview-line .line-text")).to_have_text(NEW_ANSWER)

        reviewer = log_in(browser, console_hub, "kb_prasert", consoles)
        open_entry(reviewer, TITLE)  # approved from the entry's own page this time
        reviewer.locator("#pending-list").get_by_role("button", name=re.compile("อนุมัติและเผยแพร่")).click()
        expect(reviewer.locator("#submit-result")).to_contain_text("อนุมัติแล้ว", timeout=LIVE_MS)
        expect(answer_box(reviewer)).to_have_value(NEW_ANSWER)
        expect(reviewer.locator('#history-list li[data-version="2"]')).to_contain_text("อนุมัติโดย kb_prasert")
        shoot(reviewer, "two-hubs-approved")
    finally:
        for console in consoles:
            console.close()
        scene.http.close()

    wait_for_reload(line_hub)
    after = ask_on_line(line_hub, fake_line, QUESTION)
    assert NEW_ANSWER in after, after
    assert OLD_ANSWER_START not in after
    assert console_hub.alive and line_hub.alive  # no restart: the same processes answered
