"""The one loader of the shared LINE fixtures (``../shared/fixtures/line``) and their signing.

Bodies come from the official SDKs' tests (see PROVENANCE.md). They reuse ``webhookEventId``s
and carry 2016 timestamps, so ``fresh`` gives an event a new id, a current timestamp, a
reply token and a chat of the test's choosing; ``signed`` signs the exact bytes sent.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED_DIR
from tests.fakes.line.api import BOT_USER_ID

LINE_FIXTURES = SHARED_DIR / "fixtures" / "line"
# The channel secret of the computed vectors in signature_vectors.json: tests sign with it too,
# so those vectors can be posted to the hub as they are.
TEST_SECRET = "5f1e0a9c3b7d4e2f8a6c0b1d9e3f7a24"
SIGNATURE_HEADER = "X-Line-Signature"


@dataclass(frozen=True)
class Vector:
    id: str
    secret: str
    body: bytes
    signature: str
    expected_valid: bool


class LineFixtures:
    def __init__(self, root: Path = LINE_FIXTURES, secret: str = TEST_SECRET) -> None:
        self.root = root
        self.secret = secret

    def names(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "events").glob("*.json"))

    def raw(self, name: str) -> bytes:
        """The exact bytes of ``events/<name>.json``."""
        return (self.root / "events" / f"{name}.json").read_bytes()

    def body(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.raw(name))
        return result

    def event(self, name: str, index: int = 0) -> dict[str, Any]:
        return copy.deepcopy(self.body(name)["events"][index])

    def vectors(self) -> list[Vector]:
        data = json.loads((self.root / "signature_vectors.json").read_text(encoding="utf-8"))
        result = []
        for v in data["vectors"]:
            body = (
                (self.root / v["body_file"]).read_bytes() if "body_file" in v else v["body"].encode("utf-8")
            )
            assert hashlib.sha256(body).hexdigest() == v["body_sha256"], f"{v['id']}: fixture changed"
            result.append(Vector(v["id"], v["secret"], body, v["signature"], v["expected_valid"]))
        return result

    def sign(self, body: bytes, secret: str | None = None) -> str:
        key = (secret or self.secret).encode("utf-8")
        return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")

    def signed(self, payload: dict[str, Any] | bytes) -> tuple[bytes, dict[str, str]]:
        body = (
            payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        )
        return body, {SIGNATURE_HEADER: self.sign(body), "Content-Type": "application/json"}

    @staticmethod
    def envelope(*events: dict[str, Any], destination: str = BOT_USER_ID) -> dict[str, Any]:
        return {"destination": destination, "events": list(events)}

    @staticmethod
    def fresh(
        event: dict[str, Any],
        *,
        user_id: str | None = None,
        group_id: str | None = None,
        reply_token: str | None = None,
        age_seconds: float = 0.0,
        event_id: str | None = None,
        redelivery: bool = False,
    ) -> dict[str, Any]:
        """The event as LINE would send it now: new id, current timestamp, the chosen chat."""
        result = copy.deepcopy(event)
        result["webhookEventId"] = event_id or uuid.uuid4().hex.upper()[:26]
        result["timestamp"] = int((time.time() - age_seconds) * 1000)
        result["deliveryContext"] = {"isRedelivery": redelivery}
        result["mode"] = "active"
        if group_id is not None:
            result["source"] = {"type": "group", "groupId": group_id, "userId": user_id or "Umember"}
        elif user_id is not None:
            result["source"] = {"type": "user", "userId": user_id}
        if reply_token is not None:
            result["replyToken"] = reply_token
        if "message" in result:
            result["message"]["id"] = str(uuid.uuid4().int)[:18]
        return result


@pytest.fixture(scope="session")
def line_fixtures() -> LineFixtures:
    """The shared LINE fixtures; import this fixture into a test module or conftest to use it."""
    return LineFixtures()
