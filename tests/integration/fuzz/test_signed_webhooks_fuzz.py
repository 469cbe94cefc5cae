"""``POST /webhooks/line`` and ``/webhooks/facebook`` under hostile input, correctly signed so
that parsing is reached: the properties both platforms share, once per platform.

Contract (INTERFACES.md): a signed body that is not JSON or not the platform's schema -> 400
with a reason and nothing stored; a bad signature -> 401; a valid batch -> 200 once every event
is stored, each once. One bad event rejects the whole batch (the platform redelivers it), so a
valid message in a rejected batch is never acknowledged. Platform-only properties (Messenger's
subscription check, where each schema nests) are in ``test_line_webhook_fuzz.py`` and
``test_facebook_webhook_fuzz.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.integration.fuzz.checks import FUZZ, assert_rejected_and_nothing_stored
from tests.integration.fuzz.hub import SQLITE_ONLY, Hub
from tests.integration.fuzz.platforms import LINE, MESSENGER, SignedWebhook, post_and_check
from tests.integration.fuzz.strategies import (
    dumps,
    hostile_text,
    json_values,
    long_thai,
    mutated,
    nested,
    not_json,
)

pytestmark = SQLITE_ONLY
UNSTORABLE = ("\x00", *(chr(c) for c in range(0xD800, 0xE000)))


@pytest.fixture(params=[LINE, MESSENGER], ids=repr)
def webhook(request: pytest.FixtureRequest) -> SignedWebhook:
    platform: SignedWebhook = request.param
    return platform


class TestSignedGarbage:
    @FUZZ
    @given(body=not_json())
    @example(body=nested(10_000, "object").encode())  # past the recursion limit
    @example(body=b"1" * 5_000)  # past the 4,300 digits int() accepts
    async def test_signed_bytes_that_are_not_json_are_400_with_a_reason_and_store_nothing(
        self, hub: Hub, webhook: SignedWebhook, body: bytes
    ) -> None:
        before = await hub.stored()
        response = await webhook.post(hub, body)

        assert_rejected_and_nothing_stored(response, before, await hub.stored())
        assert response.status_code == 400

    @FUZZ
    @given(value=json_values)
    async def test_signed_json_of_any_shape_is_never_a_server_error(
        self, hub: Hub, webhook: SignedWebhook, value: Any
    ) -> None:
        await post_and_check(webhook, hub, dumps(value))

    @FUZZ
    @given(data=st.data())
    async def test_a_damaged_batch_is_rejected_whole_or_stored_once(
        self, hub: Hub, webhook: SignedWebhook, data: st.DataObject
    ) -> None:
        body = data.draw(mutated(webhook.batch(webhook.text_event(hub), webhook.text_event(hub))))

        status, _ = await post_and_check(webhook, hub, dumps(body))

        if status == 200:  # what was accepted is a redelivery the second time
            assert await post_and_check(webhook, hub, dumps(body)) == (200, 0)

    @FUZZ
    @given(data=st.data(), body=not_json() | json_values.map(dumps))
    async def test_a_wrong_signature_is_401_whatever_the_body(
        self, hub: Hub, webhook: SignedWebhook, data: st.DataObject, body: bytes
    ) -> None:
        signature = data.draw(
            st.text(st.characters(max_codepoint=0xFF), max_size=webhook.signature_max_size), label="signature"
        )
        before = await hub.stored()
        response = await hub.client.post(
            webhook.path,
            content=body,
            headers={webhook.signature_header.encode(): signature.encode("latin-1")},
        )

        assert_rejected_and_nothing_stored(response, before, await hub.stored())
        assert response.status_code == 401


class TestValidMessageAmongGarbage:
    @FUZZ
    @given(data=st.data())
    async def test_a_valid_message_is_stored_once_or_its_batch_is_not_acknowledged(
        self, hub: Hub, webhook: SignedWebhook, data: st.DataObject
    ) -> None:
        valid = webhook.text_event(hub)
        garbage = data.draw(
            st.lists(json_values | mutated(webhook.text_event(hub)), min_size=1, max_size=3),
            label="garbage events",
        )
        batch = data.draw(st.permutations([valid, *garbage]), label="batch")

        status, _ = await post_and_check(webhook, hub, dumps(webhook.batch(*batch)))

        message_id = webhook.message_id(valid)
        if status == 200:
            assert await hub.inbound_texts(message_id) == [valid["message"]["text"]]
        else:  # not acknowledged: the platform redelivers, and the message alone is accepted then
            assert await hub.inbound_texts(message_id) == []
            assert await post_and_check(webhook, hub, dumps(webhook.batch(valid))) == (200, 1)
            assert await hub.inbound_texts(message_id) == [valid["message"]["text"]]


class TestText:
    @FUZZ
    @given(text=hostile_text())
    async def test_any_storable_text_is_stored_exactly_and_the_rest_is_400(
        self, hub: Hub, webhook: SignedWebhook, text: str
    ) -> None:
        event = webhook.text_event(hub, text)

        status, _ = await post_and_check(webhook, hub, dumps(webhook.batch(event)))

        stored = await hub.inbound_texts(webhook.message_id(event))
        if any(c in text for c in UNSTORABLE):
            assert (status, stored) == (400, [])
        elif text.strip() or webhook.keeps_blank_text:
            assert (status, stored) == (200, [text])
        else:  # whitespace only: on the record as an empty message, nothing in the transcript
            assert (status, stored) == (200, [])

    @settings(FUZZ, max_examples=5)
    @given(text=long_thai(10_000))
    async def test_10000_thai_characters_without_spaces_are_stored_whole(
        self, hub: Hub, webhook: SignedWebhook, text: str
    ) -> None:
        event = webhook.text_event(hub, text)

        assert await post_and_check(webhook, hub, dumps(webhook.batch(event))) == (200, 1)
        assert await hub.inbound_texts(webhook.message_id(event)) == [text]
