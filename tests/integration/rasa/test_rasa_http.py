"""RasaHttpNlu against a really trained and served Rasa model with the Thai tokenizer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from nlu.client import CORE_INTENTS, FALLBACK_INTENT, FAQ_INTENT
from nlu.rasa_http import BATCH_PATH, RasaHttpNlu
from nlu.rasa_runner import RasaServer

pytestmark = [pytest.mark.rasa, pytest.mark.timeout(900)]
# The final answer for it is request_human at about 0.64: the sparse model alone is far from sure.
UNSURE_TEXT = "ช่วยด้วยค่ะ"


class TestParse:
    async def test_an_faq_question_is_answered_with_its_knowledge_base_entry(
        self, rasa_client: RasaHttpNlu
    ) -> None:
        prediction = await rasa_client.parse("จดทะเบียนบริษัทออนไลน์ได้ไหม")
        assert prediction.intent == FAQ_INTENT
        assert prediction.faq_id == "company_registration_online"
        assert prediction.engine == "rasa"

    async def test_asking_for_a_person_is_request_human(self, rasa_client: RasaHttpNlu) -> None:
        prediction = await rasa_client.parse("ขอคุยกับเจ้าหน้าที่")
        assert prediction.intent == "request_human"
        assert prediction.confidence > 0.5

    async def test_emphasis_and_thai_digits_are_normalised_before_classification(
        self, rasa_client: RasaHttpNlu
    ) -> None:
        plain = await rasa_client.parse("ขอบคุณครับ")
        emphatic = await rasa_client.parse("ขอบคุณครับบบบบ")
        assert plain.intent == emphatic.intent == "thanks"
        assert emphatic.confidence == pytest.approx(plain.confidence, abs=1e-6)

    async def test_faq_ranking_lists_knowledge_base_ids_best_first(
        self, rasa_client: RasaHttpNlu, faq_ids: set[str]
    ) -> None:
        prediction = await rasa_client.parse("ขอหนังสือรับรองบริษัทออนไลน์ได้ไหมคะ")
        names = [r.name for r in prediction.faq_ranking]
        confidences = [r.confidence for r in prediction.faq_ranking]
        assert len(names) >= 3 and set(names) <= faq_ids
        assert confidences == sorted(confidences, reverse=True)
        assert prediction.faq_id == "company_certificate"
        # joint P(faq and entry): never above the intent's own confidence
        assert prediction.faq_confidence <= prediction.confidence + 1e-9

    async def test_the_intent_is_always_one_the_hub_knows(self, rasa_client: RasaHttpNlu) -> None:
        for text in ["สวัสดีค่ะ", "หวยงวดนี้ออกอะไร", "อยากร้องเรียนเจ้าหน้าที่", "???"]:
            prediction = await rasa_client.parse(text)
            assert prediction.intent in {FAQ_INTENT, FALLBACK_INTENT, *CORE_INTENTS}
            assert 0.0 <= prediction.confidence <= 1.0

    async def test_the_callers_text_is_kept_exactly(self, rasa_client: RasaHttpNlu) -> None:
        text = "  จองชื่อบริษัท  ยังไงคะะะ "
        assert (await rasa_client.parse(text)).text == text

    async def test_concurrent_messages_share_the_pooled_client(self, rasa_client: RasaHttpNlu) -> None:
        texts = ["จองชื่อบริษัทยังไง", "ส่งงบการเงินออนไลน์", "ขอคุยกับเจ้าหน้าที่", "สวัสดีครับ"] * 5
        predictions = await asyncio.gather(*(rasa_client.parse(t) for t in texts))
        assert [p.text for p in predictions] == texts
        assert all(p.engine == "rasa" for p in predictions)

    async def test_the_server_is_ready(self, rasa_client: RasaHttpNlu) -> None:
        assert await rasa_client.is_ready()


def _token(server: RasaServer) -> dict[str, str]:
    return {"token": server.auth_token}


class TestRasaApiNeedsTheToken:
    """Rasa's HTTP API can replace the model: nobody without the token may use it (issue 25, 11)."""

    def test_without_the_token_nothing_is_parsed_nor_replaced(self, ensure_serving: RasaServer) -> None:
        parse = httpx.post(f"{ensure_serving.url}/model/parse", json={"text": "สวัสดี"}, timeout=30)
        replace = httpx.put(
            f"{ensure_serving.url}/model", json={"model_file": "/tmp/evil.tar.gz"}, timeout=30
        )
        wrong = httpx.get(f"{ensure_serving.url}/status", params={"token": "guess"}, timeout=30)
        assert (parse.status_code, replace.status_code, wrong.status_code) == (401, 401, 401)

    def test_the_batch_channel_parses_nothing_without_the_token(self, ensure_serving: RasaServer) -> None:
        url = f"{ensure_serving.url}{BATCH_PATH}"
        without = httpx.post(url, json={"texts": ["สวัสดี"]}, timeout=30)
        wrong = httpx.post(url, json={"texts": ["สวัสดี"]}, params={"token": "guess"}, timeout=30)
        assert (without.status_code, wrong.status_code) == (401, 401)

    async def test_a_client_without_the_token_is_never_ready(self, ensure_serving: RasaServer) -> None:
        without = RasaHttpNlu(ensure_serving.url)
        try:
            assert not await without.is_ready()
        finally:
            await without.aclose()


class TestThaiTokenizerInRasa:
    def test_token_offsets_point_into_the_original_message(self, ensure_serving: RasaServer) -> None:
        text = "สวัสดีครับบบ  ขอเอกสาร ๕ ฉบับ"
        body = httpx.post(
            f"{ensure_serving.url}/model/parse",
            json={"text": text},
            params=_token(ensure_serving),
            timeout=30,
        ).json()
        pieces = [text[start:end] for start, end in body["text_tokens"]]
        assert pieces == ["สวัสดี", "ครับบบ", "ขอ", "เอกสาร", "๕", "ฉบับ"]

    def test_the_response_selector_answers_in_rasas_own_shape(self, ensure_serving: RasaServer) -> None:
        body = httpx.post(
            f"{ensure_serving.url}/model/parse",
            json={"text": "จองชื่อบริษัทยังไงคะ"},
            params=_token(ensure_serving),
            timeout=30,
        ).json()
        selector = body["response_selector"]
        assert selector["all_retrieval_intents"] == [FAQ_INTENT]
        response = selector[FAQ_INTENT]["response"]
        assert response["intent_response_key"] == "faq/name_reservation"
        assert response["utter_action"] == "utter_faq/name_reservation"
        assert response["responses"][0]["text"]


def _parse_one(server: RasaServer, text: str) -> dict[str, object]:
    body: dict[str, object] = httpx.post(
        f"{server.url}/model/parse", json={"text": text}, params=_token(server), timeout=30
    ).json()
    return body


class TestBatchChannel:
    """Many texts a request (nlu/rasa_project/batch_channel.py): the NLU graph runs once over them."""

    TEXTS = ("จองชื่อบริษัทยังไงคะ", "ขอคุยกับเจ้าหน้าที่", "how to get หนังสือรับรอง online", "???", "ขอบคุณครับ")

    def test_each_text_gets_what_model_parse_answers_in_order(self, ensure_serving: RasaServer) -> None:
        answer = httpx.post(
            f"{ensure_serving.url}{BATCH_PATH}",
            json={"texts": self.TEXTS},
            params=_token(ensure_serving),
            timeout=60,
        )
        assert answer.status_code == 200
        results = answer.json()["results"]
        assert [r["text"] for r in results] == list(self.TEXTS)
        for result in results:
            single = _parse_one(ensure_serving, result["text"])
            assert result["intent"] == single["intent"]
            assert result["response_selector"] == single["response_selector"]

    @pytest.mark.parametrize("body", [{"texts": []}, {"texts": "สวัสดี"}, {"text": "สวัสดี"}, {"texts": [1]}])
    def test_a_malformed_request_is_refused_with_a_reason(
        self, ensure_serving: RasaServer, body: dict[str, object]
    ) -> None:
        answer = httpx.post(
            f"{ensure_serving.url}{BATCH_PATH}", json=body, params=_token(ensure_serving), timeout=30
        )
        assert answer.status_code == 400 and answer.json()["error"]

    async def test_the_hubs_client_sends_concurrent_messages_through_it(
        self, rasa_client: RasaHttpNlu
    ) -> None:
        predictions = await asyncio.gather(*(rasa_client.parse(t) for t in self.TEXTS))
        assert [p.text for p in predictions] == list(self.TEXTS)
        assert predictions[0].faq_id == "name_reservation" and predictions[1].intent == "request_human"
        assert rasa_client.batch_channel is True


class TestDenseFeaturesOnlyWhereUnsure:
    """The e5 embedding is computed only for messages the sparse model is unsure of (cascade.py)."""

    def test_a_question_the_model_is_sure_of_is_not_embedded(self, ensure_serving: RasaServer) -> None:
        body = _parse_one(ensure_serving, "จดทะเบียนบริษัทออนไลน์ได้ไหม")
        assert "e5_embedded" not in body

    def test_an_unsure_message_is_embedded(self, ensure_serving: RasaServer) -> None:
        body = _parse_one(ensure_serving, UNSURE_TEXT)
        assert body["e5_embedded"] is True
