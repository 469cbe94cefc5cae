"""The web-chat API under hostile input: bodies, texts, ids, tokens and ``after`` values.

Contract (INTERFACES.md, "Web chat"): text is 1..2,000 code points, not whitespace only (else
422); a missing or invalid token -> 401, another session's -> 403; ``after`` naming no message
-> 400. Texts and ids may not hold control characters (other than tab and line breaks) nor
unpaired surrogates: 422, as no keyboard types them and U+0000 cannot be stored.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.integration.fuzz.checks import (
    FUZZ,
    assert_no_server_error,
    assert_rejected_and_nothing_stored,
    assert_rejected_with_reason,
)
from tests.integration.fuzz.hub import SQLITE_ONLY, Hub
from tests.integration.fuzz.strategies import (
    THAI_LETTERS,
    dumps,
    hostile_text,
    json_values,
    long_thai,
    nested,
    not_json,
)

pytestmark = SQLITE_ONLY
MAX_TEXT = 2000


@dataclass
class Chat:
    session_id: str
    token: str

    @property
    def messages_url(self) -> str:
        return f"/api/webchat/sessions/{self.session_id}/messages"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def new_chat(client: httpx.AsyncClient) -> Chat:
    response = await client.post("/api/webchat/sessions")
    assert response.status_code == 201
    return Chat(response.json()["session_id"], response.json()["token"])


def typeable(text: str) -> bool:
    """No control character but tab and line breaks, no unpaired surrogate."""
    return not any(
        unicodedata.category(c) == "Cs" or (unicodedata.category(c) == "Cc" and c not in "\t\n\r")
        for c in text
    )


def acceptable_text(text: str) -> bool:
    return bool(text.strip()) and len(text) <= MAX_TEXT and typeable(text)


async def texts_of(hub: Hub, chat: Chat) -> dict[str, str]:
    response = await hub.client.get(chat.messages_url, headers=chat.headers())
    assert response.status_code == 200
    return {m["id"]: m["text"] for m in response.json()["messages"] if m["direction"] == "in"}


near_the_limit = st.builds(
    lambda length, alphabet: (alphabet * MAX_TEXT)[:length],
    st.integers(MAX_TEXT - 2, MAX_TEXT + 2),
    st.sampled_from(["a", THAI_LETTERS, "👍🏽", "e\u0301"]),
)


class TestText:
    @FUZZ
    @given(text=hostile_text() | near_the_limit)
    @example(text="\x00")
    @example(text="\ud800")
    async def test_text_is_stored_exactly_once_or_refused_with_422(self, hub: Hub, text: str) -> None:
        chat = await new_chat(hub.client)
        body = dumps({"text": text, "client_message_id": "c-1"})
        before = await hub.stored()

        response = await hub.client.post(
            chat.messages_url, content=body, headers={**chat.headers(), "Content-Type": "application/json"}
        )

        if not acceptable_text(text):
            assert_rejected_and_nothing_stored(response, before, await hub.stored())
            assert response.status_code == 422
            return
        assert response.status_code == 202, response.text
        message_id = response.json()["message_id"]
        assert (await texts_of(hub, chat)) == {message_id: text}
        again = await hub.client.post(
            chat.messages_url, content=body, headers={**chat.headers(), "Content-Type": "application/json"}
        )
        assert (again.status_code, again.json()["message_id"]) == (202, message_id)
        assert (await hub.stored()).inbound_messages == before.inbound_messages + 1

    @settings(FUZZ, max_examples=3)
    @given(text=long_thai(10_000))
    async def test_10000_thai_characters_are_over_the_limit(self, hub: Hub, text: str) -> None:
        chat = await new_chat(hub.client)
        before = await hub.stored()

        response = await hub.client.post(
            chat.messages_url, json={"text": text, "client_message_id": "c-1"}, headers=chat.headers()
        )

        assert_rejected_and_nothing_stored(response, before, await hub.stored())
        assert response.status_code == 422

    @FUZZ
    @given(client_message_id=hostile_text() | st.text(min_size=120, max_size=140))
    async def test_a_client_message_id_is_accepted_only_when_short_and_typeable(
        self, hub: Hub, client_message_id: str
    ) -> None:
        chat = await new_chat(hub.client)
        before = await hub.stored()

        response = await hub.client.post(
            chat.messages_url,
            content=dumps({"text": "สวัสดี", "client_message_id": client_message_id}),
            headers={**chat.headers(), "Content-Type": "application/json"},
        )

        if 1 <= len(client_message_id) <= 128 and typeable(client_message_id):
            assert response.status_code == 202, response.text
        else:
            assert_rejected_and_nothing_stored(response, before, await hub.stored())
            assert response.status_code == 422


class TestBody:
    @FUZZ
    @given(
        body=json_values
        | st.fixed_dictionaries(
            {}, optional={"text": json_values, "client_message_id": json_values, "extra": json_values}
        )
    )
    async def test_a_body_of_any_shape_is_202_only_for_a_text_and_an_id(self, hub: Hub, body: Any) -> None:
        chat = await new_chat(hub.client)
        before = await hub.stored()

        response = await hub.client.post(
            chat.messages_url,
            content=dumps(body),
            headers={**chat.headers(), "Content-Type": "application/json"},
        )

        assert_no_server_error(response)
        well_formed = (
            isinstance(body, dict)
            and isinstance(body.get("text"), str)
            and acceptable_text(body["text"])
            and isinstance(body.get("client_message_id"), str)
            and 1 <= len(body["client_message_id"]) <= 128
            and typeable(body["client_message_id"])
        )
        if well_formed:
            assert response.status_code == 202, response.text
        else:
            assert_rejected_and_nothing_stored(response, before, await hub.stored())
            assert response.status_code == 422

    @FUZZ
    @given(body=not_json(), content_type=st.sampled_from(["application/json", "text/plain", None]))
    @example(body=nested(10_000, "array").encode(), content_type="application/json")
    @example(body=b"1" * 5_000, content_type="application/json")
    async def test_bytes_that_are_not_json_are_4xx_with_a_reason(
        self, hub: Hub, body: bytes, content_type: str | None
    ) -> None:
        chat = await new_chat(hub.client)
        headers = chat.headers() | ({"Content-Type": content_type} if content_type else {})
        before = await hub.stored()

        response = await hub.client.post(chat.messages_url, content=body, headers=headers)

        assert_rejected_and_nothing_stored(response, before, await hub.stored())


latin1_header = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60)


class TestTokens:
    @FUZZ
    @given(data=st.data())
    async def test_any_token_but_the_sessions_own_is_refused_and_nothing_stored(
        self, hub: Hub, data: st.DataObject
    ) -> None:
        chat = await new_chat(hub.client)
        other = await new_chat(hub.client)
        # not the last character: some of its bits are base64 padding, which decoding ignores
        flipped = data.draw(st.integers(0, len(chat.token) - 2), label="flipped position")
        forged = (
            chat.token[:flipped] + ("A" if chat.token[flipped] != "A" else "B") + chat.token[flipped + 1 :]
        )
        authorization, expected = data.draw(
            st.one_of(
                latin1_header.map(lambda value: (value, 401)),
                latin1_header.map(lambda value: (f"Bearer {value}", 401)),
                st.just((f"Bearer {forged}", 401)),
                st.just((f"Basic {chat.token}", 401)),
                st.just((f"Bearer {other.token}", 403)),
            ),
            label="authorization",
        )
        before = await hub.stored()

        response = await hub.client.post(
            chat.messages_url,
            json={"text": "สวัสดี", "client_message_id": "c-1"},
            headers={b"Authorization": authorization.encode("latin-1")},
        )

        assert_rejected_and_nothing_stored(response, before, await hub.stored())
        assert response.status_code == expected

    async def test_a_valid_token_for_a_session_that_does_not_exist_is_404(self, hub: Hub) -> None:
        session_id = uuid.uuid4().hex
        token = hub.services.webchat_tokens.sign(session_id)

        response = await hub.client.post(
            f"/api/webchat/sessions/{session_id}/messages",
            json={"text": "สวัสดี", "client_message_id": "c-1"},
            headers={"Authorization": f"Bearer {token}"},
        )

        assert_rejected_with_reason(response)
        assert response.status_code == 404


class TestAfter:
    @FUZZ
    @given(
        after=st.text(max_size=30)
        | st.sampled_from(
            ["²", "١٢", "-1", " 1", "1.0", "0", "9" * 19, "9" * 30, "1" * 5_000, "9223372036854775808"]
        )
    )
    async def test_after_that_names_no_message_of_the_session_is_400(self, hub: Hub, after: str) -> None:
        chat = await new_chat(hub.client)
        posted = await hub.client.post(
            chat.messages_url, json={"text": "สวัสดี", "client_message_id": "c-1"}, headers=chat.headers()
        )
        own_id = posted.json()["message_id"]

        response = await hub.client.get(chat.messages_url, params={"after": after}, headers=chat.headers())

        if after == own_id:
            assert response.status_code == 200
        else:
            assert_rejected_with_reason(response)
            assert response.status_code == 400
