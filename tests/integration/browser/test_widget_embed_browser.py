"""The one-tag widget on an agency's own site (issue 26, "Done when"), in headless Chromium.

A plain host page is served from another origin (a second loopback port) with a strict CSP and
CSS that would break a careless widget, and carries only
``<script src="HUB/widget.js" defer></script>``. The walk: open the launcher, ask a Thai
question, get the answer; reload and open a new tab and find the history; send a PNG and see
the officer receive it; see "typing" only when the officer types; stop the hub, type, start
it again and see the message answered once.
"""

from __future__ import annotations

import base64
import http.server
import re
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from app.services import Services
from tests.conftest import ADMIN_PASSWORD, LiveServer, free_port, make_settings
from tests.integration.browser.axe import serious_violations
from tests.integration.browser.conftest import CHROMIUM, OutsideRequests, screenshot
from tests.integration.browser.test_webchat_browser import hub_messages, stored_session

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs chromium"),
]

QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"
LATER_QUESTION = "ต้องใช้เอกสารอะไรบ้างในการจดทะเบียนบริษัท"
REPLY_MS = 30_000
# A 1x1 PNG, as a phone's screenshot would start.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

HOST_PAGE = """<!doctype html>
<html lang="th"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>ข่าวประชาสัมพันธ์ | หน่วยงาน</title>
<link rel="stylesheet" href="/site.css"></head>
<body><main><h1>ข่าวประชาสัมพันธ์</h1><p>เนื้อหาของหน่วยงาน</p></main>
<script src="{hub}/widget.js" defer{options}></script></body></html>"""
OPTIONS = ' data-position="bottom-left" data-title="Ask DBD" data-primary-color="#6a1b9a" data-lang="en"'
# What agency sites really carry: resets and broad rules that would reach a widget in the page.
HOST_CSS = """* { font-family: serif !important; color: #c00 !important; line-height: 1 !important; }
div, section, button { display: block; border: 5px dotted red; margin: 3em; }
ol, ul { list-style: decimal; }"""


class AgencySite:
    """The agency's own site on another loopback port, with a strict Content-Security-Policy."""

    def __init__(self, hub_url: str, port: int) -> None:
        self.port = port
        self.origin = f"http://127.0.0.1:{self.port}"
        ws = hub_url.replace("http://", "ws://")
        pages = {
            "/": HOST_PAGE.format(hub=hub_url, options="").encode(),
            "/options": HOST_PAGE.format(hub=hub_url, options=OPTIONS).encode(),
        }
        csp = (
            f"default-src 'none'; script-src {hub_url}; style-src 'self' {hub_url}; font-src {hub_url}; "
            f"connect-src {hub_url} {ws}; img-src 'self'"
        )

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/site.css":
                    body, kind = HOST_CSS.encode(), "text/css"
                else:
                    body, kind = pages.get(self.path, pages["/"]), "text/html"
                self.send_response(200)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Security-Policy", csp)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AgencySite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class RestartableHub:
    """The hub on a fixed port and SQLite file, so that it can be stopped and started again."""

    def __init__(self, var_dir: Path, agency_port: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = make_settings(
            f"sqlite+aiosqlite:///{var_dir / 'govchat.db'}",
            var_dir,
            GOVCHAT_WIDGET_ORIGINS=f"http://127.0.0.1:{agency_port}",
        )
        self.server: LiveServer | None = None

    def start(self) -> None:
        self.server = LiveServer(self.settings, port=self.port).__enter__()

    def stop(self) -> None:
        if self.server is not None:
            self.server.__exit__(None, None, None)
            self.server = None

    @property
    def services(self) -> Services:
        assert self.server is not None
        return self.server.services


@pytest.fixture(scope="module")
def agency_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, agency_port: int) -> Iterator[RestartableHub]:
    restartable = RestartableHub(tmp_path_factory.mktemp("widget-hub"), agency_port)
    restartable.start()
    yield restartable
    restartable.stop()


@pytest.fixture(scope="module")
def agency(hub: RestartableHub, agency_port: int) -> Iterator[AgencySite]:
    with AgencySite(hub.url, agency_port) as site:
        yield site


class HubAndAgency(OutsideRequests):
    def __init__(self, hub_origin: str, agency_origin: str) -> None:
        super().__init__(hub_origin)
        self.agency_origin = agency_origin

    def is_outside(self, url: str) -> bool:
        return super().is_outside(url) and not url.startswith(self.agency_origin + "/")


@pytest.fixture
def outside(hub: RestartableHub, agency: AgencySite) -> OutsideRequests:
    return HubAndAgency(hub.url, agency.origin)


# ---- what the citizen finds -------------------------------------------------------------------------
def launcher(page: Page) -> Locator:
    return page.get_by_role("button", name=re.compile("^แชตถาม-ตอบ"))


def chat_input(page: Page) -> Locator:
    return page.get_by_role("textbox", name="พิมพ์คำถามของท่าน")


def bot_messages(page: Page) -> Locator:
    return page.locator(".gc-msg--bot")


def rendered_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator(".gc-messages [data-id]").evaluate_all(
        "items => items.map(i => i.dataset.id)"
    )
    return ids


def ask(page: Page, text: str) -> None:
    chat_input(page).fill(text)
    chat_input(page).press("Enter")


def open_chat(page: Page, agency: AgencySite) -> None:
    page.goto(agency.origin + "/")
    launcher(page).click()
    expect(chat_input(page)).to_be_focused()


class Officer:
    """The admin officer, through the officer API."""

    def __init__(self, hub: RestartableHub) -> None:
        token = httpx.post(
            f"{hub.url}/api/officer/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        ).json()["token"]
        self.hub = hub
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.hub.url}/api/officer{path}", headers=self.headers, **kwargs)

    def waiting_conversation(self, page: Page) -> str:
        for _ in range(REPLY_MS // 100):
            rows = self.call("GET", "/queue").json()["conversations"]
            if rows:
                return str(rows[0]["id"])
            page.wait_for_timeout(100)
        raise AssertionError("the conversation never reached the queue")


def wait_until(page: Page, predicate: Any) -> Any:
    for _ in range(REPLY_MS // 100):
        result = predicate()
        if result:
            return result
        page.wait_for_timeout(100)
    raise AssertionError("not reached in time")


# ---- tests -------------------------------------------------------------------------------------------
class TestOnTheAgencySite:
    def test_the_whole_walk_of_issue_26(
        self, page: Page, context: BrowserContext, hub: RestartableHub, agency: AgencySite, tmp_path: Path
    ) -> None:
        # One tag: a launcher, bottom right, in Thai; the panel opens in its shadow root.
        page.goto(agency.origin + "/")
        expect(launcher(page)).to_be_visible()
        box = launcher(page).bounding_box()
        assert box is not None and box["x"] > 640 and box["y"] > 400, "bottom right"
        launcher(page).click()
        expect(chat_input(page)).to_be_focused()
        ask(page, QUESTION)
        expect(bot_messages(page)).to_have_count(1, timeout=REPLY_MS)
        expect(bot_messages(page).first).to_contain_text(re.compile("[\u0e01-\u0e5b]"))
        screenshot(page, "embed-answered-1280")
        answered = rendered_ids(page)

        # A reload and a new tab show the history.
        page.reload()
        launcher(page).click()
        expect(page.locator(".gc-messages [data-id]")).to_have_count(len(answered))
        assert rendered_ids(page) == answered
        other_tab = context.new_page()
        open_chat(other_tab, agency)
        expect(other_tab.locator(".gc-messages [data-id]")).to_have_count(len(answered))
        assert rendered_ids(other_tab) == answered
        other_tab.close()

        # A PNG goes to the officer, who sees it and downloads it.
        picture = tmp_path / "หน้าจอ-error.png"
        picture.write_bytes(PNG)
        page.locator("input[type=file]").set_input_files(str(picture))
        expect(page.locator(".gc-msg--in .gc-file")).to_contain_text("หน้าจอ-error.png")
        page.get_by_role("button", name="คุยกับเจ้าหน้าที่").first.click()
        officer = Officer(hub)
        conversation_id = officer.waiting_conversation(page)
        detail = officer.call("GET", f"/conversations/{conversation_id}").json()
        (attachment,) = detail["attachments"]
        assert attachment["filename"] == "หน้าจอ-error.png" and attachment["kind"] == "image"
        assert httpx.get(hub.url + attachment["download"], headers=officer.headers).content == PNG

        # While the case waits nobody types: no "typing". The officer types: "typing" shows.
        session = stored_session(page, hub.url)
        ask(page, "ยังรออยู่ไหมคะ")
        wait_until(page, lambda: hub_messages(hub, session)[-1]["text"] == "ยังรออยู่ไหมคะ")
        page.wait_for_timeout(500)  # a false indicator would show by now
        expect(page.locator(".gc-typing")).to_have_text("")
        assert officer.call("POST", f"/conversations/{conversation_id}/claim").status_code == 200
        assert officer.call("POST", f"/conversations/{conversation_id}/typing").status_code == 204
        expect(page.locator(".gc-typing")).to_have_text("เจ้าหน้าที่กำลังพิมพ์…")

        # A reply while the panel is closed: the launcher counts it.
        page.get_by_role("button", name="ปิดหน้าต่างแชต").click()
        officer.call("POST", f"/conversations/{conversation_id}/messages", json={"text": "ได้รับรูปแล้วค่ะ"})
        expect(page.locator(".gc-badge")).to_have_text("1")
        expect(launcher(page)).to_have_accessible_name("แชตถาม-ตอบ (ข้อความใหม่ 1 ข้อความ)")
        launcher(page).click()
        expect(page.locator(".gc-typing")).to_have_text("")  # the reply ended it
        expect(page.locator(".gc-badge")).to_be_hidden()
        assert officer.call("POST", f"/conversations/{conversation_id}/resolve").status_code == 200

        # The hub stops; a question typed meanwhile waits, then is sent and answered once.
        answers_before = bot_messages(page).count()
        hub.stop()
        expect(page.get_by_role("status")).to_contain_text("การเชื่อมต่อขัดข้อง", timeout=REPLY_MS)
        ask(page, LATER_QUESTION)
        expect(page.locator(".gc-msg--in").last).to_contain_text("รอส่ง")
        screenshot(page, "embed-hub-down-1280")
        hub.start()
        expect(bot_messages(page)).to_have_count(answers_before + 1, timeout=REPLY_MS)
        expect(page.get_by_role("status")).to_have_text("เชื่อมต่อแล้ว", timeout=REPLY_MS)
        stored = hub_messages(hub, session)
        assert [m["text"] for m in stored].count(LATER_QUESTION) == 1
        assert stored[-1]["direction"] == "out" and stored[-2]["text"] == LATER_QUESTION
        page.wait_for_timeout(500)  # a duplicate would show by now
        assert rendered_ids(page) == [m["id"] for m in stored]


# How many coloured pixels the widget's emoji font paints for a character (the system here has no emoji font).
PAINTED_PIXELS = """(text) => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  const context = canvas.getContext('2d');
  context.font = '48px govchat-emoji';
  context.fillText(text, 4, 52);
  const data = context.getImageData(0, 0, 64, 64).data;
  let coloured = 0;  // a box or a blank has none: only a colour emoji glyph paints yellow
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i] - data[i + 2] > 80) coloured += 1;
  return coloured;
}"""


class TestIsolationAndAccess:
    def test_the_pages_css_does_not_reach_the_widget_and_axe_finds_no_serious_problem(
        self, page: Page, agency: AgencySite
    ) -> None:
        open_chat(page, agency)
        ask(page, "ขอบคุณค่ะ 🙏😊")

        expect(page.locator(".gc-msg--in")).to_have_count(1)
        style = chat_input(page).evaluate(
            "box => [getComputedStyle(box).fontFamily, getComputedStyle(box).color, getComputedStyle(box).display]"
        )
        assert style[0].startswith("govchat-sarabun") and style[1] == "rgb(27, 27, 27)"
        assert page.locator("main h1").evaluate("h => getComputedStyle(h).color") == "rgb(204, 0, 0)"
        assert serious_violations(page) == []
        page.wait_for_function(
            "() => [...document.fonts].some(f => f.family === 'govchat-emoji' && f.status === 'loaded')"
        )
        assert page.evaluate(PAINTED_PIXELS, "😊") > 200, "the emoji is drawn in colour, not a blank or a box"
        screenshot(page, "embed-emoji-1280")

    @pytest.mark.parametrize(
        "context_options", [{"viewport": {"width": 375, "height": 740}, "is_mobile": True}]
    )
    def test_on_a_phone_the_open_panel_fills_the_screen(
        self, page: Page, agency: AgencySite, context_options: dict[str, Any]
    ) -> None:
        open_chat(page, agency)
        ask(page, QUESTION)
        expect(bot_messages(page)).to_have_count(1, timeout=REPLY_MS)

        panel = page.locator(".gc-panel").bounding_box()
        assert panel is not None and panel["width"] == 375
        expect(chat_input(page)).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        assert serious_violations(page) == []
        screenshot(page, "embed-answered-375")

    def test_escape_closes_the_panel_and_gives_the_focus_back_to_the_launcher(
        self, page: Page, agency: AgencySite
    ) -> None:
        open_chat(page, agency)

        page.keyboard.press("Escape")

        expect(chat_input(page)).to_be_hidden()
        expect(launcher(page)).to_be_focused()
        expect(launcher(page)).to_have_attribute("aria-expanded", "false")

    def test_starting_afresh_forgets_the_conversation_in_this_browser(
        self, page: Page, hub: RestartableHub, agency: AgencySite
    ) -> None:
        open_chat(page, agency)
        ask(page, QUESTION)
        expect(bot_messages(page)).to_have_count(1, timeout=REPLY_MS)
        first = stored_session(page, hub.url)
        expect(page.get_by_text("เบราว์เซอร์นี้จำการสนทนาไว้ 30 วัน")).to_be_visible()

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="เริ่มบทสนทนาใหม่").click()

        expect(page.locator(".gc-messages [data-id]")).to_have_count(0)
        ask(page, LATER_QUESTION)
        expect(bot_messages(page)).to_have_count(1, timeout=REPLY_MS)
        assert stored_session(page, hub.url)["id"] != first["id"]


class TestOptions:
    def test_data_attributes_set_position_title_colour_and_language(
        self, page: Page, agency: AgencySite
    ) -> None:
        page.goto(agency.origin + "/options")
        launcher = page.get_by_role("button", name="Chat with us")

        box = launcher.bounding_box()
        assert box is not None and box["x"] < 200, "bottom left"
        assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(106, 27, 154)"
        launcher.click()
        expect(page.get_by_role("region", name="Ask DBD")).to_be_visible()
        expect(page.get_by_role("textbox", name="Type your question")).to_be_focused()
