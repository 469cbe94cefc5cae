"""The scene for the console's inbox browser tests: web-chat citizens and officers set up over
HTTP against the live hub, and a console page whose alerts (notifications, beeps, socket frames)
are recorded."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.conftest import ADMIN_PASSWORD
from tests.integration.browser.conftest import ARTIFACTS, OutsideRequests

LIVE_MS = 15_000
OFFICER_PASSWORD = "officer-password-1"
GENERAL = "งานบริการและสอบถามทั่วไป"
ACCOUNTS = "งานบัญชีและงบการเงิน"
# Records what the page asks of the browser: each Notification constructed, each beep started.
RECORD_ALERTS = """
window.__alerts = { notifications: [], beeps: 0 };
if (window.Notification) {
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__alerts.notifications.push({ title: title, body: (options || {}).body || "" });
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission, configurable: true });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
}
window.__frames = [];
const RealSocket = window.WebSocket;
window.WebSocket = class extends RealSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => window.__frames.push(String(event.data)));
  }
};
if (window.AudioContext) {
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    window.__alerts.beeps += 1;
    return start.apply(this, args);
  };
}
"""


class Served(Protocol):
    """A hub the scene talks to: one in this process (LiveServer) or a `govchat serve` (HubProcess)."""

    url: str


# ---- the people -------------------------------------------------------------------------------
@dataclass
class WebCitizen:
    http: httpx.Client
    session_id: str
    headers: dict[str, str]
    conversation_id: str = ""

    def say(self, text: str) -> None:
        response = self.http.post(
            f"/api/webchat/sessions/{self.session_id}/messages",
            json={"text": text, "client_message_id": uuid.uuid4().hex},
            headers=self.headers,
        )
        assert response.status_code == 202, response.text


class Hub:
    """The live hub's HTTP side, for setting scenes the browser then shows."""

    def __init__(self, server: Served) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.admin = self.login("admin", ADMIN_PASSWORD)

    def login(self, username: str, password: str) -> dict[str, str]:
        response = self.http.post("/api/officer/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def officer(self, username: str, departments: list[str], role: str = "officer") -> dict[str, str]:
        body = {"username": username, "password": OFFICER_PASSWORD, "departments": departments, "role": role}
        response = self.http.post("/api/admin/officers", json=body, headers=self.admin)
        assert response.status_code in (201, 409), response.text
        return self.login(username, OFFICER_PASSWORD)

    def queue(self, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        response = self.http.get("/api/officer/queue", headers=headers or self.admin)
        rows: list[dict[str, Any]] = response.json()["conversations"]
        return rows

    def escalated_citizen(self, *texts: str) -> WebCitizen:
        """A web-chat citizen who said ``texts`` and then asked for a person, now in the queue."""
        response = self.http.post("/api/webchat/sessions")
        assert response.status_code == 201
        body = response.json()
        citizen = WebCitizen(self.http, body["session_id"], {"Authorization": f"Bearer {body['token']}"})
        before = {row["id"] for row in self.queue()}
        for text in (*texts, "ขอคุยกับเจ้าหน้าที่ค่ะ"):
            citizen.say(text)
        citizen.conversation_id = self.wait_for_new_in_queue(before)
        return citizen

    def wait_for_new_in_queue(self, before: set[str]) -> str:
        deadline = time.monotonic() + LIVE_MS / 1000
        while time.monotonic() < deadline:
            new = [row["id"] for row in self.queue() if row["id"] not in before]
            if new:
                return str(new[0])
            time.sleep(0.05)  # polling interval, not a guess at how long the pipeline takes
        raise AssertionError("the citizen never reached the queue")

    def act(self, conversation_id: str, action: str, headers: dict[str, str], **body: Any) -> None:
        response = self.http.post(
            f"/api/officer/conversations/{conversation_id}/{action}", json=body or None, headers=headers
        )
        assert response.status_code in (200, 202), response.text


# ---- the browser ------------------------------------------------------------------------------
class Console:
    def __init__(
        self, browser: Browser, server: Served, width: int = 1366, granted: bool = True, script: str = ""
    ) -> None:
        self.outside = OutsideRequests(server.url)
        self.context: BrowserContext = browser.new_context(
            base_url=server.url,
            locale="th-TH",
            viewport={"width": width, "height": 900},
            permissions=["notifications"] if granted else [],
        )
        self.context.add_init_script(RECORD_ALERTS + script)
        self.context.route(self.outside.is_outside, self.outside.refuse)
        self.errors: list[str] = []
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def log_in(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> Page:
        page = self.page
        page.goto("/console")
        page.get_by_label("ชื่อผู้ใช้").fill(username)
        page.get_by_label("รหัสผ่าน").fill(password)
        page.get_by_role("button", name="เข้าสู่ระบบ").click()
        expect(page.locator("#connection")).to_have_text("เชื่อมต่อแบบเรียลไทม์แล้ว", timeout=LIVE_MS)
        return page

    def token(self) -> dict[str, str]:
        return {
            "Authorization": "Bearer " + self.page.evaluate("sessionStorage.getItem('govchat.console.token')")
        }

    def alerts(self) -> dict[str, Any]:
        found: dict[str, Any] = self.page.evaluate("window.__alerts")
        return found

    def shoot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"inbox-{name}.png"), full_page=True)

    def close(self) -> None:
        # A test's route handler may be mid-fetch for the console's periodic refresh: without this,
        # its "response disposed" error surfaces in the next test.
        self.page.unroute_all(behavior="ignoreErrors")
        self.context.close()
        assert self.errors == [], f"JavaScript errors: {self.errors}"
        assert self.outside.unexpected() == [], "the page tried to reach the internet"


# The officer closes the browser's question without answering: permission stays "default".
DISMISS_PERMISSION_QUESTION = """
window.__asked = 0;
Object.defineProperty(Notification, "permission", { get: () => "default" });
Notification.requestPermission = () => { window.__asked += 1; return Promise.resolve("default"); };
"""


def row_of(page: Page, conversation_id: str) -> Locator:
    return page.locator(f'#queue-body tr[data-conversation="{conversation_id}"]')
