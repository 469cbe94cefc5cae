"""Where a retraining's state is kept, and the lock that lets one process train Rasa at a time.

The embedded engine retrains in every process, so its state is the process's own (``MemoryBoard``).
A Rasa training job runs in one process for every hub that shares the Rasa server; with Redis its
state and its lock live there (``RedisBoard``, ``RedisLock``), keyed by the Rasa server, so any
process answers ``GET /api/admin/kb/training`` with the job's state and two hubs never train at once.
Without Redis there is one process, and memory does.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, Protocol

TrainingState = Literal["idle", "training", "failed"]
Engine = Literal["embedded", "rasa"]
KEY_PREFIX = "govchat:nlu-training:"
# A process that dies while training stops renewing its lock; another may train after this long.
LOCK_SECONDS = 120


@dataclass(frozen=True)
class TrainingStatus:
    """What the knowledge-base editor shows after an approval (kb-api.md, ``GET /api/admin/kb/training``)."""

    state: TrainingState
    engine: Engine
    model: str  # what the serving model was trained on: a digest (embedded) or a fingerprint (Rasa)
    started_at: str | None = None  # ISO 8601, UTC
    finished_at: str | None = None
    error: str | None = None
    pending_questions: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingStatus:
        return cls(
            state=data["state"],
            engine=data["engine"],
            model=str(data.get("model") or ""),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            error=data.get("error"),
            pending_questions=bool(data.get("pending_questions")),
        )

    def with_pending(self, pending: bool) -> TrainingStatus:
        return replace(self, pending_questions=pending)


class StatusBoard(Protocol):
    async def get(self) -> TrainingStatus | None: ...

    async def put(self, status: TrainingStatus) -> None: ...


class TrainingLock(Protocol):
    async def acquire(self) -> bool:
        """True when this process may train now (until ``release``)."""
        ...

    async def renew(self) -> None: ...

    async def release(self) -> None: ...

    async def held(self) -> bool:
        """Whether some process (this one or another) trains now."""
        ...


class MemoryBoard:
    def __init__(self) -> None:
        self._status: TrainingStatus | None = None

    async def get(self) -> TrainingStatus | None:
        return self._status

    async def put(self, status: TrainingStatus) -> None:
        self._status = status


class MemoryLock:
    def __init__(self) -> None:
        self._held = False

    async def acquire(self) -> bool:
        if self._held:
            return False
        self._held = True
        return True

    async def renew(self) -> None:
        return None

    async def release(self) -> None:
        self._held = False

    async def held(self) -> bool:
        return self._held


def shared_key(rasa_url: str) -> str:
    """One state and one lock per Rasa server: hubs that share it share them."""
    return KEY_PREFIX + hashlib.sha256(rasa_url.rstrip("/").encode()).hexdigest()[:16]


class RedisBoard:
    def __init__(self, redis: Any, key: str) -> None:
        self._redis = redis
        self._key = key + ":status"

    async def get(self) -> TrainingStatus | None:
        raw = await self._redis.get(self._key)
        return TrainingStatus.from_json(json.loads(raw)) if raw else None

    async def put(self, status: TrainingStatus) -> None:
        await self._redis.set(self._key, json.dumps(status.as_json(), ensure_ascii=False))


# Only the holder (its token) may extend or delete the lock.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class RedisLock:
    def __init__(self, redis: Any, key: str, seconds: int = LOCK_SECONDS) -> None:
        self._redis = redis
        self._key = key + ":lock"
        self._token = uuid.uuid4().hex
        self._ms = seconds * 1000

    async def acquire(self) -> bool:
        return bool(await self._redis.set(self._key, self._token, nx=True, px=self._ms))

    async def renew(self) -> None:
        await self._redis.eval(_RENEW, 1, self._key, self._token, self._ms)

    async def release(self) -> None:
        await self._redis.eval(_RELEASE, 1, self._key, self._token)

    async def held(self) -> bool:
        return bool(await self._redis.exists(self._key))
