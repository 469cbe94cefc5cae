"""A Rasa server that is up but slower than the hub's timeout: it accepts, then answers too late.

``SlowRasa(delay).url`` stands for ``RASA_URL``. ``GET /status`` and ``POST /model/parse``
answer like Rasa Open Source 3 does (a loaded model; the fallback intent), but only after
``delay`` seconds; ``calls`` counts what reached it. (A Rasa that is *down* needs no fake: a
loopback port nobody listens on refuses connections.)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import free_port


class SlowRasa:
    def __init__(self, delay: float = 30.0) -> None:
        self.delay = delay
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls: Counter[str] = Counter()
        app = Starlette(
            routes=[
                Route("/status", self._status, methods=["GET"]),
                Route("/model/parse", self._parse, methods=["POST"]),
            ]
        )
        # Requests still sleeping at the end must not hold the shutdown for ``delay``.
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> SlowRasa:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("slow Rasa did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    async def _status(self, request: Request) -> JSONResponse:
        self.calls["status"] += 1
        await asyncio.sleep(self.delay)
        return JSONResponse({"model_file": "models/slow.tar.gz", "num_active_training_jobs": 0})

    async def _parse(self, request: Request) -> JSONResponse:
        self.calls["parse"] += 1
        body = await request.json()
        await asyncio.sleep(self.delay)
        intent = {"name": "nlu_fallback", "confidence": 0.0}
        return JSONResponse({"text": body.get("text", ""), "intent": intent, "intent_ranking": [intent]})
