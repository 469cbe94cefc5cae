"""``GraphClient`` against the fake Graph API: the environment's proxy, read once, and its errors."""

from __future__ import annotations

import pytest

from channels.facebook.graph import GraphApiError, GraphClient, GraphUnavailable
from tests.fakes.facebook.graph_api import (
    PAGE_ACCESS_TOKEN,
    FakeGraphApi,
    MessengerFixtures,
    graph_api,
    messenger_fixtures,
    too_many_requests,
)

__all__ = ["graph_api", "messenger_fixtures"]

UNRESOLVABLE = "http://graph.facebook.invalid"  # reachable only through the proxy (the fake)
MESSAGE = {"recipient": {"id": "2468"}, "messaging_type": "RESPONSE", "message": {"text": "สวัสดีค่ะ"}}


pytestmark = pytest.mark.usefixtures("no_proxy_environment")


def client(base_url: str, fixtures: MessengerFixtures) -> GraphClient:
    return GraphClient(base_url=base_url, access_token=PAGE_ACCESS_TOKEN, app_secret=fixtures.app_secret)


async def test_calls_go_through_the_proxy_named_when_the_client_was_built(
    graph_api: FakeGraphApi, messenger_fixtures: MessengerFixtures, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{graph_api.port}")  # the fake serves proxied calls
    graph = client(f"{UNRESOLVABLE}/{graph_api.version}", messenger_fixtures)
    monkeypatch.delenv("HTTP_PROXY")  # read when built: later changes do not matter
    try:
        answer = await graph.post("/me/messages", MESSAGE)
    finally:
        await graph.aclose()
    assert answer["message_id"]
    assert [r.text for r in graph_api.delivered("2468")] == ["สวัสดีค่ะ"]


async def test_without_a_proxy_an_unreachable_host_is_unavailable(
    messenger_fixtures: MessengerFixtures,
) -> None:
    graph = client(f"{UNRESOLVABLE}/v19.0", messenger_fixtures)
    try:
        with pytest.raises(GraphUnavailable):
            await graph.post("/me/messages", MESSAGE)
    finally:
        await graph.aclose()


async def test_an_error_answer_keeps_its_code_and_retry_after(
    graph_api: FakeGraphApi, messenger_fixtures: MessengerFixtures
) -> None:
    graph_api.fail(too_many_requests(retry_after=7))
    graph = client(graph_api.base_url, messenger_fixtures)
    try:
        with pytest.raises(GraphApiError) as caught:
            await graph.post("/me/messages", MESSAGE)
    finally:
        await graph.aclose()
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0
    assert PAGE_ACCESS_TOKEN not in str(caught.value)
