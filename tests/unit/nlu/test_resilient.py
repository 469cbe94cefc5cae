"""The circuit breaker in front of Rasa: when it fails over, when it probes, when it comes back."""

from __future__ import annotations

import asyncio

import pytest

from nlu.client import Prediction
from nlu.resilient import BreakerState, FailoverNlu, NluBackendError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeBackend:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0
        self.failing = False
        self.delay = 0.0
        self.ready = True
        self.closed = False

    async def parse(self, text: str) -> Prediction:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failing:
            raise NluBackendError(f"{self.name} is down")
        return Prediction(text=text, intent="greet", confidence=0.9, engine=self.name)

    async def is_ready(self) -> bool:
        return self.ready

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rasa() -> FakeBackend:
    return FakeBackend("rasa")


@pytest.fixture
def embedded() -> FakeBackend:
    return FakeBackend("embedded")


@pytest.fixture
def breaker(rasa: FakeBackend, embedded: FakeBackend, clock: Clock) -> FailoverNlu:
    return FailoverNlu(rasa, embedded, failure_threshold=3, cool_down_s=30.0, call_timeout_s=0.2, clock=clock)


async def _fail_primary(breaker: FailoverNlu, rasa: FakeBackend, times: int) -> None:
    rasa.failing = True
    for _ in range(times):
        await breaker.parse("สวัสดี")


class TestClosed:
    async def test_the_primary_answers_while_it_is_healthy(self, breaker: FailoverNlu) -> None:
        prediction = await breaker.parse("สวัสดี")
        assert prediction.engine == "rasa"
        assert breaker.state is BreakerState.CLOSED
        assert breaker.degraded_reason is None
        assert breaker.active_engine == "rasa"

    async def test_a_failed_call_is_answered_by_the_fallback(
        self, breaker: FailoverNlu, rasa: FakeBackend
    ) -> None:
        rasa.failing = True
        prediction = await breaker.parse("สวัสดี")
        assert prediction.engine == "embedded"
        assert "rasa is down" in str(prediction.extra["degraded_reason"])

    async def test_failures_below_the_threshold_keep_it_closed(
        self, breaker: FailoverNlu, rasa: FakeBackend
    ) -> None:
        await _fail_primary(breaker, rasa, 2)
        assert breaker.state is BreakerState.CLOSED

    async def test_a_success_resets_the_failure_count(self, breaker: FailoverNlu, rasa: FakeBackend) -> None:
        await _fail_primary(breaker, rasa, 2)
        rasa.failing = False
        await breaker.parse("สวัสดี")
        await _fail_primary(breaker, rasa, 2)
        assert breaker.state is BreakerState.CLOSED


class TestOpen:
    async def test_opens_after_consecutive_failures_and_reports_why(
        self, breaker: FailoverNlu, rasa: FakeBackend
    ) -> None:
        await _fail_primary(breaker, rasa, 3)
        assert breaker.state is BreakerState.OPEN
        assert breaker.active_engine == "embedded"
        assert breaker.degraded_reason is not None and "rasa is down" in breaker.degraded_reason

    async def test_while_open_the_primary_is_not_called(
        self, breaker: FailoverNlu, rasa: FakeBackend
    ) -> None:
        await _fail_primary(breaker, rasa, 3)
        calls = rasa.calls
        rasa.failing = False
        prediction = await breaker.parse("สวัสดี")
        assert prediction.engine == "embedded"
        assert rasa.calls == calls

    async def test_a_primary_slower_than_the_timeout_counts_as_a_failure(
        self, breaker: FailoverNlu, rasa: FakeBackend
    ) -> None:
        rasa.delay = 1.0
        for _ in range(3):
            prediction = await breaker.parse("สวัสดี")
            assert prediction.engine == "embedded"
        assert breaker.state is BreakerState.OPEN


class TestHalfOpen:
    async def test_after_the_cool_down_one_call_probes_the_primary_and_closes_on_success(
        self, breaker: FailoverNlu, rasa: FakeBackend, clock: Clock
    ) -> None:
        await _fail_primary(breaker, rasa, 3)
        clock.now += 30
        assert breaker.state is BreakerState.HALF_OPEN
        rasa.failing = False
        prediction = await breaker.parse("สวัสดี")
        assert prediction.engine == "rasa"
        assert breaker.state is BreakerState.CLOSED
        assert breaker.degraded_reason is None

    async def test_a_failed_probe_opens_it_for_another_cool_down(
        self, breaker: FailoverNlu, rasa: FakeBackend, clock: Clock
    ) -> None:
        await _fail_primary(breaker, rasa, 3)
        clock.now += 30
        await breaker.parse("สวัสดี")
        assert breaker.state is BreakerState.OPEN
        clock.now += 29
        assert breaker.state is BreakerState.OPEN

    async def test_only_one_call_probes_while_others_use_the_fallback(
        self, breaker: FailoverNlu, rasa: FakeBackend, clock: Clock
    ) -> None:
        await _fail_primary(breaker, rasa, 3)
        clock.now += 30
        rasa.failing = False
        rasa.delay = 0.05
        calls = rasa.calls
        engines = [p.engine for p in await asyncio.gather(*(breaker.parse("สวัสดี") for _ in range(5)))]
        assert rasa.calls == calls + 1
        assert sorted(engines) == ["embedded"] * 4 + ["rasa"]


class TestReadiness:
    async def test_ready_while_the_primary_is_ready(self, breaker: FailoverNlu) -> None:
        assert await breaker.is_ready()

    async def test_a_primary_that_is_not_ready_counts_as_a_failure_and_the_fallback_decides(
        self, breaker: FailoverNlu, rasa: FakeBackend, embedded: FakeBackend
    ) -> None:
        rasa.ready = False
        for _ in range(3):
            assert await breaker.is_ready()
        assert breaker.state is BreakerState.OPEN
        embedded.ready = False
        assert not await breaker.is_ready()

    async def test_aclose_closes_both_backends(
        self, breaker: FailoverNlu, rasa: FakeBackend, embedded: FakeBackend
    ) -> None:
        await breaker.aclose()
        assert rasa.closed and embedded.closed


def test_a_threshold_below_one_is_refused(rasa: FakeBackend, embedded: FakeBackend) -> None:
    with pytest.raises(ValueError):
        FailoverNlu(rasa, embedded, failure_threshold=0)
