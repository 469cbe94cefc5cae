"""The citizen's web chat at ``/`` (the one-tag widget, open at once there) in real headless
Chromium: keyboard, screen-reader names, quick replies, reload, network drops and zoom.
Playwright's locators reach into the widget's (open) shadow root. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route, WebSocketRoute, expect

from tests.conftest import LiveServer
from tests.integration.browser.axe import serious_violations
from tests.integration.browser.conftest import CHROMIUM, OutsideRequests

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]

QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"
OTHER_QUESTION = "ต้องใช้เอกสารอะไรบ้างในการจดทะเบียนบริษัท"
HUMAN = "คุยกับเจ้าหน้าที่"
REPLY_MS = 30_000
THAI = re.compile(r"[\u0E01-\u0E5B]")
Shoot = Callable[[str], Path]


# ---- what a citizen (or a screen reader) finds on the page ----------------------------------------
def chat_input(page: Page) -> Locator:
    return page.get_by_role("textbox", name="พิมพ์คำถามของท่าน")


def send_button(page: Page) -> Locator:
    return page.get_by_role("button", name="ส่ง", exact=True)


def status(page: Page) -> Locator:
    return page.get_by_role("status")


def quick_replies(page: Page) -> Locator:
    return page.get_by_role("group", name="ตัวเลือกที่แนะนำ").get_by_role("button")


def citizen_messages(page: Page) -> Locator:
    return page.locator(".gc-msg--in")


def bot_messages(page: Page) -> Locator:
    return page.locator(".gc-msg--bot")


def rendered_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all("[data-id]", "items => items.map(item => item.dataset.id)")
    return ids


def is_focused(locator: Locator) -> bool:
    """Focus inside a shadow root shows on its root (``document.activeElement`` is the host)."""
    return bool(locator.evaluate("element => element.getRootNode().activeElement === element"))


def press_until_focused(page: Page, target: Locator, key: str = "Tab", limit: int = 60) -> None:
    for _ in range(limit):
        if is_focused(target):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {target}")


def ask(page: Page, text: str) -> None:
    chat_input(page).fill(text)
    chat_input(page).press("Enter")


def wait_for_bot_replies(page: Page, count: int) -> None:
    expect(bot_messages(page)).to_have_count(count, timeout=REPLY_MS)


# ---- the hub's side, through the contract ---------------------------------------------------------
def stored_session(page: Page, hub_url: str | None = None) -> dict[str, str]:
    """The session the widget keeps in localStorage (created with the first message), under the
    hub's origin (``hub_url``; by default the page's own, when the page is the hub's).

    Waits take functions, not expressions: Playwright polls an expression through eval, which the
    pages' CSP (no 'unsafe-eval') refuses."""
    key = "'govchat.webchat:' + " + (json.dumps(hub_url) if hub_url else "location.origin")
    handle = page.wait_for_function(f"() => localStorage.getItem({key})")
    session: dict[str, str] = json.loads(handle.json_value())
    return session


class HasUrl(Protocol):
    url: str


def hub_messages(hub: HasUrl, session: dict[str, str]) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{hub.url}/api/webchat/sessions/{session['id']}/messages",
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def wait_until_hub_has(
    page: Page, hub: LiveServer, session: dict[str, str], predicate: Any
) -> list[dict[str, Any]]:
    for _ in range(REPLY_MS // 100):
        messages = hub_messages(hub, session)
        if predicate(messages):
            return messages
        page.wait_for_timeout(100)
    raise AssertionError("the hub did not get there in time")


def expect_exactly_the_hubs_messages(page: Page, hub: LiveServer) -> None:
    """Every stored message shown once, in id order, and nothing else."""
    expected = [m["id"] for m in hub_messages(hub, stored_session(page))]
    expect(page.locator(".gc-messages [data-id]")).to_have_count(len(expected), timeout=REPLY_MS)
    page.wait_for_timeout(500)  # a late duplicate would show up now
    assert rendered_ids(page) == expected


# ---- tests -----------------------------------------------------------------------------------------
class TestAskingWithTheKeyboard:
    def test_a_question_typed_with_the_keyboard_gets_a_thai_answer_with_a_source_link(
        self, page: Page, context: BrowserContext, outside: OutsideRequests, shoot: Shoot
    ) -> None:
        page.goto("/")
        expect(status(page)).to_contain_text("พร้อมให้บริการ")

        press_until_focused(page, chat_input(page))
        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")

        wait_for_bot_replies(page, 1)
        answer = bot_messages(page).first
        expect(answer).to_contain_text(THAI)
        expect(citizen_messages(page)).to_have_count(1)
        expect(citizen_messages(page)).to_contain_text(QUESTION)
        expect(chat_input(page)).to_be_focused()
        expect(chat_input(page)).to_have_value("")
        expect(status(page)).to_have_text("เชื่อมต่อแล้ว")
        shoot("answered")

        link = answer.get_by_role("link").first
        href = link.get_attribute("href") or ""
        assert re.match(r"https?://", href)
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in (link.get_attribute("rel") or "")
        press_until_focused(page, link, key="Shift+Tab")
        outside.expected.append(href)
        with context.expect_page() as opened:
            page.keyboard.press("Enter")
        opened.value.close()
        assert href in outside.seen, "pressing Enter on the source link opens it"

    def test_enter_on_an_empty_box_sends_nothing(self, page: Page) -> None:
        page.goto("/")

        chat_input(page).fill("   ")
        chat_input(page).press("Enter")

        page.wait_for_timeout(300)
        expect(citizen_messages(page)).to_have_count(0)

    def test_shift_enter_adds_a_line_instead_of_sending(self, page: Page) -> None:
        page.goto("/")
        chat_input(page).focus()

        page.keyboard.type("บรรทัดแรก")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("บรรทัดสอง")

        expect(chat_input(page)).to_have_value("บรรทัดแรก\nบรรทัดสอง")
        expect(citizen_messages(page)).to_have_count(0)

    def test_the_send_button_works_too(self, page: Page) -> None:
        page.goto("/")
        chat_input(page).fill(QUESTION)

        send_button(page).click()

        wait_for_bot_replies(page, 1)


class TestQuickReplies:
    def test_quick_replies_are_buttons_that_send_their_text(self, page: Page, shoot: Shoot) -> None:
        page.goto("/")
        expect(page.locator(".gc-quick")).to_be_hidden()
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)
        expect(quick_replies(page).first).to_be_visible()
        labels = quick_replies(page).all_inner_texts()
        assert HUMAN in labels
        choice = next(label for label in labels if label != HUMAN)
        shoot("offered")

        option = page.get_by_role("group", name="ตัวเลือกที่แนะนำ").get_by_role("button", name=choice)
        press_until_focused(page, option, key="Shift+Tab")
        page.keyboard.press("Enter")

        expect(citizen_messages(page)).to_have_count(2)
        expect(citizen_messages(page).nth(1)).to_contain_text(choice)
        expect(chat_input(page)).to_be_focused()
        wait_for_bot_replies(page, 2)

    def test_the_talk_to_an_officer_button_is_always_there(self, page: Page, hub: LiveServer) -> None:
        page.goto("/")
        human = page.get_by_role("button", name=HUMAN).first
        expect(human).to_be_visible()

        human.click()

        expect(citizen_messages(page)).to_contain_text(HUMAN)
        wait_until_hub_has(
            page, hub, stored_session(page), lambda ms: any(m["direction"] == "out" for m in ms)
        )
        expect_exactly_the_hubs_messages(page, hub)


class TestContinuity:
    def test_a_reload_keeps_the_conversation(self, page: Page, hub: LiveServer, shoot: Shoot) -> None:
        page.goto("/")
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)
        session = stored_session(page)
        before = rendered_ids(page)

        page.reload()

        expect(status(page)).to_have_text("เชื่อมต่อแล้ว")
        expect(page.locator(".gc-messages [data-id]")).to_have_count(len(before))
        assert rendered_ids(page) == before
        assert stored_session(page) == session
        shoot("reloaded")
        ask(page, OTHER_QUESTION)
        wait_for_bot_replies(page, 2)
        expect_exactly_the_hubs_messages(page, hub)

    def test_a_reply_that_arrived_while_offline_appears_once(
        self, page: Page, context: BrowserContext, hub: LiveServer, shoot: Shoot
    ) -> None:
        page.goto("/")
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)
        session = stored_session(page)

        context.set_offline(True)
        expect(status(page)).to_contain_text("ไม่มีสัญญาณอินเทอร์เน็ต")
        shoot("offline")
        # Meanwhile the same citizen asks from another tab, and the bot answers.
        posted = httpx.post(
            f"{hub.url}/api/webchat/sessions/{session['id']}/messages",
            json={"text": OTHER_QUESTION, "client_message_id": "other-tab-1"},
            headers={"Authorization": f"Bearer {session['token']}"},
        )
        assert posted.status_code == 202
        asked = posted.json()["message_id"]
        wait_until_hub_has(page, hub, session, lambda ms: int(ms[-1]["id"]) > int(asked))
        context.set_offline(False)

        expect(status(page)).to_have_text("เชื่อมต่อแล้ว", timeout=REPLY_MS)
        expect(citizen_messages(page)).to_have_count(2)
        expect_exactly_the_hubs_messages(page, hub)
        shoot("caught-up")

    def test_a_reply_whose_push_was_lost_appears_once_after_the_connection_drops(
        self, page: Page, hub: LiveServer
    ) -> None:
        relay: dict[str, Any] = {"forward": True, "sockets": []}

        def between_page_and_hub(socket: WebSocketRoute) -> None:
            server = socket.connect_to_server()
            relay["sockets"].append(socket)
            server.on_message(lambda message: socket.send(message) if relay["forward"] else None)

        page.route_web_socket(re.compile(r"/ws\?token="), between_page_and_hub)
        page.goto("/")
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)

        relay["forward"] = False  # pushes get lost, the connection looks fine
        ask(page, OTHER_QUESTION)
        session = stored_session(page)
        wait_until_hub_has(page, hub, session, lambda ms: [m["direction"] for m in ms[-2:]] == ["in", "out"])
        page.wait_for_timeout(500)
        expect(bot_messages(page)).to_have_count(1)

        relay["forward"] = True
        relay["sockets"][-1].close()  # the connection drops; the widget reconnects and catches up

        expect(bot_messages(page)).to_have_count(2, timeout=REPLY_MS)
        expect_exactly_the_hubs_messages(page, hub)
        assert len(relay["sockets"]) >= 2

    def test_a_lost_answer_is_retried_with_the_same_id_and_stored_once(
        self, page: Page, hub: LiveServer
    ) -> None:
        posts: list[dict[str, str]] = []

        def lose_the_first_answer(route: Route) -> None:
            if route.request.method != "POST":
                route.continue_()
                return
            posts.append(route.request.post_data_json)
            if len(posts) == 1:
                route.fetch()  # the hub stores the message...
                route.abort("connectionreset")  # ...but its answer never reaches the phone
            else:
                route.continue_()

        page.route(re.compile(r"/api/webchat/sessions/[^/]+/messages$"), lose_the_first_answer)
        page.goto("/")

        ask(page, QUESTION)

        wait_for_bot_replies(page, 1)
        for _ in range(100):  # the first retry comes a second later
            if len(posts) >= 2:
                break
            page.wait_for_timeout(100)
        expect(citizen_messages(page)).to_have_count(1)
        assert len(posts) >= 2
        assert posts[0] == posts[1], "the retry repeats the text and the client_message_id"
        expect_exactly_the_hubs_messages(page, hub)
        stored = [m for m in hub_messages(hub, stored_session(page)) if m["direction"] == "in"]
        assert [m["text"] for m in stored] == [QUESTION]

    def test_a_message_typed_offline_waits_and_is_sent_once_back_online(
        self, page: Page, context: BrowserContext, hub: LiveServer, shoot: Shoot
    ) -> None:
        page.goto("/")
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)

        context.set_offline(True)
        ask(page, OTHER_QUESTION)
        waiting = citizen_messages(page).nth(1)
        expect(waiting).to_contain_text("รอส่ง")
        expect(waiting.locator("time")).to_have_count(1)  # typed at: every bubble has its time
        expect(status(page)).to_contain_text("ไม่มีสัญญาณอินเทอร์เน็ต")
        shoot("not-sent")
        context.set_offline(False)

        wait_for_bot_replies(page, 2)
        expect(waiting).not_to_contain_text("รอส่ง")
        expect(status(page)).to_have_text("เชื่อมต่อแล้ว", timeout=REPLY_MS)
        expect_exactly_the_hubs_messages(page, hub)
        texts = [m["text"] for m in hub_messages(hub, stored_session(page)) if m["direction"] == "in"]
        assert texts == [QUESTION, OTHER_QUESTION]


class TestSafeRendering:
    def test_message_text_is_shown_as_text_and_only_web_links_are_clickable(self, page: Page) -> None:
        def inject(socket: WebSocketRoute) -> None:
            socket.connect_to_server()
            text = (
                '<img src=x onerror="window.pwned=1"> <b>ตัวหนา</b> javascript:alert(1) '
                "ดูที่ https://www.dbd.go.th/news?id=1. หรือ http://example.go.th/a_(b)"
            )
            message = {
                "id": "999999999",
                "direction": "out",
                "sender": "officer",
                "text": text,
                "created_at": "2026-01-01T09:00:00+07:00",
                "quick_replies": [],
            }
            socket.send(json.dumps({"type": "message", "message": message}))

        page.route_web_socket(re.compile(r"/ws\?token="), inject)
        page.goto("/")
        ask(page, "สวัสดี")

        officer = page.locator(".gc-msg--officer")
        expect(officer).to_contain_text("<b>ตัวหนา</b>")
        expect(officer).to_contain_text("เจ้าหน้าที่")
        assert officer.locator("img, b").count() == 0
        assert page.evaluate("window.pwned") is None
        hrefs = [link.get_attribute("href") for link in officer.get_by_role("link").all()]
        assert hrefs == ["https://www.dbd.go.th/news?id=1", "http://example.go.th/a_(b)"]


ZOOMS = {
    # 200 % browser zoom of a 1280x720 window lays the page out in 640x360 CSS pixels.
    "page-zoom-200": {"viewport": {"width": 640, "height": 360}, "device_scale_factor": 2},
    # 200 % zoom on a small phone (360x740), and WCAG reflow: 1280 px wide at 400 %.
    "phone-zoom-200": {
        "viewport": {"width": 180, "height": 370},
        "device_scale_factor": 4,
        "is_mobile": True,
    },
    "reflow-400": {"viewport": {"width": 320, "height": 256}, "device_scale_factor": 4},
}


def bring_the_question_box_into_view(page: Page) -> None:
    """Scroll as a citizen would, so that the box and its send button can both be seen."""
    page.locator(".gc-row").evaluate("row => row.scrollIntoView({block: 'center'})")


class TestZoomAndReflow:
    @pytest.mark.parametrize("context_options", list(ZOOMS.values()), ids=list(ZOOMS))
    def test_input_and_send_button_stay_in_view_when_zoomed(
        self, page: Page, context_options: dict[str, Any], shoot: Shoot
    ) -> None:
        viewport = context_options["viewport"]
        page.goto("/")
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)

        chat_input(page).focus()
        bring_the_question_box_into_view(page)

        for control in (chat_input(page), send_button(page)):
            box = control.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, control
            assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 1, control
        widest = page.evaluate("document.documentElement.scrollWidth")
        assert widest <= viewport["width"], "no sideways scrolling"
        shoot("zoomed")

    def test_text_only_zoom_to_200_percent_keeps_everything_usable(self, page: Page, shoot: Shoot) -> None:
        page.goto("/")
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)

        bring_the_question_box_into_view(page)
        expect(chat_input(page)).to_be_in_viewport()
        expect(send_button(page)).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        size = page.locator(".gc-text").first.evaluate("text => parseFloat(getComputedStyle(text).fontSize)")
        assert size >= 32
        shoot("text-200")


# Touch targets axe does not check: every control at least 44 x 44 CSS px.
SMALL_TARGETS = """() => {
  const root = document.querySelector('govchat-chat').shadowRoot;
  return [...root.querySelectorAll('button, textarea')]
    .filter((el) => el.getClientRects().length > 0)
    .filter((el) => { const b = el.getBoundingClientRect(); return b.height < 44 || b.width < 44; })
    .map((el) => el.textContent || el.getAttribute('aria-label'));
}"""


class TestAccessibility:
    def test_every_control_has_an_accessible_name(self, page: Page) -> None:
        page.goto("/")
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)
        expect(quick_replies(page).first).to_be_visible()

        named = ["button", "textbox", "link", "log", "group", "region"]
        for role in named:
            for element in page.get_by_role(role).all():  # type: ignore[arg-type]
                expect(element).to_have_accessible_name(re.compile(r"\S"))
        expect(page.get_by_role("region", name="ถาม-ตอบกับผู้ช่วยอัตโนมัติ")).to_be_visible()

    def test_the_conversation_is_a_polite_live_log(self, page: Page) -> None:
        page.goto("/")

        log = page.get_by_role("log", name="ข้อความในแชต")

        expect(log).to_have_attribute("aria-live", "polite")
        expect(log).to_have_attribute("tabindex", "0")  # scrollable with the keyboard
        expect(status(page)).to_be_visible()

    def test_axe_finds_no_serious_problem_with_a_conversation_open(self, page: Page) -> None:
        page.goto("/")
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)
        expect(quick_replies(page).first).to_be_visible()

        assert serious_violations(page) == []
        assert page.evaluate(SMALL_TARGETS) == []

    def test_the_focus_is_visible(self, page: Page) -> None:
        page.goto("/")

        press_until_focused(page, send_button(page))

        outline = send_button(page).evaluate("button => getComputedStyle(button).outlineStyle")
        assert outline == "solid"

    def test_the_skip_link_leads_to_the_question_box(self, page: Page) -> None:
        page.goto("/")

        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="ข้ามไปที่ช่องแชต")).to_be_focused()
        page.keyboard.press("Enter")

        expect(chat_input(page)).to_be_focused()

    @pytest.mark.parametrize("context_options", [{"reduced_motion": "reduce"}], ids=["reduced-motion"])
    def test_reduced_motion_stops_the_animation(self, page: Page, context_options: dict[str, Any]) -> None:
        page.goto("/")

        typing = page.locator(".gc-typing")
        typing.evaluate("element => element.classList.add('gc-typing--on')")  # as while someone types
        animation = typing.evaluate("element => getComputedStyle(element).animationName")

        assert animation == "none"


class TestOwnAssets:
    def test_the_page_loads_the_thai_font_from_the_hub(self, page: Page, hub: LiveServer) -> None:
        fonts: list[str] = []
        page.on("response", lambda r: fonts.append(r.url) if r.url.endswith(".woff2") and r.ok else None)

        page.goto("/")
        ask(page, QUESTION)
        wait_for_bot_replies(page, 1)

        assert page.evaluate("document.fonts.check('16px govchat-sarabun', 'ทดสอบ')")
        page.wait_for_function("() => document.fonts.status === 'loaded'")
        assert any("sarabun-thai" in url for url in fonts)
        assert all(url.startswith(hub.url + "/static/fonts/") for url in fonts)
