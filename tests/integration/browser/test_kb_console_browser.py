"""The console's knowledge-base pages in real headless Chromium, on a live hub (SQLite): a supervisor
changes an answer and sees it as LINE, Messenger and the web chat would show it; the author cannot
approve their own change, a second supervisor does, and the history shows both versions with the
field-by-field diff; another department's entries are not shown; the rules of `kb validate` are
shown at the field in Thai. axe-core at desktop width and at 375 px.
Screenshots: test-artifacts/kb-*.png (list, editor with preview, history diff).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import HUB_VAR_DIR, LiveServer, make_settings
from tests.integration.browser.axe import serious_violations
from tests.integration.browser.conftest import CHROMIUM
from tests.integration.browser.inbox_scene import OFFICER_PASSWORD, Console, Hub
from tests.integration.browser.kb_scene import (
    LIVE_MS,
    OWN_CHANGE,
    answer_box,
    approve_in_queue,
    history_rows,
    open_entry,
    open_knowledge_base,
    pending_change,
    shoot,
    submit_answer,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]

FEES = "ค่าธรรมเนียมจดทะเบียนและวิธีชำระ"  # registration_fees [registration]
EXPIRY = "ชื่อที่จองไว้ใช้ได้กี่วัน และเมื่อหมดอายุต้องทำอย่างไร"  # name_reservation_expiry [registration]
DEADLINE = "กำหนดส่งงบการเงินและโทษเมื่อส่งล่าช้า"  # financial_statement_deadline [accounts]
NEW_FEES_ANSWER = "ค่าธรรมเนียมจดทะเบียนบริษัทคิดตามทุนจดทะเบียน ขั้นต่ำ 5,500 บาท ชำระออนไลน์ผ่าน e-Registration ได้ทันทีค่ะ"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Its own database; the var folder of the hub-process tests, where the trained NLU is kept between runs."""
    database = tmp_path_factory.mktemp("kb-console-hub") / "govchat.db"
    with LiveServer(make_settings(f"sqlite+aiosqlite:///{database}", HUB_VAR_DIR)) as server:
        yield server


@pytest.fixture(scope="module")
def scene(hub: LiveServer) -> Iterator[Hub]:
    hub_scene = Hub(hub)
    for name in ("kb_somchai", "kb_suda"):
        hub_scene.officer(name, ["registration"], role="supervisor")
    hub_scene.officer("kb_kanya", ["accounts"], role="supervisor")
    yield hub_scene
    hub_scene.http.close()


@pytest.fixture
def consoles(browser: Browser, hub: LiveServer) -> Iterator[list[Console]]:
    opened: list[Console] = []
    yield opened
    for console in opened:
        console.close()


def supervisor(
    consoles: list[Console], browser: Browser, hub: LiveServer, username: str, width: int = 1366
) -> Page:
    console = Console(browser, hub, width=width)
    consoles.append(console)
    page = console.log_in(username, OFFICER_PASSWORD)
    open_knowledge_base(page)
    return page


def test_a_second_supervisor_approves_an_edited_answer_and_the_history_shows_both_versions(
    scene: Hub, consoles: list[Console], browser: Browser, hub: LiveServer
) -> None:
    author = supervisor(consoles, browser, hub, "kb_somchai")
    expect(author.locator(".kb-card").filter(has_text=FEES)).to_be_visible()
    shoot(author, "list")
    open_entry(author, FEES)
    old_answer = answer_box(author).input_value()

    answer_box(author).fill(NEW_FEES_ANSWER)
    # the preview follows the typing, as each channel would show it, with the length counted
    expect(author.locator("#preview-line .line-text")).to_have_text(NEW_FEES_ANSWER)
    expect(author.locator("#preview-line .line-title")).to_have_text(FEES)
    expect(author.locator("#preview-messenger .fb-text")).to_have_text(NEW_FEES_ANSWER)
    expect(author.locator("#preview-webchat")).to_contain_text(NEW_FEES_ANSWER)
    expect(author.locator("#count-answer")).to_have_text(f"{len(NEW_FEES_ANSWER)}/400 ตัวอักษร")
    submit_answer(author, NEW_FEES_ANSWER)
    shoot(author, "editor-preview")

    mine = pending_change(author, FEES)
    expect(mine).to_contain_text(OWN_CHANGE)
    expect(mine.get_by_role("button", name=re.compile("อนุมัติ"))).to_have_count(0)

    reviewer = supervisor(consoles, browser, hub, "kb_suda")
    approve_in_queue(reviewer, FEES)

    open_knowledge_base(reviewer)
    open_entry(reviewer, FEES)
    expect(answer_box(reviewer)).to_have_value(NEW_FEES_ANSWER)
    second = history_rows(reviewer, 2)
    expect(second).to_contain_text("แก้ไขโดย kb_somchai")
    expect(second).to_contain_text("อนุมัติโดย kb_suda")
    changed = second.locator('tr[data-field="answer"]')
    expect(changed.locator(".diff-before")).to_have_text(old_answer)
    expect(changed.locator(".diff-after")).to_have_text(NEW_FEES_ANSWER)
    expect(history_rows(reviewer, 1)).to_contain_text("ข้อมูลตั้งต้น")
    shoot(reviewer, "history-diff", reviewer.locator("#history-section"))
    published = scene.http.get("/api/admin/kb/entries/registration_fees", headers=scene.admin).json()
    assert (published["answer"], published["version"]) == (NEW_FEES_ANSWER, 2)


def test_the_author_sees_no_approve_button_and_the_server_refuses_their_approval(
    scene: Hub, consoles: list[Console], browser: Browser, hub: LiveServer
) -> None:
    author = supervisor(consoles, browser, hub, "kb_somchai")
    open_entry(author, EXPIRY)
    submit_answer(author, "ชื่อที่จองไว้ใช้ได้ 30 วันนับจากวันที่นายทะเบียนรับจอง เมื่อหมดอายุต้องจองใหม่ค่ะ")

    author.get_by_role("link", name=re.compile("รายการรอตรวจ")).click()
    mine = pending_change(author, EXPIRY)
    expect(mine).to_contain_text(OWN_CHANGE)
    expect(mine.get_by_role("button")).to_have_count(0)

    token = {"Authorization": "Bearer " + author.evaluate("sessionStorage.getItem('govchat.console.token')")}
    change_id = mine.get_attribute("data-change")
    refused = scene.http.post(f"/api/admin/kb/changes/{change_id}/approve", headers=token)
    assert refused.status_code == 409
    entry = scene.http.get("/api/admin/kb/entries/name_reservation_expiry", headers=scene.admin).json()
    assert entry["version"] == 1


def test_another_departments_entries_are_not_shown(
    scene: Hub, consoles: list[Console], browser: Browser, hub: LiveServer
) -> None:
    accounts = supervisor(consoles, browser, hub, "kb_kanya")
    expect(accounts.locator(".kb-card").filter(has_text=DEADLINE)).to_be_visible()
    expect(accounts.locator(".kb-card").filter(has_text=FEES)).to_have_count(0)
    expect(accounts.locator("#filter-department option")).to_have_text(["ทุกแผนกของฉัน", "งานบัญชีและงบการเงิน"])

    accounts.goto("/console/kb/entries/registration_fees")
    expect(accounts.get_by_role("alert").filter(has_text="ไม่พบคำตอบนี้ในแผนกของท่าน")).to_be_visible()
    expect(accounts.locator("#editor")).to_be_hidden()


def test_the_rules_of_kb_validate_are_shown_at_the_field_in_thai(
    scene: Hub, consoles: list[Console], browser: Browser, hub: LiveServer
) -> None:
    author = supervisor(consoles, browser, hub, "kb_suda")
    open_entry(author, EXPIRY)
    too_long = "ก" * 401
    answer_box(author).fill(too_long)

    error = author.locator("#error-answer")
    expect(error).to_contain_text("ยาวได้ไม่เกิน 400 ตัวอักษร", timeout=LIVE_MS)
    expect(answer_box(author)).to_have_attribute("aria-invalid", "true")
    expect(author.locator("#limits-line .limit-over").filter(has_text="401/400")).to_be_visible()
    author.get_by_role("button", name="ส่งให้ตรวจ").click()  # the server refuses it too (422)
    expect(error).to_contain_text("ยาวได้ไม่เกิน 400 ตัวอักษร")
    expect(author.locator("#submit-result")).to_be_hidden()


@pytest.mark.parametrize("width", [1366, 375])
def test_the_pages_pass_axe_and_fit_a_phone(
    scene: Hub, consoles: list[Console], browser: Browser, hub: LiveServer, width: int
) -> None:
    page = supervisor(consoles, browser, hub, "kb_suda", width=width)
    assert serious_violations(page) == []
    open_entry(page, EXPIRY)
    expect(page.locator("#history-list li")).not_to_have_count(0)
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.goto("/console/kb/changes")
    expect(page.locator("#changes-count")).not_to_be_empty()
    assert serious_violations(page) == []
    page.goto("/console/kb/new?department=registration&question=" + "จองชื่อภาษาอังกฤษได้ไหม")
    expect(page.locator("#questions-list")).to_contain_text("จองชื่อภาษาอังกฤษได้ไหม")
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width


REFUND_TITLE = "ขอคืนค่าธรรมเนียมที่ชำระเกิน"
REFUND_QUESTIONS = [
    "จ่ายค่าธรรมเนียมเกินขอคืนได้ไหมคะ",
    "ขอคืนค่าธรรมเนียมจดทะเบียนยังไง",
    "โอนค่าธรรมเนียมซ้ำสองครั้ง ทำไงดีครับ",
    "ชำระเงินเกินต้องทำเรื่องขอคืนที่ไหน",
    "คืนเงินค่าจดทะเบียนใช้เวลากี่วัน",
    "ขอเงินค่าธรรมเนียมคืนได้หรือเปล่า",
    "จ่ายผิดจำนวน ขอคืนส่วนต่างได้ไหม",
    "ยื่นคำขอคืนค่าธรรมเนียมต้องใช้เอกสารอะไรบ้าง",
]
TAKEN_QUESTION = "จองชื่อบริษัทยังไงครับ"  # already one of name_reservation's


def test_a_new_entry_is_approved_then_retired_and_brought_back(
    scene: Hub, consoles: list[Console], browser: Browser, hub: LiveServer
) -> None:
    author = supervisor(consoles, browser, hub, "kb_somchai")
    author.goto("/console/kb/new?department=registration&question=" + REFUND_QUESTIONS[0])
    expect(author.get_by_role("heading", name="เพิ่มคำตอบใหม่")).to_be_visible()
    expect(author.locator("#questions-list .kb-question")).to_have_text([REFUND_QUESTIONS[0]])
    author.locator("#field-entry_id").fill("registration_fee_refund")
    expect(author.locator("#field-department")).to_have_value("registration")
    author.locator("#field-title").fill(REFUND_TITLE)
    answer_box(author).fill(
        "ค่าธรรมเนียมที่ชำระเกินขอคืนได้ โดยยื่นคำขอพร้อมหลักฐานการชำระที่สำนักงานที่รับชำระ ภายใน 1 ปีนับจากวันที่ชำระค่ะ"
    )
    author.locator("#field-source_url").fill("https://www.dbd.go.th/")
    author.locator("#field-reviewed_at").fill("2026-12-01")
    for question in [*REFUND_QUESTIONS[1:], TAKEN_QUESTION]:
        author.get_by_label("เพิ่มคำถาม", exact=True).fill(question)
        author.get_by_label("เพิ่มคำถาม", exact=True).press("Enter")
    taken = author.locator("#questions-list li").filter(has_text=TAKEN_QUESTION)
    expect(taken.locator(".kb-duplicate")).to_contain_text("จองชื่อบริษัทหรือห้างหุ้นส่วนทางออนไลน์", timeout=LIVE_MS)
    taken.get_by_role("button", name=f"ลบ คำถาม: {TAKEN_QUESTION}").click()
    expect(author.locator("#check-status")).to_have_text(re.compile("ไม่พบปัญหา"), timeout=LIVE_MS)
    author.get_by_role("button", name="ส่งให้ตรวจ").click()
    expect(author.locator("#submit-result")).to_contain_text("ส่งให้ตรวจแล้ว")

    reviewer = supervisor(consoles, browser, hub, "kb_suda")
    reviewer.goto("/console/kb/changes")
    expect(pending_change(reviewer, REFUND_TITLE)).to_contain_text("คำตอบใหม่")
    approve_in_queue(reviewer, REFUND_TITLE)

    open_knowledge_base(author)
    open_entry(author, REFUND_TITLE)
    author.get_by_role("button", name="เลิกใช้คำตอบนี้").click()
    expect(author.locator("#submit-result")).to_contain_text("ส่งคำขอเลิกใช้คำตอบนี้ให้ตรวจแล้ว")
    approve_in_queue(reviewer, REFUND_TITLE)
    open_knowledge_base(reviewer)
    expect(reviewer.locator(".kb-card").filter(has_text=REFUND_TITLE)).to_contain_text("เลิกใช้แล้ว")

    open_entry(reviewer, REFUND_TITLE)
    expect(reviewer.locator("#retired-note")).to_be_visible()
    reviewer.get_by_role("button", name="นำคำตอบนี้กลับมาใช้").click()
    expect(reviewer.locator("#submit-result")).to_contain_text("ส่งคำขอนำคำตอบนี้กลับมาใช้ให้ตรวจแล้ว")
    pending = pending_change(reviewer, REFUND_TITLE)
    expect(pending.locator('tr[data-field="status"] .diff-after')).to_have_text("เผยแพร่อยู่")


def test_an_entry_every_installation_needs_cannot_be_retired(
    scene: Hub, consoles: list[Console], browser: Browser, hub: LiveServer
) -> None:
    author = supervisor(consoles, browser, hub, "kb_suda")
    open_entry(author, EXPIRY)
    author.get_by_role("button", name="เลิกใช้คำตอบนี้").click()
    expect(author.locator("#error-status")).to_contain_text("ยกเลิกไม่ได้")
    expect(author.locator("#submit-result")).to_be_hidden()


def test_a_rejected_change_goes_back_to_its_author_with_the_note(
    scene: Hub, consoles: list[Console], browser: Browser, hub: LiveServer
) -> None:
    title = "จดทะเบียนแก้ไขกรรมการ ที่ตั้ง ทุน หรือวัตถุประสงค์"  # registration_amendment [registration]
    note = "กรุณาระบุค่าธรรมเนียมแต่ละรายการให้ครบก่อนค่ะ"
    author = supervisor(consoles, browser, hub, "kb_somchai")
    open_entry(author, title)
    submit_answer(author, answer_box(author).input_value() + " ค่าธรรมเนียมตามรายการที่แก้ไขค่ะ")

    reviewer = supervisor(consoles, browser, hub, "kb_suda")
    reviewer.get_by_role("link", name=re.compile("รายการรอตรวจ")).click()
    change = pending_change(reviewer, title)
    change.get_by_role("button", name=re.compile("ส่งกลับ")).click()
    expect(change.get_by_role("alert")).to_have_text("กรุณาเขียนหมายเหตุถึงผู้แก้ไขก่อนส่งกลับ")
    change.get_by_label("หมายเหตุถึงผู้แก้ไข").fill(note)
    change.get_by_role("button", name=re.compile("ส่งกลับ")).click()
    expect(pending_change(reviewer, title)).to_have_count(0)

    author.reload()
    sent_back = author.locator("#rejected-list .kb-change")
    expect(sent_back).to_contain_text("ไม่อนุมัติ")
    expect(sent_back).to_contain_text(f"หมายเหตุ: {note}")
    expect(sent_back).to_contain_text("ตรวจโดย kb_suda")
    expect(author.locator("#pending-section")).to_be_hidden()
