"""The knowledge-base pages as supervisors use them, for the console's knowledge-base browser tests:
open an entry, change its answer, submit, approve or reject in the review queue, read the history.
Screenshots go to test-artifacts/kb-*.png."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.integration.browser.conftest import ARTIFACTS

LIVE_MS = 15_000
SUBMITTED = "ส่งให้ตรวจแล้ว"
OWN_CHANGE = "ท่านเป็นผู้แก้ไขรายการนี้"


def shoot(page: Page, name: str, part: Locator | None = None) -> Path:
    """The whole page from its top (the editor's preview sticks beside what is in view), or one ``part``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"kb-{name}.png"
    if part is not None:
        part.screenshot(path=str(path))
    else:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True)
    return path


def open_knowledge_base(page: Page) -> None:
    """From the console (logged in) through its menu, as an officer would go."""
    page.get_by_role("link", name="ฐานความรู้").click()
    expect(page.get_by_role("heading", name=re.compile("คำตอบของแผนก"))).to_be_visible(timeout=LIVE_MS)


def open_entry(page: Page, title: str) -> None:
    page.get_by_role("link", name=f"แก้ไขคำตอบ {title}").click()
    expect(page.get_by_role("heading", name=f"แก้ไขคำตอบ: {title}")).to_be_visible(timeout=LIVE_MS)


def answer_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name="คำตอบ", exact=True)


def submit_answer(page: Page, answer: str) -> None:
    answer_box(page).fill(answer)
    expect(page.locator("#check-status")).to_have_text(re.compile("ไม่พบปัญหา"), timeout=LIVE_MS)
    page.get_by_role("button", name="ส่งให้ตรวจ").click()
    expect(page.locator("#submit-result")).to_contain_text(SUBMITTED, timeout=LIVE_MS)


def pending_change(page: Page, title: str) -> Locator:
    return page.locator(".kb-change").filter(has=page.get_by_text(title, exact=True))


def approve_in_queue(page: Page, title: str) -> None:
    page.get_by_role("link", name=re.compile("รายการรอตรวจ")).click()
    change = pending_change(page, title)
    expect(change).to_be_visible(timeout=LIVE_MS)
    change.get_by_role("button", name=re.compile("อนุมัติและเผยแพร่")).click()
    expect(page.get_by_role("status").filter(has_text="อนุมัติแล้ว")).to_be_attached(timeout=LIVE_MS)


def history_rows(page: Page, version: int) -> Locator:
    return page.locator(f'#history-list li[data-version="{version}"]')
