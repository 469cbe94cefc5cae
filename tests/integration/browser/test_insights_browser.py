"""``/console/insights`` in real headless Chromium: the admin logs in, the charts are drawn (and
readable as tables), and an unanswered question opens the knowledge-base editor with it added.
The screenshot is test-artifacts/insights.png."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from app.conversations.models import Citizen, Conversation, Escalation, Message
from app.db.engine import create_engine, create_sessionmaker
from app.db.schema import utcnow
from tests.conftest import ADMIN_PASSWORD, LiveServer, make_settings
from tests.integration.browser.axe import serious_violations
from tests.integration.browser.conftest import ARTIFACTS, CHROMIUM, OutsideRequests
from tests.integration.insights.conftest import copy_knowledge_base, decision

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]

PARAPHRASES = ("ค่าปรับส่งงบการเงินช้าเท่าไหร่", "ส่งงบการเงินช้า ค่าปรับเท่าไหร่คะ", "ส่งงบการเงินช้าาา ค่าปรับเท่าไหร่ครับ")
CHART_IDS = ("channels", "actions", "intents", "faq", "satisfaction")
# answered right, if not surely: never an "unanswered" question
SHAKY_BUT_RIGHT = "จดบริษัทยังงัยอ่ะ"


def message(
    conversation: Conversation, text: str, nlu: dict[str, Any] | None, hours: float, out: bool = False
) -> Message:
    return Message(
        conversation_id=conversation.id,
        direction="out" if out else "in",
        sender="bot" if out else "citizen",
        text=text,
        nlu=nlu,
        created_at=utcnow() - dt.timedelta(hours=hours),
    )


async def seed(url: str) -> None:
    """A few days of traffic on every channel, written straight into the hub's database."""
    engine = create_engine(url)
    answers = [("name_reservation", "จองชื่อบริษัทยังไง"), ("company_certificate", "ขอหนังสือรับรองออนไลน์")]
    unsure = decision(
        "escalate", reason="low_confidence", confidence=0.3, ranking=["financial_statement_deadline"]
    )
    async with create_sessionmaker(engine)() as session, session.begin():
        for index, channel in enumerate(("line", "line", "facebook", "webchat")):
            citizen = Citizen(channel=channel, external_id=f"U{index}")
            session.add(citizen)
            await session.flush()
            conversation = Conversation(citizen_id=citizen.id, channel=channel)
            session.add(conversation)
            await session.flush()
            for hour in range(index + 2):
                faq_id, text = answers[hour % 2]
                session.add(message(conversation, text, decision("answer", faq_id=faq_id), hour + 1))
                session.add(message(conversation, "คำตอบ", None, hour + 1, out=True))
            session.add(message(conversation, "สวัสดีค่ะ", decision("smalltalk", intent="greet"), 5))
            if index == 0:
                shaky = decision("answer", faq_id="company_registration_online", confidence=0.7)
                session.add(message(conversation, SHAKY_BUT_RIGHT, shaky, 4))
            fallback = decision("fallback", intent="nlu_fallback")
            session.add(message(conversation, f"โทร 08123456{index}8 ได้ไหม", fallback, 6))
            if index < len(PARAPHRASES):
                session.add(message(conversation, PARAPHRASES[index], unsure, 7))
            created = utcnow() - dt.timedelta(hours=8)
            session.add(
                Escalation(
                    conversation_id=conversation.id,
                    department="accounts",
                    reason="low_confidence",
                    created_at=created,
                    first_reply_at=created + dt.timedelta(minutes=5 + index),
                    resolved_at=created + dt.timedelta(hours=1),
                    rating=5 - index % 3,
                )
            )
    await engine.dispose()


@pytest.fixture(scope="module")
def insights_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("insights-hub")
    kb = copy_knowledge_base(var_dir / "kb", {"online_courses": {"reviewed_at": dt.date(2019, 5, 1)}})
    url = f"sqlite+aiosqlite:///{var_dir / 'govchat.db'}"
    with LiveServer(make_settings(url, var_dir, GOVCHAT_KB_DIR=kb)) as server:
        # its own thread and event loop: Playwright's sync API owns this one's
        seeding = threading.Thread(target=lambda: asyncio.run(seed(url)))
        seeding.start()
        seeding.join()
        yield server


@pytest.fixture
def page(browser: Browser, insights_hub: LiveServer) -> Iterator[Page]:
    outside = OutsideRequests(insights_hub.url)
    context = browser.new_context(
        base_url=insights_hub.url, locale="th-TH", viewport={"width": 1280, "height": 900}
    )
    context.route(outside.is_outside, outside.refuse)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
    assert outside.unexpected() == [], "the page tried to reach the internet"


def log_in_as_admin(page: Page) -> None:
    page.goto("/console/insights")
    page.get_by_label("ชื่อผู้ใช้").fill("admin")
    page.get_by_label("รหัสผ่าน").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(page.locator("body[data-state=ready]")).to_be_attached(timeout=30_000)


def paraphrase_row(page: Page) -> Locator:
    """The three spellings of one question about late financial statements: one row."""
    return page.locator("#unanswered-table tbody tr").filter(has_text="ค่าปรับ")


def painted_pixels(page: Page, chart_id: str) -> int:
    count: int = page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id + "-chart");
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
            return painted;
        }""",
        chart_id,
    )
    return count


def test_the_admin_sees_the_charts_drawn_with_tables_behind_them(
    page: Page, insights_hub: LiveServer
) -> None:
    log_in_as_admin(page)

    for chart_id in CHART_IDS:
        assert painted_pixels(page, chart_id) > 500, f"chart {chart_id} is blank"
        expect(page.locator(f"#{chart_id}-chart")).to_have_attribute("role", "img")
    page.locator("section:has(#channels-chart) summary").click()
    channels = page.get_by_role("table", name="จำนวนข้อความตามช่องทาง")
    expect(channels.get_by_role("row", name="LINE")).to_contain_text("LINE")
    expect(paraphrase_row(page).get_by_role("cell").nth(1)).to_have_text("3")
    expect(page.locator("#unanswered-table tbody tr").first).to_contain_text("โทร [PHONE] ได้ไหม")
    expect(page.locator("#unanswered-table")).not_to_contain_text("0812345")
    expect(page.locator("#stale-table")).to_contain_text("online_courses")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "insights.png"), full_page=True)


def test_the_draft_button_opens_the_editor_with_the_question_added_to_the_suggested_entry(
    page: Page, insights_hub: LiveServer
) -> None:
    log_in_as_admin(page)
    question = paraphrase_row(page).get_by_role("cell").first.inner_text()

    paraphrase_row(page).get_by_role("link", name=re.compile("สร้างร่างคำถาม")).click()

    expect(page.get_by_role("heading", name=re.compile("แก้ไขคำตอบ: กำหนดส่งงบการเงิน"))).to_be_visible()
    added = page.locator("#questions-list li").last
    expect(added).to_contain_text(question)
    expect(page.locator("#questions-list li")).to_have_count(
        len(insights_hub.services.kb.store.current.entries["financial_statement_deadline"].questions) + 1
    )
    expect(page.get_by_role("status").filter(has_text="เพิ่มคำถาม")).to_be_attached()


def test_a_shaky_but_given_answer_is_not_listed_as_unanswered(page: Page) -> None:
    log_in_as_admin(page)

    expect(page.locator("#unanswered-table")).not_to_contain_text(SHAKY_BUT_RIGHT)
    uncertain = page.locator("#uncertain-table tbody tr").filter(has_text=SHAKY_BUT_RIGHT)
    expect(uncertain).to_contain_text("จดทะเบียน")  # the Thai title of the entry it answered with


def test_every_percentage_states_its_base(page: Page) -> None:
    log_in_as_admin(page)

    decisions = page.evaluate(
        """() => fetch("/api/admin/insights?days=7", {headers: {Authorization: "Bearer " +
            sessionStorage.getItem("govchat.console.token")}}).then(r => r.json())"""
    )
    answered = page.locator("#summary div").filter(has_text="ตอบได้")
    expected = f"({decisions['actions']['answer']} จาก {decisions['decisions']} ข้อความที่แชตบอตตัดสินใจ)"
    expect(answered.locator("dd")).to_contain_text(expected)


def test_chart_labels_are_shown_whole(page: Page) -> None:
    log_in_as_admin(page)

    shown = page.evaluate(
        """() => ["faq", "intents"].map((id) => {
            const chart = Chart.getChart(document.getElementById(id + "-chart"));
            // a wrapped label is its lines; spaces may become line breaks
            const joined = (label) => [].concat(label).join("").replaceAll(" ", "");
            return {
                labels: chart.data.labels.map(joined),
                ticks: chart.scales.y.ticks.map((t) => joined(t.label)),
                left: chart.scales.y.left,
            };
        })"""
    )
    titles = page.evaluate(
        "() => JSON.parse(document.getElementById('insights-config').textContent).faq_titles"
    )
    for chart in shown:
        assert chart["ticks"] == chart["labels"], "a label was skipped"
        assert chart["left"] >= 0, "labels run off the canvas"
    whole_titles = {title.replace(" ", "") for title in titles.values()}
    assert set(shown[0]["labels"]) <= whole_titles, "a FAQ label was cut"


def test_no_serious_accessibility_violations_with_data(page: Page) -> None:
    log_in_as_admin(page)

    assert serious_violations(page) == []
