"""The console as an inbox, in real headless Chromium: alerts, search, the citizen panel, Thai
labels, transfer notices, a supervisor's live counts and reassignment, a phone's width, axe-core.

Citizens are web-chat sessions driven through the web-chat API (the real pipeline escalates them);
officers are created through the admin API (see inbox_scene.py). Screenshots go to
test-artifacts/inbox-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.integration.browser.axe import serious_violations
from tests.integration.browser.conftest import CHROMIUM
from tests.integration.browser.inbox_scene import (
    ACCOUNTS,
    DISMISS_PERMISSION_QUESTION,
    GENERAL,
    LIVE_MS,
    OFFICER_PASSWORD,
    Console,
    Hub,
    row_of,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]


@pytest.fixture(scope="module")
def scene(hub: LiveServer) -> Iterator[Hub]:
    made = Hub(hub)
    yield made
    made.http.close()


@pytest.fixture
def console(browser: Browser, hub: LiveServer) -> Iterator[Console]:
    opened = Console(browser, hub)
    yield opened
    opened.close()


@pytest.fixture
def phone(browser: Browser, hub: LiveServer) -> Iterator[Console]:
    opened = Console(browser, hub, width=375)
    yield opened
    opened.close()


# ---- alerts -----------------------------------------------------------------------------------
def test_a_new_escalation_notifies_beeps_and_counts_in_the_title(console: Console, scene: Hub) -> None:
    page = console.log_in()
    assert page.evaluate("Notification.permission") == "granted"
    expect(page.get_by_role("button", name="เปิดการแจ้งเตือน")).to_be_hidden()

    scene.escalated_citizen("แจ้งเตือนทดสอบหนึ่ง")

    page.wait_for_function("() => window.__alerts.notifications.length >= 1", timeout=LIVE_MS)
    [notification] = console.alerts()["notifications"]
    assert notification["title"] == "มีเรื่องใหม่รอเจ้าหน้าที่"
    assert GENERAL in notification["body"]
    waiting = len(scene.queue())
    expect(page).to_have_title(re.compile(rf"^\({waiting}\) ศูนย์ตอบแชต"))
    assert console.alerts()["beeps"] >= 1
    console.shoot("alert-new-escalation")


def test_a_citizen_message_in_a_claimed_conversation_notifies(console: Console, scene: Hub) -> None:
    page = console.log_in()
    citizen = scene.escalated_citizen("แจ้งเตือนทดสอบสอง")
    scene.act(citizen.conversation_id, "claim", console.token())
    expect(page.locator(f'#mine-list li[data-conversation="{citizen.conversation_id}"]')).to_be_visible(
        timeout=LIVE_MS
    )
    # the console subscribed to the conversation's messages once it listed it as mine
    page.wait_for_function(
        "id => window.__frames.some((f) => f.includes('\"watching\"') && f.includes(id))",
        arg=citizen.conversation_id,
        timeout=LIVE_MS,
    )
    before = len(console.alerts()["notifications"])
    title_before = page.title()

    citizen.say("ยังรออยู่นะคะ")

    page.wait_for_function("n => window.__alerts.notifications.length > n", arg=before, timeout=LIVE_MS)
    latest = console.alerts()["notifications"][-1]
    assert latest == {"title": "ข้อความใหม่จากประชาชน", "body": "ยังรออยู่นะคะ"}
    expect(page.locator("#mine-list")).to_contain_text("มีข้อความใหม่")
    counted = re.match(r"^\((\d+)\)", title_before)
    count_before = int(counted.group(1)) if counted else 0
    expect(page).to_have_title(re.compile(rf"^\({count_before + 1}\) "))


def test_notifications_are_asked_for_once_then_only_on_the_officers_click(
    browser: Browser, hub: LiveServer
) -> None:
    console = Console(browser, hub, granted=False, script=DISMISS_PERMISSION_QUESTION)
    try:
        page = console.log_in()
        assert page.evaluate("() => window.__asked") == 1  # asked on the login click
        enable = page.get_by_role("button", name="เปิดการแจ้งเตือน")
        expect(enable).to_be_visible()

        page.get_by_role("button", name="ออกจากระบบ").click()
        page.get_by_label("ชื่อผู้ใช้").fill("admin")
        page.get_by_label("รหัสผ่าน").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="เข้าสู่ระบบ").click()
        expect(enable).to_be_visible()
        assert page.evaluate("() => window.__asked") == 1  # not again at the next login

        enable.click()
        page.wait_for_function("() => window.__asked === 2")
    finally:
        console.close()


# ---- search and filters -----------------------------------------------------------------------
def test_search_and_filters_narrow_the_queue(console: Console, scene: Hub) -> None:
    wanted = scene.escalated_citizen("สินค้าชำรุด รหัสสินค้า XK42Q")
    other = scene.escalated_citizen("สอบถามเรื่องอื่นค่ะ")
    page = console.log_in()
    expect(row_of(page, other.conversation_id)).to_be_visible()

    page.get_by_role("searchbox", name="ค้นหา").fill("xk42q")
    page.get_by_role("button", name="ค้นหา", exact=True).click()

    expect(page.locator("#queue-body tr")).to_have_count(1)
    expect(row_of(page, wanted.conversation_id)).to_be_visible()
    expect(page.locator("#filter-summary")).to_contain_text("แสดง 1 จาก")
    console.shoot("search")

    page.get_by_role("button", name="ล้างการค้นหา").click()
    expect(row_of(page, other.conversation_id)).to_be_visible()
    page.get_by_label("ช่องทาง").select_option("line")
    page.get_by_role("button", name="ค้นหา", exact=True).click()
    expect(page.locator("#filter-summary")).to_have_text("ไม่พบเรื่องที่ตรงกับการค้นหา")
    page.get_by_label("ช่องทาง").select_option("webchat")
    page.get_by_label("เฉพาะเรื่องที่รอเกินเวลาเป้าหมาย").check()
    page.get_by_role("button", name="ค้นหา", exact=True).click()
    expect(page.locator("#filter-summary")).to_have_text("ไม่พบเรื่องที่ตรงกับการค้นหา")  # all are fresh
    page.get_by_label("เฉพาะเรื่องที่รอเกินเวลาเป้าหมาย").uncheck()
    page.get_by_label("แผนก", exact=True).select_option("general")
    page.get_by_role("button", name="ค้นหา", exact=True).click()
    expect(row_of(page, other.conversation_id)).to_be_visible()


# ---- the conversation panel -------------------------------------------------------------------
def test_the_citizen_panel_and_what_the_bot_understood_are_in_thai(console: Console, scene: Hub) -> None:
    citizen = scene.escalated_citizen("จดทะเบียนบริษัทออนไลน์ได้ไหม")
    page = console.log_in()
    expect(page.locator("#whoami-role")).to_have_text("(ผู้ดูแลระบบ)")

    row_of(page, citizen.conversation_id).get_by_role("button", name=re.compile("^เปิดดู")).click()

    understood = page.locator("#transcript .nlu").first
    expect(understood).to_contain_text("จดทะเบียนตั้งบริษัทออนไลน์ด้วย DBD e-Registration")
    expect(understood).to_contain_text(re.compile("มั่นใจ(สูง|ปานกลาง|ต่ำ)"))
    expect(understood).to_contain_text("ตอบจากฐานความรู้")
    expect(page.locator("#transcript")).not_to_contain_text("company_registration_online")
    expect(page.locator("#transcript")).not_to_contain_text("faq ·")
    panel = page.get_by_role("region", name="ประวัติของประชาชนรายนี้")
    expect(panel).to_contain_text(f"เว็บแชต · รหัสผู้ใช้ {citizen.session_id}")
    # what this hand-over was about: the question, not the request for a person
    expect(panel).to_contain_text("“จดทะเบียนบริษัทออนไลน์ได้ไหม”")
    expect(panel).to_contain_text("กำลังดำเนินการ")
    console.shoot("conversation")


def test_queue_rows_show_the_topic_and_question_when_the_hub_gives_them(console: Console, scene: Hub) -> None:
    citizen = scene.escalated_citizen("ส่งงบการเงินออนไลน์ทำยังไง")
    topic = {"faq_id": "financial_statement_submission", "title": "ยื่นงบการเงินทางอิเล็กทรอนิกส์"}

    def with_topic(route: Route) -> None:
        body = route.fetch().json()
        for row in body["conversations"]:
            if row["id"] == citizen.conversation_id:
                row.update(topic=topic, question="ส่งงบการเงินออนไลน์ทำยังไง")
        route.fulfill(json=body)

    console.page.route(re.compile(r"/api/officer/queue(\?.*)?$"), with_topic)
    page = console.log_in()

    row = row_of(page, citizen.conversation_id)
    expect(row.locator(".topic")).to_have_text(topic["title"])
    expect(row.locator(".question")).to_have_text("“ส่งงบการเงินออนไลน์ทำยังไง”")
    expect(row.locator(".last")).to_have_text("ข้อความล่าสุด: ขอคุยกับเจ้าหน้าที่ค่ะ")


def test_replying_to_a_waiting_conversation_claims_it_visibly(console: Console, scene: Hub) -> None:
    citizen = scene.escalated_citizen("ขอสอบถามค่ะ")
    page = console.log_in()
    row_of(page, citizen.conversation_id).get_by_role("button", name=re.compile("^เปิดดู")).click()
    expect(page.locator("#reply-claims")).to_be_visible()

    page.get_by_label("ข้อความตอบกลับถึงประชาชน").fill("สวัสดีค่ะ ยินดีช่วยค่ะ")
    page.get_by_role("button", name="รับเรื่องและส่งข้อความ").click()

    expect(page.locator("#fact-holder")).to_have_text("ฉัน", timeout=LIVE_MS)
    expect(page.locator("#fact-state")).to_have_text("เจ้าหน้าที่ดูแล")
    expect(page.locator("#announcer")).to_have_text(re.compile("รับเรื่องและส่งข้อความแล้ว"))
    expect(page.locator("#reply-claims")).to_be_hidden()
    expect(page.get_by_role("button", name="ส่งข้อความ", exact=True)).to_be_visible()
    expect(page.locator("#transcript")).to_contain_text("เจ้าหน้าที่รับเรื่องของท่านแล้ว")


def test_after_a_transfer_the_previous_officers_panel_says_where_it_went(
    console: Console, scene: Hub
) -> None:
    scene.officer("somsri", ["general"])
    citizen = scene.escalated_citizen("สำนักงานเปิดกี่โมงคะ")  # a general topic: the queue somsri works
    page = console.log_in("somsri", OFFICER_PASSWORD)
    row_of(page, citizen.conversation_id).get_by_role("button", name=re.compile("^รับเรื่อง")).click()
    expect(page.locator("#fact-holder")).to_have_text("ฉัน", timeout=LIVE_MS)

    page.locator("#transfer summary").click()
    page.get_by_label("แผนกปลายทาง", exact=True).select_option("accounts")
    page.get_by_role("button", name="ส่งต่อ", exact=True).click()

    notice = page.locator("#moved-notice")
    expect(notice).to_have_text(f"เรื่องนี้ถูกส่งต่อไปยังแผนก{ACCOUNTS}แล้ว ท่านไม่ต้องดำเนินการต่อ", timeout=LIVE_MS)
    expect(page.locator("#conversation")).to_be_hidden()  # no longer in somsri's departments
    console.shoot("transferred")


def test_when_a_supervisor_transfers_an_officers_conversation_the_officers_panel_says_so(
    console: Console, scene: Hub
) -> None:
    somsri = scene.officer("somsri", ["general"])
    citizen = scene.escalated_citizen("มีคอร์สเรียนออนไลน์ฟรีไหมคะ")  # a general topic
    scene.act(citizen.conversation_id, "claim", somsri)
    page = console.log_in("somsri", OFFICER_PASSWORD)
    page.locator(f'#mine-list li[data-conversation="{citizen.conversation_id}"] button').click()
    expect(page.locator("#fact-holder")).to_have_text("ฉัน")

    scene.act(citizen.conversation_id, "transfer", scene.admin, department="accounts")

    # where it went when the console heard the change; "out of your departments" at the least
    expect(page.locator("#moved-notice")).to_have_text(
        re.compile(f"ถูกส่งต่อ(ไปยังแผนก{ACCOUNTS}|ออกจากแผนกของท่าน)แล้ว"), timeout=LIVE_MS
    )
    expect(page.locator("#conversation")).to_be_hidden()
    expect(page.locator(f'#mine-list li[data-conversation="{citizen.conversation_id}"]')).to_have_count(0)


# ---- a supervisor -----------------------------------------------------------------------------
def test_a_supervisor_sees_live_counts_and_reassigns(console: Console, scene: Hub) -> None:
    scene.officer("somchai", ["general"])
    scene.officer("malee", ["general", "accounts"], role="supervisor")
    page = console.log_in("malee", OFFICER_PASSWORD)
    expect(page.locator("#whoami-role")).to_have_text("(หัวหน้างาน)")
    general = page.locator('#counts-body tr[data-department="general"]')
    expect(general).to_be_visible()
    waiting = int(general.locator('[data-count="waiting"]').inner_text())

    citizen = scene.escalated_citizen("ขอคนช่วยหน่อยค่ะ")

    expect(general.locator('[data-count="waiting"]')).to_have_text(str(waiting + 1), timeout=LIVE_MS)
    row_of(page, citizen.conversation_id).get_by_role("button", name=re.compile("^เปิดดู")).click()
    page.get_by_label("มอบหมายเรื่องนี้ให้").select_option(label="somchai (เจ้าหน้าที่)")
    page.get_by_role("button", name="มอบหมาย", exact=True).click()

    expect(page.locator("#fact-holder")).to_have_text("somchai", timeout=LIVE_MS)
    expect(general.locator('[data-count="waiting"]')).to_have_text(str(waiting), timeout=LIVE_MS)
    expect(general.locator('[data-count="with_officer"]')).not_to_have_text("0")
    console.shoot("supervisor")


# ---- a phone and axe --------------------------------------------------------------------------
def test_on_a_phone_the_queue_is_cards_and_nothing_wraps_or_overflows(phone: Console, scene: Hub) -> None:
    citizen = scene.escalated_citizen("ทดสอบบนโทรศัพท์มือถือค่ะ")
    page = phone.log_in()
    row = row_of(page, citizen.conversation_id)
    expect(row).to_be_visible()

    expect(row).to_have_css("display", "block")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    buttons = row.locator(".row-actions button")
    boxes = [buttons.nth(i).bounding_box() for i in range(buttons.count())]
    assert len({round(box["y"]) for box in boxes if box}) == 1, "the row's buttons are not on one line"
    single_line = page.evaluate(
        """() => [...document.querySelectorAll('button:not(.link)')].filter((b) => b.offsetParent)
            .filter((b) => b.scrollWidth > b.clientWidth + 1 || b.getClientRects().length !== 1)
            .map((b) => b.textContent)"""
    )
    assert single_line == []
    phone.shoot("phone-queue")

    row.get_by_role("button", name=re.compile("^เปิดดู")).click()
    expect(page.locator("#transcript .msg").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert serious_violations(page) == []
    phone.shoot("phone-conversation")


def test_axe_finds_nothing_serious_on_the_queue_and_a_conversation_with_content(
    console: Console, scene: Hub
) -> None:
    citizen = scene.escalated_citizen("จดทะเบียนบริษัทออนไลน์ได้ไหม")
    page = console.log_in()
    expect(row_of(page, citizen.conversation_id)).to_be_visible()
    assert page.locator("#queue-body tr").count() >= 1

    assert serious_violations(page) == []

    row_of(page, citizen.conversation_id).get_by_role("button", name=re.compile("^รับเรื่อง")).click()
    expect(page.locator("#transcript .msg")).not_to_have_count(0)
    expect(page.get_by_role("region", name="ประวัติของประชาชนรายนี้")).to_be_visible()
    assert serious_violations(page) == []
