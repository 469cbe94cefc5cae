"""Web-chat rate limits (INTERFACES.md, "Web chat limits"): new sessions per client address,
messages per session, and open WebSockets per session.

Sessions and messages are counted in a moving window by the ``limits`` library: in Redis when
``REDIS_URL`` is set, so every hub process shares the counts, else in this process. A refused
request is answered 429 with ``Retry-After`` before anything is stored. WebSockets are counted
per process (they hold that process's resources) and refused beyond the cap (close 1008).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, WebSocket, WebSocketException, status
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError

from app.settings import Settings
from app.webchat.tokens import TokenSigner

log = logging.getLogger(__name__)
POLICY_VIOLATION = 1008
REDIS_TIMEOUT_SECONDS = 0.5  # WebSocket close code: too many sockets for this session


class WebchatLimits:
    def __init__(self, settings: Settings) -> None:
        # One installation (one database) shares its counts; another one on the same Redis does not.
        installation = hashlib.sha256(settings.resolved_database_url().encode()).hexdigest()[:12]
        storage: Storage = (
            RedisStorage(
                f"async+{settings.redis_url}",
                implementation="redispy",
                key_prefix=f"govchat-limits-{installation}",
                # a hung Redis must not hang web chat: give up fast and let the request through
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            if settings.redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self.messages = RateLimitItemPerMinute(settings.webchat_messages_per_minute)
        self.sessions = RateLimitItemPerHour(settings.webchat_sessions_per_hour)
        self.max_sockets = settings.webchat_sockets_per_session
        self._sockets: Counter[str] = Counter()

    async def take(self, item: RateLimitItem, *key: str) -> None:
        """Count one request against ``item``; ``HTTPException`` 429 when over it (nothing counted).

        While Redis is unreachable nothing is counted and everything is let through: web chat keeps
        working through a Redis outage, as the rest of the hub does.
        """
        try:
            if await self._limiter.hit(item, *key):
                return
            stats = await self._limiter.get_window_stats(item, *key)
        except (StorageError, RedisError, OSError):
            log.warning("rate_limit_storage_unavailable", exc_info=True)
            return
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many requests; try again later",
            headers={"Retry-After": str(retry_after)},
        )

    def open_socket(self, session_id: str) -> bool:
        if self._sockets[session_id] >= self.max_sockets:
            return False
        self._sockets[session_id] += 1
        return True

    def close_socket(self, session_id: str) -> None:
        self._sockets[session_id] -= 1
        if self._sockets[session_id] <= 0:
            del self._sockets[session_id]


def _limits(request: Request) -> WebchatLimits:
    limits: WebchatLimits = request.app.state.webchat_limits
    return limits


async def limit_new_sessions(request: Request) -> None:
    """``GOVCHAT_WEBCHAT_SESSIONS_PER_HOUR`` per client address (as ``GOVCHAT_TRUSTED_PROXIES`` tells it)."""
    limits = _limits(request)
    address = request.client.host if request.client else "unknown"
    await limits.take(limits.sessions, "webchat-sessions", address)


async def limit_messages(
    request: Request, session_id: str, authorization: Annotated[str | None, Header()] = None
) -> None:
    """``GOVCHAT_WEBCHAT_MESSAGES_PER_MINUTE`` per session. Only a request with the session's own
    token counts: anyone else's is refused by the route (401/403) and must not use up its quota."""
    tokens: TokenSigner = request.app.state.services.webchat_tokens
    token = authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else ""
    if not token or tokens.verify(token) != session_id:
        return
    limits = _limits(request)
    await limits.take(limits.messages, "webchat-messages", session_id)


async def socket_slot(websocket: WebSocket, session_id: str) -> AsyncIterator[None]:
    """At most ``GOVCHAT_WEBCHAT_SOCKETS_PER_SESSION`` open WebSockets per session (this process)."""
    limits: WebchatLimits = websocket.app.state.webchat_limits
    if not limits.open_socket(session_id):
        raise WebSocketException(POLICY_VIOLATION, "too many open connections for this session")
    try:
        yield
    finally:
        limits.close_socket(session_id)


NewSessionLimit = Depends(limit_new_sessions)
MessageLimit = Depends(limit_messages)
SocketSlot = Depends(socket_slot)
