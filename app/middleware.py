"""ASGI middleware: request body size limit (413) before any route reads the body, and the
security headers of every response (built here, in one place: docs/threat-model.md)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Served inline by browsers (``Content-Disposition: inline``); anything else a citizen uploaded is
# downloaded as an opaque file, so it can never run as a page of the hub's origin.
INLINE_ATTACHMENT_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"})
_INLINE_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def content_security_policy(frame_ancestors: Sequence[str] = (), style_hashes: Iterable[str] = ()) -> str:
    """The policy of every HTML page: the hub's own origin only, framed by nobody (or by ``frame_ancestors``).

    ``style_hashes`` allow a page's own inline ``<style>`` blocks (``inline_style_hashes``).
    """
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    styles = " ".join(["'self'", *(f"'{h}'" for h in style_hashes)])
    return (
        f"default-src 'self'; script-src 'self'; style-src {styles}; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {ancestors}"
    )


def html_security_headers(
    frame_ancestors: Sequence[str] = (), style_hashes: Iterable[str] = ()
) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(frame_ancestors, style_hashes),
        "Referrer-Policy": "no-referrer",
    }
    if not frame_ancestors:  # X-Frame-Options cannot name origins: only for pages nobody may frame
        headers["X-Frame-Options"] = "DENY"
    return headers


def inline_style_hashes(html: str) -> list[str]:
    """CSP hashes (``sha256-…``) of a page's inline ``<style>`` blocks."""
    return [
        "sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        for block in _INLINE_STYLE.findall(html)
    ]


def attachment_delivery(content_type: str | None) -> tuple[str, str]:
    """``(media type, content disposition type)`` to serve a stored upload with."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type in INLINE_ATTACHMENT_TYPES:
        return media_type, "inline"
    return "application/octet-stream", "attachment"


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` on every response; an HTML response without a policy of
    its own gets ``html_security_headers()``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                is_html = headers.get("content-type", "").lower().startswith("text/html")
                if is_html and "content-security-policy" not in headers:
                    for name, value in html_security_headers().items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimit:
    """Read the whole body (at most ``max_bytes``) before the app runs; larger bodies get 413.

    Reading it here, rather than counting while a route reads, keeps the answer a 413 whoever
    reads the body: FastAPI turns any error raised while it parses a JSON body into a 400.
    Bodies are small (webhooks, chat messages), so holding one in memory costs little.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, exempt: Callable[[Scope], bool] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes that stream a larger body themselves, with their own bound (uploads).
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt is not None and self.exempt(scope)):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _reject(send, self.max_bytes)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body: nobody to answer
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await _reject(send, self.max_bytes)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def buffered_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # e.g. waiting for the disconnect while streaming a response

        await self.app(scope, buffered_receive, send)


async def _reject(send: Send, max_bytes: int) -> None:
    body = json.dumps({"detail": f"request body larger than {max_bytes} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
