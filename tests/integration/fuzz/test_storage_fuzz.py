"""Hostile values in the fields the hub stores, on SQLite and PostgreSQL.

PostgreSQL is the stricter store (column widths, no U+0000), so what SQLite takes silently can
fail there after the signature and the schema were checked; the parser must refuse it first.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.line.api import BOT_USER_ID
from tests.integration.fuzz.checks import FUZZ, assert_no_server_error, assert_rejected_and_nothing_stored
from tests.integration.fuzz.hub import ON_BOTH_DATABASES, Hub
from tests.integration.fuzz.strategies import dumps, hostile_text

pytestmark = ON_BOTH_DATABASES
TEXT_EVENT = "ruby-sdk_minimum_text_message_event"
STORED_FIELDS = [
    ("destination",),
    ("events", 0, "type"),
    ("events", 0, "webhookEventId"),
    ("events", 0, "replyToken"),
    ("events", 0, "source", "userId"),
    ("events", 0, "message", "id"),
    ("events", 0, "message", "text"),
]
values = hostile_text() | st.integers(100, 300).map(lambda n: "U" * n)


def place(document: dict[str, Any], path: tuple[Any, ...], value: str) -> None:
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value


@FUZZ
@given(field=st.sampled_from(STORED_FIELDS), value=values)
async def test_a_hostile_value_in_a_stored_line_field_is_stored_once_or_400(
    hub: Hub, field: tuple[Any, ...], value: str
) -> None:
    event = hub.line.fresh(hub.line.event(TEXT_EVENT), user_id=f"U{uuid.uuid4().hex}")
    body: dict[str, Any] = {"destination": BOT_USER_ID, "events": [event]}
    if field[-1] == "webhookEventId":
        value += uuid.uuid4().hex  # as hostile, but no other example's id (that would be a redelivery)
    place(body, field, value)
    raw = dumps(body)
    before = await hub.stored()

    response = await hub.post_line(raw)

    after = await hub.stored()
    assert_no_server_error(response)
    if response.status_code != 200:
        assert_rejected_and_nothing_stored(response, before, after)
        assert response.status_code == 400
        return
    assert after.work_items == before.work_items + 1
    again = await hub.post_line(raw)
    assert again.status_code == 200
    assert await hub.stored() == after  # a redelivery, stored once
    sent = body["events"][0]
    if sent["type"] == "message" and sent["source"]["userId"] and field[-1] != "id":
        assert await hub.inbound_texts(sent["message"]["id"]) == [sent["message"]["text"]]
