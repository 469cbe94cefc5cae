"""Complaint cases in real headless Chromium: a web-chat citizen files one and cancels; the
officer still finds it, moves it to in progress and closes it with notes; the citizen's widget
shows each change at once and after a reload. axe-core on the page, at desktop width and 375 px.
An open complaints page shows a newly filed case and another officer's status change live.
Screenshots go to test-artifacts/complaints-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.integration.browser.axe import serious_violations
from tests.integration.browser.conftest import ARTIFACTS, CHROMIUM
from tests.integration.browser.test_console_browser import Watched

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]

REPLY_MS = 30_000
LIVE_MS = 10_000  # well under the page's 30 s poll, which runs only while its socket is down
DESCRIPTION = "ยื่นขอหนังสือรับรองออนไลน์ตั้งแต่สัปดาห์ก่อน ยังไม่ได้รับเอกสารเลยค่ะ"
PROGRESS_NOTE = "ส่งเรื่องให้งานหนังสือรับรองตรวจสอบแล้วค่ะ"
CLOSING_NOTE = "ส่งหนังสือรับรองทางอีเมลแล้ว ขออภัยในความล่าช้าค่ะ"
NUMBER = re.compile(r"CMP-\d{4}-\d{6}")


def shoot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"complaints-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def officer(browser: Browser, hub: LiveServer) -> Iterator[Watched]:
    watched = Watched(browser, hub)
    yield watched
    watched.close()


@pytest.fixture
def citizen(browser: Browser, hub: LiveServer) -> Iterator[Watched]:
    watched = Watched(browser, hub)
    yield watched
    watched.close()


def ask(widget: Page, text: str) -> None:
    box = widget.get_by_role("textbox", name="พิมพ์คำถามของท่าน")
    box.fill(text)
    box.press("Enter")


def file_case(widget: Page) -> str:
    widget.goto("/")
    ask(widget, "ขอร้องเรียนค่ะ")
    expect(widget.locator(".gc-msg--bot").last).to_contain_text("รายละเอียด", timeout=REPLY_MS)
    ask(widget, DESCRIPTION)
    filed = widget.locator(".gc-msg--bot").filter(has_text=NUMBER).last
    expect(filed).to_be_visible(timeout=REPLY_MS)
    match = NUMBER.search(filed.inner_text())
    assert match is not None
    return match.group(0)


def file_and_cancel(widget: Page) -> str:
    number = file_case(widget)
    answers = widget.locator(".gc-msg--bot").count()
    ask(widget, "ยกเลิก")
    expect(widget.locator(".gc-msg--bot")).to_have_count(answers + 1, timeout=REPLY_MS)
    return number


def log_in_and_open_complaints(page: Page) -> None:
    page.goto("/console")
    page.get_by_label("ชื่อผู้ใช้").fill("admin")
    page.get_by_label("รหัสผ่าน").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(page.get_by_role("heading", name=re.compile("คิวรอเจ้าหน้าที่"))).to_be_visible()
    page.get_by_role("link", name="เรื่องร้องเรียน").click()
    expect(page.get_by_role("heading", name=re.compile("รายการเรื่องร้องเรียน"))).to_be_visible()


def change_status(page: Page, status: str, note: str) -> None:
    page.get_by_label("สถานะใหม่").select_option(label=status)
    page.get_by_label("หมายเหตุถึงประชาชน (จำเป็นเมื่อปิดเรื่อง)").fill(note)
    page.get_by_role("button", name="บันทึกสถานะ").click()


def test_a_cancelled_complaint_is_still_listed_and_each_change_reaches_the_citizen(
    officer: Watched, citizen: Watched
) -> None:
    widget = citizen.page()
    number = file_and_cancel(widget)

    console = officer.page()
    log_in_and_open_complaints(console)
    card = console.locator(".case-card").filter(has_text=number)
    expect(card).to_be_visible()
    expect(card).to_contain_text("รับเรื่องแล้ว")
    expect(card).to_contain_text("งานรับเรื่องร้องเรียน")
    expect(card).to_contain_text("ภายในเวลาเป้าหมาย (60 นาที)")

    # search by number, as a citizen would read it out, and by text; filter by status
    console.get_by_label("ค้นหาหมายเลขเรื่องหรือข้อความ").fill(number.lower().replace("-", " "))
    console.get_by_role("button", name="ค้นหา").click()
    expect(console.locator(".case-card")).to_have_count(1)
    console.get_by_label("ค้นหาหมายเลขเรื่องหรือข้อความ").fill("ไม่มีเรื่องแบบนี้")
    console.get_by_role("button", name="ค้นหา").click()
    expect(console.get_by_text("ไม่พบเรื่องร้องเรียนตามเงื่อนไขนี้")).to_be_visible()
    console.get_by_label("ค้นหาหมายเลขเรื่องหรือข้อความ").fill("หนังสือรับรอง")
    console.get_by_role("button", name="ค้นหา").click()
    expect(console.locator(".case-card")).to_have_count(1)

    console.get_by_role("button", name=f"เปิดดูเรื่อง {number}").click()
    expect(console.get_by_role("heading", name=number)).to_be_focused()
    expect(console.locator("#case-description")).to_have_text(DESCRIPTION)
    expect(console.locator("#case-history li")).to_have_count(1)
    expect(console.locator("#case-history")).to_contain_text("ประชาชน (ยื่นเรื่อง)")

    change_status(console, "กำลังดำเนินการ", PROGRESS_NOTE)
    expect(console.locator("#case-history li")).to_have_count(2)
    expect(console.locator("#case-status")).to_have_text("กำลังดำเนินการ")
    update = widget.locator(".gc-msg--officer").last
    expect(update).to_contain_text(number, timeout=REPLY_MS)
    expect(update).to_contain_text("กำลังดำเนินการ")
    expect(update).to_contain_text(PROGRESS_NOTE)
    shoot(widget, "citizen-told-in-progress")

    # closing without a note is refused in the page, and nothing changes
    change_status(console, "ดำเนินการเสร็จสิ้น", "")
    expect(console.get_by_role("alert").filter(has_text="กรุณาเขียนหมายเหตุ")).to_be_visible()
    expect(console.locator("#case-history li")).to_have_count(2)

    change_status(console, "ดำเนินการเสร็จสิ้น", CLOSING_NOTE)
    expect(console.locator("#case-history li")).to_have_count(3)
    expect(console.locator("#case-history li").last).to_contain_text(CLOSING_NOTE)
    expect(console.locator("#case-history li").last).to_contain_text("โดย admin")
    closed = widget.locator(".gc-msg--officer").last
    expect(closed).to_contain_text("ดำเนินการเสร็จสิ้น", timeout=REPLY_MS)
    expect(closed).to_contain_text(CLOSING_NOTE)
    expect(console.locator("#case-history li").last).to_contain_text("ส่งถึงประชาชนแล้ว", timeout=REPLY_MS)
    expect(console.locator(".case-card").filter(has_text=number)).to_contain_text("ดำเนินการเสร็จสิ้น")
    shoot(console, "case-closed")

    # the citizen's next visit still shows both updates
    widget.reload()
    expect(widget.locator(".gc-msg--officer").filter(has_text=number)).to_have_count(2, timeout=REPLY_MS)

    assert serious_violations(console) == []
    console.set_viewport_size({"width": 375, "height": 800})
    expect(console.locator(".case-card").first).to_be_visible()
    assert console.evaluate("document.documentElement.scrollWidth") <= 375
    assert serious_violations(console) == []
    shoot(console, "375px")


def test_an_open_page_shows_a_new_case_and_another_officers_change_live(
    officer: Watched, citizen: Watched, hub: LiveServer
) -> None:
    console = officer.page()
    log_in_and_open_complaints(console)
    expect(console.locator("#connection")).to_have_text("เชื่อมต่อแบบเรียลไทม์แล้ว")

    number = file_case(citizen.page())
    card = console.locator(".case-card").filter(has_text=number)
    expect(card).to_be_visible(timeout=LIVE_MS)
    expect(card).to_contain_text("รับเรื่องแล้ว")
    console.get_by_role("button", name=f"เปิดดูเรื่อง {number}").click()
    expect(console.locator("#case-history li")).to_have_count(1)

    with httpx.Client(base_url=hub.url, timeout=10) as http:
        admin = http.post("/api/officer/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        created = http.post(
            "/api/admin/officers",
            json={"username": "malee", "password": "malee-password-1", "departments": ["complaints"]},
            headers={"Authorization": f"Bearer {admin.json()['token']}"},
        )
        assert created.status_code == 201, created.text
        malee = http.post("/api/officer/login", json={"username": "malee", "password": "malee-password-1"})
        changed = http.post(
            f"/api/officer/complaints/{number}/status",
            json={"status": "in_progress", "note": PROGRESS_NOTE},
            headers={"Authorization": f"Bearer {malee.json()['token']}"},
        )
        assert changed.status_code == 200, changed.text

    expect(console.locator("#case-status")).to_have_text("กำลังดำเนินการ", timeout=LIVE_MS)
    expect(console.locator("#case-history li")).to_have_count(2)
    expect(console.locator("#case-history li").last).to_contain_text("โดย malee")
    expect(card).to_contain_text("กำลังดำเนินการ")
    assert serious_violations(console) == []
    shoot(console, "live-change")
