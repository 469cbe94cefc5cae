"""``RasaHttpNlu``: the Rasa NLU server as an ``NluClient``.

Messages parsed concurrently (a worker's batch) go to Rasa together, in one request to our batch
channel (``POST {RASA_URL}/webhooks/govchat_batch/parse``, ``nlu/rasa_project/batch_channel.py``)
through ``nlu.batching.BatchingCaller``: alone when nothing is in flight, together under load. Per
request Rasa spends about 3 ms of CPU besides the NLU, which one request a message could not afford.
A Rasa server without that channel (404) is asked one message a request (``POST {RASA_URL}/model/parse``).

Rasa's HTTP API can replace the model, so the server runs with ``--auth-token`` and every call
carries it (``RASA_AUTH_TOKEN``). One pooled ``aiohttp.ClientSession`` with a short explicit timeout, closed by ``aclose`` (the
hub's lifespan). Any transport error, timeout, non-200 answer or malformed body raises
``RasaUnavailableError`` so ``FailoverNlu`` can switch to the embedded engine. (aiohttp, not
httpx: with 16 calls in flight to a loopback server, an httpx call cost the calling process
2.4-2.7 ms of CPU and an aiohttp call 0.2 ms, ``benchmarks/http_clients.py``; with Rasa as the
NLU that was a third of the hub's CPU per message.)

Rasa's answer (trimmed)::

    {"text": "...", "intent": {"name": "faq", "confidence": 0.93},
     "intent_ranking": [{"name": "faq", "confidence": 0.93}, ...],
     "response_selector": {"all_retrieval_intents": ["faq"],
        "faq": {"response": {"intent_response_key": "faq/name_reservation", "confidence": 0.87, ...},
                "ranking": [{"intent_response_key": "faq/name_reservation", "confidence": 0.87}, ...]}}}
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from nlu.batching import BatchingCaller
from nlu.client import FALLBACK_INTENT, FAQ_INTENT, Prediction, Ranked
from nlu.resilient import NluBackendError

ENGINE = "rasa"
# Rasa answers a parse in milliseconds; anything slower is a sick server, fail over fast.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=1.5, connect=0.5)
MAX_CONNECTIONS = 32
BATCH_PATH = "/webhooks/govchat_batch/parse"
# Rasa runs one request at a time: a second in flight keeps it busy while the hub reads an answer.
MAX_BATCH = 64
MAX_BATCHES_IN_FLIGHT = 2


class RasaUnavailableError(NluBackendError):
    """Rasa could not give a usable answer (``status``: its HTTP status, when it answered)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _ranking(items: Any, key: str) -> tuple[Ranked, ...]:
    if not isinstance(items, list):
        return ()
    ranked = [
        Ranked(str(item[key]), float(item.get("confidence") or 0.0))
        for item in items
        if isinstance(item, Mapping) and item.get(key)
    ]
    return tuple(sorted(ranked, key=lambda r: r.confidence, reverse=True))


def _faq_id(response_key: str) -> str:
    """``faq/name_reservation`` -> ``name_reservation``."""
    return response_key.split("/", 1)[1] if "/" in response_key else response_key


def faq_ranking(body: Mapping[str, Any], retrieval_intent: str = FAQ_INTENT) -> tuple[Ranked, ...]:
    """The FAQ entries best first, from ``response_selector.<retrieval_intent>``.

    The response selector's confidences are conditional, P(entry | the message is an FAQ
    question). Like the embedded engine, we report the joint P(intent = faq and entry), the
    probability that answering this entry is right, which the policy's thresholds expect.
    """
    selector = (body.get("response_selector") or {}).get(retrieval_intent) or {}
    ranked = _ranking(selector.get("ranking"), "intent_response_key")
    if not ranked:
        best = selector.get("response") or {}
        if best.get("intent_response_key"):
            ranked = (Ranked(str(best["intent_response_key"]), float(best.get("confidence") or 0.0)),)
    intents = _ranking(body.get("intent_ranking"), "name")
    p_faq = next((r.confidence for r in intents if r.name == retrieval_intent), 0.0)
    return tuple(Ranked(_faq_id(r.name), r.confidence * p_faq) for r in ranked)


def prediction_from_parse(body: Mapping[str, Any], latency_ms: float = 0.0) -> Prediction:
    """Map Rasa's ``/model/parse`` JSON onto a ``Prediction``."""
    intent = body.get("intent") or {}
    name = intent.get("name") or FALLBACK_INTENT
    return Prediction(
        text=str(body.get("text", "")),
        intent=str(name),
        confidence=float(intent.get("confidence") or 0.0),
        intent_ranking=_ranking(body.get("intent_ranking"), "name"),
        faq_ranking=faq_ranking(body),
        engine=ENGINE,
        latency_ms=latency_ms,
    )


def _prediction(text: str, body: Any, latency_ms: float) -> Prediction:
    """``prediction_from_parse`` for the text we sent; ``RasaUnavailableError`` on a malformed answer."""
    try:
        if not isinstance(body, dict):
            raise TypeError("not a JSON object")
        prediction = prediction_from_parse(body, latency_ms)
    except (ValueError, TypeError, AttributeError) as exc:
        raise RasaUnavailableError(f"malformed parse result: {exc}") from exc
    # Rasa echoes the text it parsed; keep the caller's exact text
    return prediction if prediction.text == text else dataclasses.replace(prediction, text=text)


class RasaHttpNlu:
    """``NluClient`` over a Rasa server's HTTP API."""

    name = ENGINE

    def __init__(
        self,
        base_url: str,
        *,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        auth_token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # Rasa's ``--auth-token`` is checked on the ``token`` query parameter.
        self._params = {"token": auth_token} if auth_token else None
        self._session: aiohttp.ClientSession | None = None
        self._batching: BatchingCaller[str, Prediction] = BatchingCaller(
            self._parse_batch, max_batch=MAX_BATCH, max_in_flight=MAX_BATCHES_IN_FLIGHT
        )
        #: None until Rasa answered a batch request; False: it has no batch channel.
        self.batch_channel: bool | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Built on first use: an aiohttp session belongs to the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=30.0),
                trust_env=False,  # Rasa runs beside the hub: never through a proxy
            )
        return self._session

    async def parse(self, text: str) -> Prediction:
        if self.batch_channel is False:
            return await self._parse_one(text)
        return await self._batching.submit(text)

    async def _post(self, path: str, body: object) -> tuple[Any, float]:
        """Rasa's JSON answer to a POST, and the seconds it took; ``RasaUnavailableError`` on any failure."""
        started = time.perf_counter()
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            async with self._client().post(
                f"{self.base_url}{path}",
                data=payload,
                headers={"Content-Type": "application/json"},
                params=self._params,
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError as exc:
            raise RasaUnavailableError(f"timed out after {time.perf_counter() - started:.2f} s") from exc
        except aiohttp.ClientError as exc:
            raise RasaUnavailableError(f"{type(exc).__name__}: {exc}") from exc
        if status != 200:
            raise RasaUnavailableError(f"{path} answered {status}", status=status)
        try:
            return json.loads(raw), time.perf_counter() - started
        except ValueError as exc:
            raise RasaUnavailableError(f"malformed {path} answer: {exc}") from exc

    async def _parse_one(self, text: str) -> Prediction:
        body, seconds = await self._post("/model/parse", {"text": text})
        return _prediction(text, body, seconds * 1000)

    async def _parse_batch(self, texts: list[str]) -> list[Prediction]:
        if self.batch_channel is False:  # learnt while this batch waited
            return list(await asyncio.gather(*(self._parse_one(t) for t in texts)))
        try:
            body, seconds = await self._post(BATCH_PATH, {"texts": texts})
        except RasaUnavailableError as exc:
            if exc.status != 404:
                raise
            self.batch_channel = False  # an older Rasa set-up: one request a message
            return list(await asyncio.gather(*(self._parse_one(t) for t in texts)))
        self.batch_channel = True
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != len(texts):
            raise RasaUnavailableError(f"malformed {BATCH_PATH} answer: not one result per text")
        # every message of the batch waited for all of it
        return [_prediction(t, r, seconds * 1000) for t, r in zip(texts, results, strict=True)]

    async def is_ready(self) -> bool:
        """True when the server answers ``/status`` with a loaded model."""
        try:
            async with self._client().get(f"{self.base_url}/status", params=self._params) as response:
                if response.status != 200:
                    return False
                body = json.loads(await response.read())
            return isinstance(body, dict) and bool(body.get("model_file"))
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return False

    async def aclose(self) -> None:
        await self._batching.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None
