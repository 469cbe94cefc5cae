"""Bodies over ``GOVCHAT_MAX_BODY_BYTES`` get 413 on every endpoint, declared or streamed."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.integration.fuzz.checks import FUZZ, assert_rejected_and_nothing_stored
from tests.integration.fuzz.hub import MAX_BODY_BYTES, SQLITE_ONLY, Hub

pytestmark = SQLITE_ONLY
FEWER = settings(FUZZ, max_examples=15)
TEXT_EVENT = "ruby-sdk_minimum_text_message_event"


async def in_chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    """The body streamed without a Content-Length (chunked transfer)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def padded_line_body(hub: Hub, size: int) -> tuple[bytes, str]:
    """A valid one-message LINE body of exactly ``size`` bytes (JSON allows trailing whitespace)."""
    event = hub.line.fresh(hub.line.event(TEXT_EVENT), user_id=f"U{uuid.uuid4().hex}")
    body = json.dumps({"destination": "U1", "events": [event]}).encode()
    return body + b" " * (size - len(body)), event["message"]["id"]


class TestOverTheLimit:
    @FEWER
    @given(
        path=st.sampled_from(["/webhooks/line", "/webhooks/facebook", "/api/webchat/sessions", "chat"]),
        size=st.integers(MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES),
        chunk=st.none() | st.integers(1_000, 70_000),
        filler=st.sampled_from([b"x", b"[", b'{"a":', "ก".encode()]),
    )
    async def test_a_body_over_the_limit_is_413_with_a_reason_and_nothing_stored(
        self, hub: Hub, path: str, size: int, chunk: int | None, filler: bytes
    ) -> None:
        if path == "chat":
            created = (await hub.client.post("/api/webchat/sessions")).json()
            path = f"/api/webchat/sessions/{created['session_id']}/messages"
            headers = {"Authorization": f"Bearer {created['token']}"}
        elif path == "/webhooks/line":
            headers = {"X-Line-Signature": "signature-of-the-whole-body"}
        else:
            headers = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
        body = (filler * size)[:size]
        before = await hub.stored()

        content = body if chunk is None else in_chunks(body, chunk)
        response = await hub.client.post(path, content=content, headers=headers)

        assert_rejected_and_nothing_stored(response, before, await hub.stored())
        assert response.status_code == 413

    @FEWER
    @given(chunk=st.none() | st.integers(1_000, 70_000), under=st.integers(0, 100))
    async def test_a_valid_body_up_to_the_limit_is_accepted(
        self, hub: Hub, chunk: int | None, under: int
    ) -> None:
        body, message_id = padded_line_body(hub, MAX_BODY_BYTES - under)

        content = body if chunk is None else in_chunks(body, chunk)
        response = await hub.client.post(
            "/webhooks/line", content=content, headers={"X-Line-Signature": hub.line.sign(body)}
        )

        assert response.status_code == 200, response.text
        assert len(await hub.inbound_texts(message_id)) == 1
