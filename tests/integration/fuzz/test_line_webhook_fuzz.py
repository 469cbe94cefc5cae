"""``POST /webhooks/line``: deep nesting wherever a LINE body can nest, correctly signed.

The properties LINE shares with Messenger are in ``test_signed_webhooks_fuzz.py``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.integration.fuzz.checks import FUZZ
from tests.integration.fuzz.hub import SQLITE_ONLY, Hub
from tests.integration.fuzz.platforms import DEEP, LINE, assert_deep_nesting_rejected

pytestmark = SQLITE_ONLY


class TestDeepNesting:
    @FUZZ
    @given(
        depth=st.sampled_from([33, 1_000, 10_000]),
        kind=st.sampled_from(["array", "object"]),
        where=st.sampled_from(["text", "message", "source", "event", "extra"]),
    )
    async def test_nesting_deeper_than_any_line_body_is_400_with_a_reason(
        self, hub: Hub, depth: int, kind: str, where: str
    ) -> None:
        event: Any = LINE.text_event(hub)
        if where == "text":
            event["message"]["text"] = DEEP
        elif where in ("message", "source"):
            event[where] = DEEP
        elif where == "extra":
            event["message"]["emojis"] = DEEP
        else:
            event = DEEP

        await assert_deep_nesting_rejected(LINE, hub, LINE.batch(event), depth, kind)
