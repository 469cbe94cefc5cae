"""``RasaHttpNlu``: the Rasa NLU server as an ``NluClient`` (``POST {RASA_URL}/model/parse``).

One pooled ``httpx.AsyncClient`` with a short explicit timeout, closed by ``aclose`` (the
hub's lifespan). Any transport error, timeout, non-200 answer or malformed body raises
``RasaUnavailableError`` so ``FailoverNlu`` can switch to the embedded engine.

Rasa's answer (trimmed)::

    {"text": "...", "intent": {"name": "faq", "confidence": 0.93},
     "intent_ranking": [{"name": "faq", "confidence": 0.93}, ...],
     "response_selector": {"all_retrieval_intents": ["faq"],
        "faq": {"response": {"intent_response_key": "faq/name_reservation", "confidence": 0.87, ...},
                "ranking": [{"intent_response_key": "faq/name_reservation", "confidence": 0.87}, ...]}}}
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import httpx

from nlu.client import FALLBACK_INTENT, FAQ_INTENT, Prediction, Ranked
from nlu.resilient import NluBackendError

ENGINE = "rasa"
# Rasa answers a parse in milliseconds; anything slower is a sick server, fail over fast.
DEFAULT_TIMEOUT = httpx.Timeout(1.5, connect=0.5, pool=0.5)
DEFAULT_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=16, keepalive_expiry=30.0)


class RasaUnavailableError(NluBackendError):
    """Rasa could not give a usable answer."""


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


class RasaHttpNlu:
    """``NluClient`` over a Rasa server's HTTP API."""

    name = ENGINE

    def __init__(
        self,
        base_url: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, limits=limits, transport=transport
        )

    async def parse(self, text: str) -> Prediction:
        started = time.perf_counter()
        try:
            response = await self._client.post("/model/parse", json={"text": text})
        except httpx.TimeoutException as exc:
            raise RasaUnavailableError(f"timed out after {time.perf_counter() - started:.2f} s") from exc
        except httpx.HTTPError as exc:
            raise RasaUnavailableError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise RasaUnavailableError(f"/model/parse answered {response.status_code}")
        try:
            body = response.json()
            if not isinstance(body, dict):
                raise TypeError("not a JSON object")
            prediction = prediction_from_parse(body, (time.perf_counter() - started) * 1000)
        except (ValueError, TypeError, AttributeError) as exc:
            raise RasaUnavailableError(f"malformed /model/parse answer: {exc}") from exc
        # Rasa echoes the text it parsed; keep the caller's exact text
        return prediction if prediction.text == text else dataclasses.replace(prediction, text=text)

    async def is_ready(self) -> bool:
        """True when the server answers ``/status`` with a loaded model."""
        try:
            response = await self._client.get("/status")
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError, AttributeError):
            return False

    async def aclose(self) -> None:
        await self._client.aclose()
