"""The Meta side of Messenger for tests: a fake Graph API server and the official webhook bodies.

``FakeGraphApi`` is a real HTTP server (Starlette under uvicorn, in a thread, on a loopback
port) answering ``POST /{version}/me/messages`` and ``POST /{version}/me/messenger_profile``
the way the Graph API does: ``{"recipient_id", "message_id"}`` on success and documented error
bodies ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`` otherwise.
It records every request, checks ``access_token`` and ``appsecret_proof``, and fails on demand
(``fail(...)``: 500s, rate limits, 190, 551, ...), one queued failure per matching request.

``MessengerFixtures`` is the one loader of ``../shared/fixtures/facebook/``: exact bytes of the
official bodies, their signature vectors, and signing with the test app secret.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import SHARED_DIR, free_port

FIXTURES_DIR = SHARED_DIR / "fixtures" / "facebook"
PAGE_ACCESS_TOKEN = "test-page-access-token"
VERIFY_TOKEN = "test-verify-token"
GRAPH_VERSION = "v21.0"


# -- documented error bodies ------------------------------------------------------------------


@dataclass(frozen=True)
class GraphFailure:
    status: int
    code: int
    message: str
    error_type: str = "OAuthException"
    subcode: int | None = None
    retry_after: float | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "fbtrace_id": "AbCdEfGhIjK",
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}


def server_error() -> GraphFailure:
    return GraphFailure(500, 2, "An unexpected error has occurred. Please retry your request later.")


def temporary_send_failure() -> GraphFailure:
    return GraphFailure(500, 1200, "Temporary send message failure. Please try again later.")


def rate_limited(code: int = 613) -> GraphFailure:
    return GraphFailure(400, code, "Calls to this API have exceeded the rate limit.")


def too_many_requests(retry_after: float | None = None) -> GraphFailure:
    return GraphFailure(429, 4, "Application request limit reached", retry_after=retry_after)


def invalid_token() -> GraphFailure:
    return GraphFailure(400, 190, "Invalid OAuth access token.", subcode=463)


def user_unavailable() -> GraphFailure:
    return GraphFailure(400, 551, "This person isn't available right now.", subcode=1545041)


def outside_window() -> GraphFailure:
    return GraphFailure(
        400,
        10,
        "This message is sent outside of allowed window.",
        error_type="OAuthException",
        subcode=2018278,
    )


# -- the server -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    path: str
    params: dict[str, str]
    body: dict[str, Any]
    status: int
    received_at: float = field(default_factory=time.perf_counter)  # for latency measurements

    @property
    def recipient(self) -> str | None:
        recipient = self.body.get("recipient") or {}
        return str(recipient.get("id")) if recipient.get("id") is not None else None

    @property
    def message(self) -> dict[str, Any] | None:
        message = self.body.get("message")
        return message if isinstance(message, dict) else None

    @property
    def text(self) -> str | None:
        """The text a message shows (its own, or a button template's)."""
        if self.message is None:
            return None
        if "text" in self.message:
            return str(self.message["text"])
        payload = (self.message.get("attachment") or {}).get("payload") or {}
        return str(payload.get("text")) if payload.get("text") is not None else None

    @property
    def accepted(self) -> bool:
        return self.status == 200


@dataclass
class _Rule:
    failure: GraphFailure
    kind: str  # message | sender_action | profile | any
    recipient: str | None
    times: int | None  # None: always
    skip: int = 0  # matching requests let through before this rule applies


@dataclass
class FakeGraphApi:
    access_token: str = PAGE_ACCESS_TOKEN
    app_secret: str = ""
    version: str = GRAPH_VERSION
    requests: list[Recorded] = field(default_factory=list)
    _rules: deque[_Rule] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.port = free_port()
        app = Starlette(
            routes=[
                Route("/{version}/me/messages", self._messages, methods=["POST"]),
                Route("/{version}/me/messenger_profile", self._profile, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.version}"

    def start(self) -> FakeGraphApi:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Graph API did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    # failure injection

    def fail(
        self, *failures: GraphFailure, kind: str = "message", recipient: str | None = None, after: int = 0
    ) -> None:
        """Answer the next matching requests (after letting ``after`` through) with these failures, in order."""
        with self._lock:
            self._rules.extend(
                _Rule(f, kind, recipient, 1, skip=after if n == 0 else 0) for n, f in enumerate(failures)
            )

    def fail_always(
        self, failure: GraphFailure, *, kind: str = "message", recipient: str | None = None
    ) -> None:
        with self._lock:
            self._rules.append(_Rule(failure, kind, recipient, None))

    def heal(self) -> None:
        with self._lock:
            self._rules.clear()

    # what was asked

    def messages(self, recipient: str | None = None) -> list[Recorded]:
        return [r for r in list(self.requests) if r.message is not None and _for(r, recipient)]

    def delivered(self, recipient: str | None = None) -> list[Recorded]:
        return [r for r in self.messages(recipient) if r.accepted]

    def sender_actions(self, recipient: str | None = None) -> list[Recorded]:
        return [r for r in list(self.requests) if "sender_action" in r.body and _for(r, recipient)]

    def profiles(self) -> list[Recorded]:
        return [r for r in list(self.requests) if r.path.endswith("/me/messenger_profile")]

    # handlers

    async def _messages(self, request: Request) -> JSONResponse:
        body = await _json_body(request)
        kind = "message" if "message" in body else "sender_action"
        response = self._answer(request, body, kind)
        if response is not None:
            return response
        recipient = str((body.get("recipient") or {}).get("id", ""))
        if kind == "sender_action":
            return self._record(request, body, 200, {"recipient_id": recipient})
        return self._record(
            request, body, 200, {"recipient_id": recipient, "message_id": f"m_{next(self._ids)}"}
        )

    async def _profile(self, request: Request) -> JSONResponse:
        body = await _json_body(request)
        response = self._answer(request, body, "profile")
        if response is not None:
            return response
        return self._record(request, body, 200, {"result": "success"})

    def _answer(self, request: Request, body: dict[str, Any], kind: str) -> JSONResponse | None:
        """An auth error or an injected failure, else ``None`` (go on)."""
        params = dict(request.query_params)
        if params.get("access_token") != self.access_token:
            return self._failure(request, body, invalid_token())
        expected_proof = hmac.new(
            self.app_secret.encode(), self.access_token.encode(), hashlib.sha256
        ).hexdigest()
        if self.app_secret and params.get("appsecret_proof") != expected_proof:
            proof_error = GraphFailure(400, 100, "Invalid appsecret_proof provided in the API argument")
            return self._failure(request, body, proof_error)
        recipient = str((body.get("recipient") or {}).get("id", ""))
        with self._lock:
            rule = next(
                (
                    r
                    for r in self._rules
                    if r.kind in (kind, "any") and (r.recipient is None or r.recipient == recipient)
                ),
                None,
            )
            if rule is not None and rule.skip > 0:
                rule.skip -= 1
                return None
            if rule is not None and rule.times is not None:
                self._rules.remove(rule)
        return self._failure(request, body, rule.failure) if rule is not None else None

    def _failure(self, request: Request, body: dict[str, Any], failure: GraphFailure) -> JSONResponse:
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
        self._record(request, body, failure.status, {})
        return JSONResponse(failure.body(), status_code=failure.status, headers=headers)

    def _record(
        self, request: Request, body: dict[str, Any], status: int, answer: dict[str, Any]
    ) -> JSONResponse:
        self.requests.append(Recorded(request.url.path, dict(request.query_params), body, status))
        return JSONResponse(answer, status_code=status)


def _for(recorded: Recorded, recipient: str | None) -> bool:
    return recipient is None or recorded.recipient == recipient


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


# -- the official webhook bodies --------------------------------------------------------------


class MessengerFixtures:
    """Bodies of ``facebook/events/``, their signature vectors, and signing with the test secret."""

    def __init__(self, root: Path = FIXTURES_DIR) -> None:
        self.root = root
        self._vectors = json.loads((root / "signature_vectors.json").read_text(encoding="utf-8"))
        secrets = {v["secret"] for v in self._vectors["vectors"]}
        assert len(secrets) == 1, "the vectors use one app secret"
        self.app_secret: str = secrets.pop()

    def body(self, name: str) -> bytes:
        """The exact bytes of ``events/<name>.json``."""
        return (self.root / "events" / f"{name}.json").read_bytes()

    def event(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body(name))
        return data

    def names(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "events").glob("*.json"))

    def vectors(self) -> list[dict[str, Any]]:
        vectors: list[dict[str, Any]] = self._vectors["vectors"]
        return vectors

    def vector_body(self, vector: dict[str, Any]) -> bytes:
        body = (self.root / vector["body_file"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == vector["body_sha256"], "fixture altered"
        return body

    def sign(self, body: bytes, secret: str | None = None) -> str:
        key = (secret or self.app_secret).encode("utf-8")
        return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()

    def headers(self, body: bytes) -> dict[str, str]:
        return {"X-Hub-Signature-256": self.sign(body), "Content-Type": "application/json"}

    def derived(self, name: str, change: Callable[[dict[str, Any]], None]) -> bytes:
        """An official body with one thing changed (re-serialised; sign it again)."""
        data = self.event(name)
        change(data)
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


def first_event(data: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = data["entry"][0]["messaging"][0]
    return event


@pytest.fixture(scope="session")
def messenger_fixtures() -> MessengerFixtures:
    return MessengerFixtures()


@pytest.fixture
def graph_api(messenger_fixtures: MessengerFixtures) -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi(app_secret=messenger_fixtures.app_secret).start()
    try:
        yield fake
    finally:
        fake.stop()
