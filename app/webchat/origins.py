"""Which web sites may use the web chat: CORS and ``Origin`` checks for its API and WebSocket.

Browsers send ``Origin`` on every cross-site request and WebSocket handshake, and the hub's
own pages send it on their POSTs. The web-chat API answers the CORS preflights of the origins
in ``GOVCHAT_WIDGET_ORIGINS`` (and of the hub itself), and refuses with 403 any request or
WebSocket whose ``Origin`` is another site, before a route runs: a page elsewhere cannot drive
a citizen's session even with a stolen token. Requests without ``Origin`` (curl, servers) are
not a browser acting for some site, so they pass; the token decides for them.

The hub's fonts and the widget's stylesheet are fetched in CORS mode by pages on the allowed
sites (fonts always are), so ``/static/`` answers those origins with
``Access-Control-Allow-Origin`` too; other sites simply get no such header.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/api/webchat/"
STATIC_PREFIX = "/static/"
PREFLIGHT_MAX_AGE = "600"
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _netloc(origin: str) -> str:
    return origin.split("://", 1)[-1]


class WidgetOrigins:
    """ASGI middleware: CORS for the allowed origins, 403 for any other ``Origin`` on the web-chat API."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(o.lower().rstrip("/") for o in allowed)

    def is_allowed(self, scope: Scope, origin: str) -> bool:
        origin = origin.lower().rstrip("/")
        if origin in self.allowed:
            return True
        # The hub's own pages: same host and port, whatever scheme a TLS proxy in front changed.
        host = (_header(scope, b"host") or "").lower()
        return bool(host) and _netloc(origin) == host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        origin = _header(scope, b"origin") if scope["type"] in ("http", "websocket") else None
        if origin is None or not path.startswith((API_PREFIX, STATIC_PREFIX)):
            await self.app(scope, receive, send)
            return
        allowed = self.is_allowed(scope, origin)
        if path.startswith(STATIC_PREFIX):
            await self.app(scope, receive, _with_cors(send, origin) if allowed else send)
        elif not allowed:
            await _refuse(scope, receive, send)
        elif scope["type"] == "http" and scope.get("method") == "OPTIONS":
            await _preflight(send, origin)
        else:
            await self.app(scope, receive, _with_cors(send, origin) if scope["type"] == "http" else send)


def _cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]


def _with_cors(send: Send, origin: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *_cors_headers(origin)]}
        await send(message)

    return sending


async def _preflight(send: Send, origin: str) -> None:
    headers = [
        *_cors_headers(origin),
        (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
        (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    body = json.dumps({"detail": "this site may not use the web chat (Origin not allowed)"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:  # the server answers a handshake closed before it was accepted with 403
        await send({"type": "websocket.close", "code": 1008})
