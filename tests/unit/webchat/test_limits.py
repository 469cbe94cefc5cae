"""Web-chat limits: counting, and web chat going on while Redis is unreachable."""

from __future__ import annotations

import pytest
from fastapi import HTTPException

from app.settings import Settings
from app.webchat.limits import WebchatLimits
from tests.conftest import free_port


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, GOVCHAT_WEBCHAT_MESSAGES_PER_MINUTE=2, **values)  # type: ignore[call-arg, arg-type]


async def test_the_third_message_in_a_minute_is_refused_with_retry_after() -> None:
    limits = WebchatLimits(_settings())
    await limits.take(limits.messages, "webchat-messages", "s1")
    await limits.take(limits.messages, "webchat-messages", "s1")
    with pytest.raises(HTTPException) as refused:
        await limits.take(limits.messages, "webchat-messages", "s1")
    assert refused.value.status_code == 429
    assert refused.value.headers is not None and 0 < int(refused.value.headers["Retry-After"]) <= 60
    await limits.take(limits.messages, "webchat-messages", "another-session")


async def test_an_unreachable_redis_lets_requests_through() -> None:
    limits = WebchatLimits(_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    for _ in range(3):
        await limits.take(limits.messages, "webchat-messages", "s1")


def test_sockets_per_session_are_counted_and_released() -> None:
    limits = WebchatLimits(_settings(GOVCHAT_WEBCHAT_SOCKETS_PER_SESSION=1))
    assert limits.open_socket("s1") and not limits.open_socket("s1") and limits.open_socket("s2")
    limits.close_socket("s1")
    assert limits.open_socket("s1")
