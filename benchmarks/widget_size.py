"""The web-chat widget's weight and its time to interactive on an agency's page (issue 26).

Size: what a browser downloads before the launcher shows (``/widget.js`` and ``widget.css``),
raw and gzip-compressed (level 6, as nginx and most CDNs send it); the fonts are listed apart
(already compressed; Sarabun is fetched only when the panel shows Thai text, the emoji font
only when a message holds an emoji).

Time to interactive: headless Chromium (Debian's) opens a plain host page served from another
loopback port with only ``<script src="HUB/widget.js" defer>``; measured from the navigation's
start until the launcher is on screen with its styles and answers a click, then until the
opened panel's question box has the focus (counted from the click). Each run is a new browser context (cold cache).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/widget_size.py --runs 20
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import socketserver
import statistics
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from benchmarks.harness import free_port, percentile
from tests.conftest import LiveServer, make_settings

CHROMIUM = "/usr/bin/chromium"
FONTS = Path(__file__).resolve().parent.parent / "app" / "static" / "fonts"

# Ready: the launcher is laid out with the widget's stylesheet (its colour comes from widget.css).
LAUNCHER_READY = """() => {
  const host = document.querySelector('govchat-chat');
  const launcher = host && host.shadowRoot.querySelector('.gc-launcher');
  if (!launcher || getComputedStyle(launcher).position !== 'relative') return null;
  return performance.now();
}"""


def sizes(hub_url: str) -> dict[str, dict[str, int]]:
    result = {}
    for name, path in (("widget.js", "/widget.js"), ("widget.css", "/static/webchat/widget.css")):
        body = httpx.get(hub_url + path).content
        result[name] = {"raw": len(body), "gzip": len(gzip.compress(body, compresslevel=6))}
    for font in sorted(FONTS.glob("sarabun-*.woff2")) + sorted(FONTS.glob("twemoji-*.woff2")):
        result[font.name] = {"raw": font.stat().st_size, "gzip": font.stat().st_size}
    return result


def serve_host_page(hub_url: str, port: int) -> socketserver.TCPServer:
    page = (
        '<!doctype html><html lang="th"><head><meta charset="utf-8"><title>หน่วยงาน</title></head>'
        f'<body><h1>ข่าวประชาสัมพันธ์</h1><script src="{hub_url}/widget.js" defer></script></body></html>'
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            return None

    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def time_to_interactive(hub_url: str, page_url: str, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"launcher_ready_ms": [], "panel_after_click_ms": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(page_url, wait_until="commit")
            ready = page.wait_for_function(LAUNCHER_READY, polling="raf").json_value()
            launcher = page.locator(".gc-launcher")
            launcher.wait_for()
            clicked = page.evaluate("performance.now()")
            launcher.dispatch_event("click")
            page.wait_for_function(
                "() => document.querySelector('govchat-chat').shadowRoot.activeElement?.id === 'gc-input'",
                polling="raf",
            )
            opened = page.evaluate("performance.now()")
            times["launcher_ready_ms"].append(float(ready))
            times["panel_after_click_ms"].append(float(opened) - float(clicked))
            context.close()
        browser.close()
    return times


def summary(values: list[float]) -> str:
    p95 = percentile(values, 0.95)
    return f"median {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, min {min(values):.0f} ms (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="widget-bench-"))
    port = free_port()
    settings = make_settings(
        f"sqlite+aiosqlite:///{var_dir / 'govchat.db'}",
        var_dir,
        GOVCHAT_WIDGET_ORIGINS=f"http://127.0.0.1:{port}",
    )
    with LiveServer(settings) as hub:
        host = serve_host_page(hub.url, port)
        try:
            for name, size in sizes(hub.url).items():
                print(f"{name:32} {size['raw']:>8} B raw  {size['gzip']:>8} B gzip")
            times = time_to_interactive(hub.url, f"http://127.0.0.1:{port}/", args.runs)
        finally:
            host.shutdown()
    print("launcher interactive after navigation start:", summary(times["launcher_ready_ms"]))
    print(
        "panel open with the question box focused, after the click:", summary(times["panel_after_click_ms"])
    )


if __name__ == "__main__":
    main()
