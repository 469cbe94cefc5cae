"""RasaHttpNlu's mapping of /model/parse and its errors, against Rasa servers on loopback."""

from __future__ import annotations

import json

import aiohttp
import pytest

from nlu.rasa_http import RasaHttpNlu, RasaUnavailableError, prediction_from_parse
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
