"""Rasa servers on loopback for the hub's Rasa client: slow, or answering what a test scripts.

``SlowRasa(delay)``: up but slower than the hub's timeout; ``GET /status`` and
``POST /model/parse`` answer like Rasa Open Source 3 does (a loaded model; the fallback
intent), but only after ``delay`` seconds. ``ScriptedRasa(answer)``: every request gets
``answer(request path, JSON body)``, a ``(status, body bytes)`` pair, at once. Neither has our batch
channel (``/webhooks/govchat_batch/parse`` answers 404, as a Rasa started without it), unless
``ScriptedRasa(answer, batch=True)``, where it is scripted too. ``.url`` stands
for ``RASA_URL``; ``calls`` counts what reached it; ``requests`` keeps ``(path, JSON body)``.
(A Rasa that is *down* needs no fake: a loopback port nobody listens on refuses connections.)
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import free_port

Answer = Callable[[str, Any], tuple[int, bytes]]


class _LoopbackRasa:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, Any]] = []
        app = Starlette(
            routes=[
                Route("/status", self._status, methods=["GET"]),
                Route("/model/parse", self._parse, methods=["POST"]),
                Route("/webhooks/govchat_batch/parse", self._batch, methods=["POST"]),
            ]
        )
        # Requests still sleeping at the end must not hold the shutdown.
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Rasa did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    async def _status(self, request: Request) -> Response:
        raise NotImplementedError

    async def _parse(self, request: Request) -> Response:
        raise NotImplementedError

    async def _batch(self, request: Request) -> Response:
        self.calls["batch_not_found"] += 1
        return Response(b"not found", status_code=404)


class SlowRasa(_LoopbackRasa):
    def __init__(self, delay: float = 30.0) -> None:
        super().__init__()
        self.delay = delay

    async def _status(self, request: Request) -> Response:
        self.calls["status"] += 1
        await asyncio.sleep(self.delay)
        return JSONResponse({"model_file": "models/slow.tar.gz", "num_active_training_jobs": 0})

    async def _parse(self, request: Request) -> Response:
        self.calls["parse"] += 1
        body = await request.json()
        await asyncio.sleep(self.delay)
        intent = {"name": "nlu_fallback", "confidence": 0.0}
        return JSONResponse({"text": body.get("text", ""), "intent": intent, "intent_ranking": [intent]})


class ScriptedRasa(_LoopbackRasa):
    def __init__(self, answer: Answer, *, batch: bool = False) -> None:
        super().__init__()
        self.answer = answer
        self.batch = batch

    async def _status(self, request: Request) -> Response:
        return await self._scripted(request, None)

    async def _parse(self, request: Request) -> Response:
        return await self._scripted(request, json.loads(await request.body()))

    async def _batch(self, request: Request) -> Response:
        if not self.batch:
            return await super()._batch(request)
        return await self._scripted(request, json.loads(await request.body()))

    async def _scripted(self, request: Request, body: Any) -> Response:
        path = request.url.path
        self.calls[path] += 1
        self.requests.append((path, body))
        status, content = self.answer(path, body)
        return Response(content, status_code=status, media_type="application/json")


def as_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
