"""The officers' console in real headless Chromium, next to a citizen's web-chat widget.

An officer logs in, sees a web-chat citizen's escalation arrive live, claims it with the
keyboard, replies; the reply appears in the citizen's widget (a second browser context);
the officer resolves and the bot answers the citizen's next question.
Screenshots go to test-artifacts/console-*.png.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.integration.browser.conftest import ARTIFACTS, CHROMIUM, OutsideRequests

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]

LIVE_MS = 15_000
REPLY_MS = 30_000
OFFICER_REPLY = "สวัสดีค่ะ เจ้าหน้าที่ฝ่ายบริการยินดีช่วยค่ะ ท่านต้องการสอบถามเรื่องใดคะ"


def shoot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class Watched:
    """A browser context that may not reach the internet, and whose pages may not throw."""

    def __init__(self, browser: Browser, hub: LiveServer) -> None:
        self.outside = OutsideRequests(hub.url)
        self.context: BrowserContext = browser.new_context(
            base_url=hub.url, locale="th-TH", viewport={"width": 1366, "height": 900}
        )
        self.context.route(self.outside.is_outside, self.outside.refuse)
        self.errors: list[str] = []

    def page(self) -> Page:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], f"JavaScript errors: {self.errors}"
        assert self.outside.unexpected() == [], "the page tried to reach the internet"


@pytest.fixture
def officer_context(browser: Browser, hub: LiveServer) -> Iterator[Watched]:
    watched = Watched(browser, hub)
    yield watched
    watched.close()


@pytest.fixture
def citizen_context(browser: Browser, hub: LiveServer) -> Iterator[Watched]:
    watched = Watched(browser, hub)
    yield watched
    watched.close()


def log_in(page: Page) -> None:
    page.goto("/console")
    expect(page.get_by_role("heading", name="เข้าสู่ระบบเจ้าหน้าที่")).to_be_visible()
    # keyboard only: the username box has focus; Tab to the password; Enter submits
    expect(page.get_by_label("ชื่อผู้ใช้")).to_be_focused()
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    expect(page.get_by_label("รหัสผ่าน")).to_be_focused()
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("คิวรอเจ้าหน้าที่"))).to_be_visible()
    expect(page.locator("#connection")).to_have_text("เชื่อมต่อแบบเรียลไทม์แล้ว", timeout=LIVE_MS)


def ask(widget: Page, text: str) -> None:
    box = widget.get_by_role("textbox", name="พิมพ์คำถามของท่าน")
    box.fill(text)
    box.press("Enter")


def queue_rows(page: Page) -> Locator:
    return page.locator("#queue-body tr")


def test_an_officer_answers_a_web_chat_citizen_live_then_hands_back_to_the_bot(
    officer_context: Watched, citizen_context: Watched
) -> None:
    console = officer_context.page()
    log_in(console)
    expect(console.get_by_text("ไม่มีเรื่องรอในคิว")).to_be_visible()
    shoot(console, "1-logged-in")

    widget = citizen_context.page()
    widget.goto("/")
    asked_at = time.monotonic()
    ask(widget, "ขอคุยกับเจ้าหน้าที่ค่ะ")
    expect(widget.locator(".gc-msg--bot").last).to_contain_text("กำลังส่งต่อให้เจ้าหน้าที่", timeout=REPLY_MS)

    # the escalation appears in the console without a reload
    expect(queue_rows(console)).to_have_count(1, timeout=LIVE_MS)
    seen_after = time.monotonic() - asked_at
    row = queue_rows(console).first
    expect(row).to_contain_text("เว็บแชต")
    expect(row).to_contain_text("ขอคุยกับเจ้าหน้าที่")
    expect(row).to_contain_text("งานบริการและสอบถามทั่วไป")
    shoot(console, "2-escalation-arrived")
    print(f"escalation visible in the console {seen_after:.2f}s after the citizen pressed Enter")

    # claim with the keyboard; the reply box gets the focus; Ctrl+Enter sends
    claim = console.get_by_role("button", name="รับเรื่องจากเว็บแชต แผนกงานบริการและสอบถามทั่วไป")
    claim.focus()
    console.keyboard.press("Enter")
    reply_box = console.get_by_label("ข้อความตอบกลับถึงประชาชน")
    expect(reply_box).to_be_focused(timeout=LIVE_MS)
    expect(console.locator("#fact-state")).to_have_text("เจ้าหน้าที่ดูแล")
    expect(queue_rows(console)).to_have_count(0)
    expect(console.locator("#mine-list")).to_contain_text("เว็บแชต")
    console.keyboard.type(OFFICER_REPLY)
    console.keyboard.press("Control+Enter")

    expect(widget.locator(".gc-msg--officer").last).to_contain_text(OFFICER_REPLY, timeout=REPLY_MS)
    sent = console.locator("#transcript .msg-officer").last
    expect(sent).to_contain_text(OFFICER_REPLY)
    expect(sent).to_contain_text("ส่งแล้ว", timeout=LIVE_MS)
    shoot(widget, "3-citizen-sees-the-reply")

    # the citizen answers; the officer sees it at once and the bot stays silent
    bot_answers = widget.locator(".gc-msg--bot").count()
    ask(widget, "อยากทราบขั้นตอนจดทะเบียนบริษัทค่ะ")
    expect(console.locator("#transcript .msg-citizen").last).to_contain_text(
        "อยากทราบขั้นตอนจดทะเบียนบริษัทค่ะ", timeout=LIVE_MS
    )
    shoot(console, "4-conversation")
    assert widget.locator(".gc-msg--bot").count() == bot_answers

    # resolve: back to the bot, which asks for a rating and then answers questions again
    console.get_by_role("button", name="ปิดเรื่องและส่งกลับแชตบอต").click()
    expect(console.locator("#fact-state")).to_have_text("แชตบอตดูแล", timeout=LIVE_MS)
    expect(widget.locator(".gc-msg--bot").last).to_contain_text("ให้คะแนนความพึงพอใจ", timeout=REPLY_MS)
    widget.get_by_role("group", name="ตัวเลือกที่แนะนำ").get_by_role("button", name="5", exact=True).click()
    expect(widget.locator(".gc-msg--bot").last).to_contain_text("ขอบคุณสำหรับคะแนน 5", timeout=REPLY_MS)
    ask(widget, "จดทะเบียนบริษัทออนไลน์ได้ไหม")
    expect(widget.locator(".gc-msg--bot").last).to_contain_text("ดูข้อมูลทางการ", timeout=REPLY_MS)
    shoot(widget, "5-bot-answers-again")
    shoot(console, "5-resolved")


def test_every_control_of_the_console_has_a_name_and_a_wrong_password_is_explained(
    officer_context: Watched,
) -> None:
    console = officer_context.page()
    console.goto("/console")
    console.get_by_label("ชื่อผู้ใช้").fill("admin")
    console.get_by_label("รหัสผ่าน").fill("not-the-password")
    console.get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(console.get_by_role("alert")).to_have_text("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง")
    shoot(console, "wrong-password")
    log_in(console)
    unnamed = console.evaluate(
        """() => [...document.querySelectorAll('button, input, select, textarea, a[href]')]
            .filter(e => e.offsetParent !== null)
            .filter(e => !(e.getAttribute('aria-label') || e.labels?.length || e.textContent.trim()))
            .map(e => e.outerHTML)"""
    )
    assert unnamed == []
    assert console.evaluate("document.documentElement.lang") == "th"
