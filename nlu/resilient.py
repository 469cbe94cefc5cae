"""Keep answering when Rasa is down or slow: a circuit breaker in front of two NLU backends.

``FailoverNlu(primary, fallback)`` sends each message to ``primary`` (Rasa over HTTP) while
the breaker is *closed*. After ``failure_threshold`` consecutive failures or timeouts it
*opens*: for ``cool_down_s`` every message goes straight to ``fallback`` (the embedded
engine) without waiting on Rasa. Then it is *half-open*: one message probes Rasa (the
others keep using the fallback); success closes the breaker, failure opens it again.

``state``, ``degraded_reason`` and ``active_engine`` feed the hub's ``/readyz``; each
``Prediction.engine`` says which backend really answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import time
from collections.abc import Callable

from nlu.client import NluClient, Prediction

logger = logging.getLogger(__name__)

# ``Prediction.extra`` key on an answer the fallback gave because the primary failed: why.
DEGRADED_REASON = "degraded_reason"


class NluBackendError(Exception):
    """A backend could not answer (unreachable, timed out, bad response)."""


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class FailoverNlu:
    """An ``NluClient`` that fails over from ``primary`` to ``fallback`` (see module doc)."""

    def __init__(
        self,
        primary: NluClient,
        fallback: NluClient,
        *,
        failure_threshold: int = 3,
        cool_down_s: float = 30.0,
        call_timeout_s: float | None = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self._failure_threshold = failure_threshold
        self._cool_down_s = cool_down_s
        self._call_timeout_s = call_timeout_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._last_error: str | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self._clock() - self._opened_at >= self._cool_down_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def degraded_reason(self) -> str | None:
        """Why the fallback answers (for ``/readyz``), or None while the primary is in use."""
        if self._opened_at is None:
            return None
        return f"{self.primary.name} unavailable ({self._last_error}); answering with {self.fallback.name}"

    @property
    def active_engine(self) -> str:
        return self.primary.name if self._opened_at is None else self.fallback.name

    async def parse(self, text: str) -> Prediction:
        state = self.state
        if state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN and self._probing):
            return await self._fallback(text, self.degraded_reason)
        if state is BreakerState.HALF_OPEN:
            self._probing = True
        try:
            prediction = await self._call_primary(text)
        except (NluBackendError, TimeoutError) as exc:
            self._record_failure(exc)
            return await self._fallback(text, f"{self.primary.name} failed ({self._last_error})")
        finally:
            self._probing = False
        self._record_success()
        return prediction

    async def _call_primary(self, text: str) -> Prediction:
        if self._call_timeout_s is None:
            return await self.primary.parse(text)
        async with asyncio.timeout(self._call_timeout_s):
            return await self.primary.parse(text)

    async def _fallback(self, text: str, reason: str | None) -> Prediction:
        prediction = await self.fallback.parse(text)
        extra = {**prediction.extra, DEGRADED_REASON: reason}
        return dataclasses.replace(prediction, extra=extra)

    def _record_failure(self, exc: BaseException) -> None:
        self._last_error = str(exc) or type(exc).__name__
        self._failures += 1
        was_open = self._opened_at is not None
        if was_open or self._failures >= self._failure_threshold:
            self._opened_at = self._clock()
            if not was_open:
                logger.warning(
                    "nlu_breaker_opened primary=%s failures=%d error=%s",
                    self.primary.name,
                    self._failures,
                    self._last_error,
                    extra={"event": "nlu_breaker_opened", "primary": self.primary.name},
                )

    def _record_success(self) -> None:
        if self._opened_at is not None:
            logger.info(
                "nlu_breaker_closed primary=%s",
                self.primary.name,
                extra={"event": "nlu_breaker_closed", "primary": self.primary.name},
            )
        self._failures = 0
        self._opened_at = None
        self._last_error = None

    async def is_ready(self) -> bool:
        """True when some backend can answer; a primary that is not ready counts as a failure."""
        if self._opened_at is None:
            if await self.primary.is_ready():
                return True
            self._record_failure(NluBackendError(f"{self.primary.name} is not ready"))
        return await self.fallback.is_ready()

    async def aclose(self) -> None:
        try:
            await self.primary.aclose()
        finally:
            await self.fallback.aclose()
