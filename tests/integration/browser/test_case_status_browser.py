"""A complaint's status from anywhere, in real headless Chromium (issue 23): the citizen who filed
it on web chat asks with the number alone while the case waits for an officer and is answered at
once; another browser (a new web-chat session, another channel identity) gets nothing of the case
without the PIN, is refused with a wrong one, and gets the status with the right one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import LiveServer
from tests.integration.browser.conftest import CHROMIUM
from tests.integration.browser.test_console_browser import Watched

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]

REPLY_MS = 30_000
DESCRIPTION = "ขอร้องเรียนว่าโทรสายด่วนไม่มีคนรับสายมาสามวันแล้วค่ะ"
FILED = re.compile(r"(CMP-\d{4}-\d{6}) PIN (\d{4})")


@pytest.fixture
def filer(browser: Browser, hub: LiveServer) -> Iterator[Watched]:
    watched = Watched(browser, hub)
    yield watched
    watched.close()


@pytest.fixture
def stranger(browser: Browser, hub: LiveServer) -> Iterator[Watched]:
    watched = Watched(browser, hub)
    yield watched
    watched.close()


def bot_messages(widget: Page) -> Locator:
    return widget.locator(".gc-msg--bot")


def ask_and_wait(widget: Page, text: str) -> Locator:
    """Send ``text``; the bot's next message."""
    before = bot_messages(widget).count()
    box = widget.get_by_role("textbox", name="พิมพ์คำถามของท่าน")
    box.fill(text)
    box.press("Enter")
    expect(bot_messages(widget)).to_have_count(before + 1, timeout=REPLY_MS)
    return bot_messages(widget).last


def test_the_number_alone_answers_the_filer_and_another_session_needs_the_pin(
    filer: Watched, stranger: Watched
) -> None:
    widget = filer.page()
    widget.goto("/")
    expect(ask_and_wait(widget, "ขอร้องเรียนค่ะ")).to_contain_text("รายละเอียด")
    filed = ask_and_wait(widget, DESCRIPTION)
    match = FILED.search(filed.inner_text())
    assert match is not None, filed.inner_text()
    number, pin = match.groups()

    # the case now waits for an officer; its number alone is answered at once, here
    status = ask_and_wait(widget, number)
    expect(status).to_contain_text(number)
    expect(status).to_contain_text("รับเรื่องแล้ว")

    other = stranger.page()
    other.goto("/")
    asked = ask_and_wait(other, number)
    expect(asked).to_contain_text("PIN")
    expect(asked).not_to_contain_text("รับเรื่องแล้ว")
    expect(asked).not_to_contain_text(DESCRIPTION)

    wrong = f"{(int(pin) + 1) % 10_000:04d}"
    refused = ask_and_wait(other, f"{number} {wrong}")
    expect(refused).to_contain_text("ไม่ถูกต้อง")
    expect(refused).not_to_contain_text("รับเรื่องแล้ว")

    answered = ask_and_wait(other, f"{number.replace('-', ' ')} {pin}")
    expect(answered).to_contain_text(number)
    expect(answered).to_contain_text("รับเรื่องแล้ว")
