"""FailoverNlu in front of the real Rasa server: to the embedded engine and back.

"Slow" is a Rasa process frozen with SIGSTOP (connections accepted, no answers); "down" is
the process stopped. A fake clock stands in for the breaker's cool-down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from nlu.embedded import EmbeddedNlu
from nlu.examples import Example
from nlu.rasa_http import RasaHttpNlu
from nlu.rasa_runner import RasaServer
from nlu.resilient import BreakerState, FailoverNlu

pytestmark = [pytest.mark.rasa, pytest.mark.timeout(900)]

COOL_DOWN_S = 30.0
SHORT_TIMEOUT = aiohttp.ClientTimeout(total=0.5, connect=0.5)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def embedded(training_examples: list[Example]) -> EmbeddedNlu:
    return EmbeddedNlu.train(training_examples)


@pytest.fixture
async def breaker(
    ensure_serving: RasaServer, embedded: EmbeddedNlu, clock: Clock
) -> AsyncIterator[FailoverNlu]:
    nlu = FailoverNlu(
        RasaHttpNlu(ensure_serving.url, timeout=SHORT_TIMEOUT, auth_token=ensure_serving.auth_token),
        embedded,
        failure_threshold=2,
        cool_down_s=COOL_DOWN_S,
        call_timeout_s=1.0,
        clock=clock,
    )
    yield nlu
    await nlu.primary.aclose()


QUESTION = "จดทะเบียนบริษัทออนไลน์ได้ไหม"


async def test_rasa_answers_while_healthy(breaker: FailoverNlu) -> None:
    prediction = await breaker.parse(QUESTION)
    assert prediction.engine == "rasa"
    assert breaker.state is BreakerState.CLOSED


async def test_a_rasa_slower_than_the_timeout_fails_over_and_comes_back(
    breaker: FailoverNlu, ensure_serving: RasaServer, clock: Clock
) -> None:
    ensure_serving.pause()
    try:
        answered = [await breaker.parse(QUESTION) for _ in range(3)]
        assert [p.engine for p in answered] == ["embedded"] * 3
        assert answered[-1].faq_id == "company_registration_online"
        assert breaker.state is BreakerState.OPEN
        assert breaker.active_engine == "embedded"
        assert breaker.degraded_reason is not None and "timed out" in breaker.degraded_reason
    finally:
        ensure_serving.resume()
    clock.now += COOL_DOWN_S
    recovered = await breaker.parse(QUESTION)
    assert recovered.engine == "rasa"
    assert breaker.state is BreakerState.CLOSED
    assert breaker.degraded_reason is None


async def test_a_stopped_rasa_fails_over_at_once_and_comes_back_after_a_restart(
    breaker: FailoverNlu, ensure_serving: RasaServer, clock: Clock
) -> None:
    ensure_serving.stop()
    answered = [await breaker.parse(QUESTION) for _ in range(2)]
    assert [p.engine for p in answered] == ["embedded"] * 2
    assert breaker.state is BreakerState.OPEN
    assert not await breaker.primary.is_ready()

    ensure_serving.start()
    assert (await breaker.parse(QUESTION)).engine == "embedded"  # still cooling down
    clock.now += COOL_DOWN_S
    assert (await breaker.parse(QUESTION)).engine == "rasa"
    assert breaker.state is BreakerState.CLOSED
