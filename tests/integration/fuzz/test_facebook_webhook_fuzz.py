"""``GET``/``POST /webhooks/facebook``: the subscription check, and deep nesting wherever a
Messenger body can nest, correctly signed so that parsing is reached.

The properties Messenger shares with LINE are in ``test_signed_webhooks_fuzz.py``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_from_bytes

from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.facebook.graph_api import VERIFY_TOKEN
from tests.integration.fuzz.checks import FUZZ
from tests.integration.fuzz.hub import SQLITE_ONLY, Hub
from tests.integration.fuzz.platforms import DEEP, MESSENGER, assert_deep_nesting_rejected

pytestmark = SQLITE_ONLY


class TestSubscriptionCheck:
    @FUZZ
    @given(
        mode=st.none() | st.just("subscribe") | st.text(max_size=12),
        token=st.none() | st.just(VERIFY_TOKEN) | st.text(max_size=30),
        challenge=st.none() | st.text(max_size=40),
    )
    async def test_the_challenge_is_echoed_only_for_our_verify_token(
        self, hub: Hub, mode: str | None, token: str | None, challenge: str | None
    ) -> None:
        params = {
            name: value
            for name, value in (("hub.mode", mode), ("hub.verify_token", token), ("hub.challenge", challenge))
            if value is not None
        }

        response = await hub.client.get("/webhooks/facebook", params=params)

        if mode == "subscribe" and token == VERIFY_TOKEN and challenge is not None:
            assert (response.status_code, response.text) == (200, challenge)
            assert response.headers["content-type"].startswith("text/plain")
        else:
            assert response.status_code == 403

    @FUZZ
    @given(token=st.binary(max_size=60) | st.just(VERIFY_TOKEN.encode()))
    async def test_a_token_of_any_bytes_is_refused_unless_it_is_ours(self, hub: Hub, token: bytes) -> None:
        query = f"hub.mode=subscribe&hub.challenge=c&hub.verify_token={quote_from_bytes(token)}"

        response = await hub.client.get(f"/webhooks/facebook?{query}")

        expected = 200 if token == VERIFY_TOKEN.encode() else 403
        assert response.status_code == expected


class TestDeepNesting:
    @FUZZ
    @given(
        depth=st.sampled_from([33, 1_000, 10_000]),
        kind=st.sampled_from(["array", "object"]),
        where=st.sampled_from(["text", "referral", "event", "entry"]),
    )
    async def test_nesting_deeper_than_any_messenger_body_is_400_with_a_reason(
        self, hub: Hub, depth: int, kind: str, where: str
    ) -> None:
        event: Any = MESSENGER.text_event(hub)
        body: dict[str, Any] = MESSENGER.batch(event)
        if where == "text":
            event["message"]["text"] = DEEP
        elif where == "referral":
            event["postback"] = {"payload": "faq:x", "referral": DEEP}
            del event["message"]
        elif where == "event":
            body["entry"][0]["messaging"] = [DEEP]
        else:
            body["entry"] = [DEEP]

        await assert_deep_nesting_rejected(MESSENGER, hub, body, depth, kind)
