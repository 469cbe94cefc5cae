"""The Rasa job's lock and state in Redis: hubs sharing a Rasa server train one at a time and all
show the same state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.nlu_training.status import RedisBoard, RedisLock, TrainingStatus, shared_key
from tests.conftest import wait_for

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except OSError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    yield client
    await client.aclose()


@pytest.fixture
async def key(redis: Any) -> AsyncIterator[str]:
    key = shared_key(f"http://127.0.0.1:1/{uuid.uuid4().hex}")  # this test's own keys
    yield key
    await redis.delete(f"{key}:lock", f"{key}:status")


async def test_only_one_process_holds_the_lock_and_only_the_holder_releases_it(redis: Any, key: str) -> None:
    first, second = RedisLock(redis, key), RedisLock(redis, key)
    assert await first.acquire()
    assert not await second.acquire()
    await second.release()  # not the holder: nothing happens
    assert await first.held() and await second.held()
    await first.release()
    assert not await second.held()
    assert await second.acquire()
    await second.release()


async def test_a_lock_whose_holder_stopped_renewing_it_expires(redis: Any, key: str) -> None:
    dead = RedisLock(redis, key, seconds=1)
    assert await dead.acquire()
    await redis.pexpire(f"{key}:lock", 1)  # as if its second had passed without a renewal
    assert await wait_for(RedisLock(redis, key).acquire, timeout=2)  # once that millisecond is over


async def test_every_process_reads_the_state_one_wrote(redis: Any, key: str) -> None:
    status = TrainingStatus("failed", "rasa", "abc", "2026-12-07T18:00:00+00:00", None, "ฝึกไม่สำเร็จ", True)
    await RedisBoard(redis, key).put(status)
    assert await RedisBoard(redis, key).get() == status
