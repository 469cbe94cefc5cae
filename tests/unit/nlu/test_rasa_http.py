"""RasaHttpNlu's mapping of /model/parse and its errors, against Rasa servers on loopback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from nlu.rasa_http import BATCH_PATH, RasaHttpNlu, RasaUnavailableError, prediction_from_parse
from nlu.resilient import NluBackendError
from tests.conftest import free_port
from tests.fakes.rasa_api import ScriptedRasa, SlowRasa, as_json

PARSE = {
    "text": "จองชื่อบริษัทยังไงคะ",
    "intent": {"name": "faq", "confidence": 0.9},
    "intent_ranking": [{"name": "faq", "confidence": 0.9}, {"name": "greet", "confidence": 0.1}],
    "response_selector": {
        "all_retrieval_intents": ["faq"],
        "faq": {
            "response": {"intent_response_key": "faq/name_reservation", "confidence": 0.8},
            "ranking": [
                {"id": 2, "intent_response_key": "faq/name_reservation_expiry", "confidence": 0.2},
                {"id": 1, "intent_response_key": "faq/name_reservation", "confidence": 0.8},
            ],
        },
    },
}


class TestPredictionFromParse:
    def test_maps_intent_and_ranking(self) -> None:
        prediction = prediction_from_parse(PARSE)
        assert prediction.intent == "faq"
        assert prediction.confidence == 0.9
        assert [r.name for r in prediction.intent_ranking] == ["faq", "greet"]
        assert prediction.engine == "rasa"

    def test_faq_ranking_is_best_first_with_joint_confidences(self) -> None:
        ranking = prediction_from_parse(PARSE).faq_ranking
        assert [r.name for r in ranking] == ["name_reservation", "name_reservation_expiry"]
        assert ranking[0].confidence == pytest.approx(0.9 * 0.8)
        assert ranking[1].confidence == pytest.approx(0.9 * 0.2)

    def test_the_selectors_best_response_stands_in_for_a_missing_ranking(self) -> None:
        body = json.loads(json.dumps(PARSE))
        del body["response_selector"]["faq"]["ranking"]
        assert prediction_from_parse(body).faq_id == "name_reservation"

    def test_no_response_selector_means_no_faq_ranking(self) -> None:
        body = {"text": "สวัสดี", "intent": {"name": "greet", "confidence": 0.97}, "intent_ranking": []}
        prediction = prediction_from_parse(body)
        assert prediction.faq_ranking == ()
        assert prediction.faq_id is None

    def test_a_missing_intent_reads_as_fallback(self) -> None:
        assert prediction_from_parse({"text": "x", "intent": None}).intent == "nlu_fallback"


class TestParse:
    async def test_posts_the_text_to_model_parse(self) -> None:
        with ScriptedRasa(lambda path, body: (200, as_json(PARSE))) as rasa:
            client = RasaHttpNlu(rasa.url)
            prediction = await client.parse("จองชื่อบริษัทยังไงคะ")
            await client.aclose()
        assert rasa.requests == [("/model/parse", {"text": "จองชื่อบริษัทยังไงคะ"})]
        assert prediction.faq_id == "name_reservation"
        assert prediction.latency_ms >= 0

    @pytest.mark.parametrize(
        "answer",
        [(500, b"boom"), (200, b"not json"), (200, b"[1]")],
        ids=["server error", "not JSON", "not an object"],
    )
    async def test_bad_answers_raise_an_unavailable_error(self, answer: tuple[int, bytes]) -> None:
        with ScriptedRasa(lambda path, body: answer) as rasa:
            client = RasaHttpNlu(rasa.url)
            with pytest.raises(RasaUnavailableError):
                await client.parse("สวัสดี")
            await client.aclose()

    async def test_a_timeout_raises_an_unavailable_error_the_breaker_understands(self) -> None:
        with SlowRasa(delay=5.0) as rasa:
            client = RasaHttpNlu(rasa.url, timeout=aiohttp.ClientTimeout(total=0.2))
            with pytest.raises(NluBackendError, match="timed out"):
                await client.parse("สวัสดี")
            await client.aclose()

    async def test_a_refused_connection_raises_an_unavailable_error(self) -> None:
        client = RasaHttpNlu(f"http://127.0.0.1:{free_port()}")  # nobody listens there
        with pytest.raises(RasaUnavailableError, match="Connector"):
            await client.parse("สวัสดี")
        await client.aclose()


def _batch_answer(path: str, body: Any) -> tuple[int, bytes]:
    """Rasa with our batch channel: one result per text, each naming its text."""
    results = [
        {**PARSE, "text": text, "intent": {"name": "greet", "confidence": 0.5}} for text in body["texts"]
    ]
    return 200, as_json({"results": results})


class TestBatchChannel:
    async def test_concurrent_parses_share_requests_and_each_gets_its_own_result(self) -> None:
        texts = [f"สวัสดี {i}" for i in range(10)]
        with ScriptedRasa(_batch_answer, batch=True) as rasa:
            client = RasaHttpNlu(rasa.url)
            predictions = await asyncio.gather(*(client.parse(t) for t in texts))
            await client.aclose()
        assert [p.text for p in predictions] == texts
        assert all(p.intent == "greet" and p.faq_id == "name_reservation" for p in predictions)
        sent = [text for path, body in rasa.requests if path == BATCH_PATH for text in body["texts"]]
        assert sorted(sent) == sorted(texts)
        assert len(rasa.requests) < len(texts)  # two go alone (nothing in flight), the rest together
        assert client.batch_channel is True

    async def test_a_rasa_without_the_batch_channel_is_asked_one_message_a_request(self) -> None:
        with ScriptedRasa(lambda path, body: (200, as_json(PARSE))) as rasa:
            client = RasaHttpNlu(rasa.url)
            await asyncio.gather(client.parse("ก"), client.parse("ข"), client.parse("ค"))
            tried = rasa.calls["batch_not_found"]
            await client.parse("ง")
            await client.aclose()
        assert client.batch_channel is False
        assert sorted(body["text"] for _, body in rasa.requests) == ["ก", "ข", "ค", "ง"]
        assert {path for path, _ in rasa.requests} == {"/model/parse"}
        assert rasa.calls["batch_not_found"] == tried  # once known, never tried again

    @pytest.mark.parametrize(
        "answer",
        [(200, as_json({"results": []})), (200, as_json({"results": [1]})), (401, b"{}")],
        ids=["too few results", "not an object", "refused"],
    )
    async def test_a_bad_batch_answer_raises_an_unavailable_error(self, answer: tuple[int, bytes]) -> None:
        with ScriptedRasa(lambda path, body: answer, batch=True) as rasa:
            client = RasaHttpNlu(rasa.url)
            with pytest.raises(RasaUnavailableError):
                await client.parse("สวัสดี")
            await client.aclose()


class TestIsReady:
    async def test_ready_when_status_names_a_model(self) -> None:
        with ScriptedRasa(lambda path, body: (200, as_json({"model_file": "m.tar.gz"}))) as rasa:
            client = RasaHttpNlu(rasa.url)
            assert await client.is_ready()
            await client.aclose()

    async def test_not_ready_without_a_model_or_a_server(self) -> None:
        with ScriptedRasa(lambda path, body: (200, as_json({"model_file": None}))) as rasa:
            client = RasaHttpNlu(rasa.url)
            assert not await client.is_ready()
            await client.aclose()
        down = RasaHttpNlu(f"http://127.0.0.1:{free_port()}")
        assert not await down.is_ready()
        await down.aclose()


def test_the_client_uses_a_short_explicit_timeout() -> None:
    client = RasaHttpNlu("http://rasa.test")
    assert client.timeout.total is not None and client.timeout.total <= 2.0
    assert client.timeout.connect is not None and client.timeout.connect <= 1.0
