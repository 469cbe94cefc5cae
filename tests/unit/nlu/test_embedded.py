"""The embedded NLU engine on a small synthetic Thai training set."""

from __future__ import annotations

import datetime as dt
import math
import pickle

import numpy as np
import pytest

from knowledge_base.loader import KnowledgeBase
from knowledge_base.schema import FaqEntry
from nlu.client import CORE_INTENTS, FAQ_INTENT
from nlu.embedded import EmbeddedNlu, knowledge_base_documents
from nlu.examples import Example
from nlu.text_classifier import EngineConfig, TextClassifier, fit_temperature, softmax
from tests.contracts.nlu_contract import EDGE_INPUTS, check_nlu_contract, check_prediction

FAQ_QUESTIONS: dict[str, list[str]] = {
    "name_reservation": [
        "จองชื่อบริษัทยังไงครับ",
        "จองชื่อบริษัทออนไลน์ได้ไหมคะ",
        "วิธีจองชื่อนิติบุคคล",
        "ตรวจสอบชื่อบริษัทซ้ำได้ที่ไหน",
        "อยากจองชื่อห้างหุ้นส่วน ต้องทำยังไง",
        "ขั้นตอนการจองชื่อบริษัท",
    ],
    "financial_statement_deadline": [
        "ส่งงบการเงินภายในวันไหน",
        "ยื่นงบการเงินช้าโดนปรับเท่าไหร่",
        "กำหนดส่งงบการเงินประจำปี",
        "ส่งงบไม่ทันมีค่าปรับไหมคะ",
        "งบการเงินต้องยื่นภายในกี่เดือนหลังปิดบัญชี",
        "ลืมส่งงบการเงิน เสียค่าปรับยังไง",
    ],
    "company_certificate": [
        "ขอหนังสือรับรองบริษัทออนไลน์",
        "หนังสือรับรองนิติบุคคลขอได้ที่ไหน",
        "ค่าธรรมเนียมหนังสือรับรองเท่าไหร่",
        "อยากได้หนังสือรับรองบริษัทแบบอิเล็กทรอนิกส์",
        "ขอหนังสือรับรองผ่านเว็บได้ไหมครับ",
        "หนังสือรับรองบริษัทใช้เวลากี่วัน",
    ],
    "office_hours_walk_in": [
        "กรมเปิดกี่โมงครับ",
        "เวลาทำการของสำนักงาน",
        "วันเสาร์เปิดให้บริการไหม",
        "ต้องนัดล่วงหน้าก่อนไปติดต่อไหม",
        "เข้าไปติดต่อที่สำนักงานได้เลยไหมคะ",
        "สำนักงานปิดกี่โมง",
    ],
}
CORE_QUESTIONS: dict[str, list[str]] = {
    "greet": ["สวัสดีครับ", "สวัสดีค่ะ", "หวัดดีจ้า", "hello", "สวัสดีตอนเช้าค่ะ", "ดีครับ"],
    "thanks": ["ขอบคุณครับ", "ขอบคุณมากค่ะ", "thank you", "ขอบใจจ้า", "ขอบคุณมากๆเลยครับ", "thanks"],
    "request_human": [
        "ขอคุยกับเจ้าหน้าที่",
        "ขอสายเจ้าหน้าที่",
        "อยากคุยกับคนจริงๆ",
        "แอดมินอยู่ไหม",
        "ต่อเจ้าหน้าที่ให้หน่อย",
        "ขอคุยกับพนักงาน",
    ],
    "out_of_scope": [
        "ทำพาสปอร์ตที่ไหน",
        "ต่อภาษีรถยนต์",
        "หวยออกอะไร",
        "พรุ่งนี้ฝนตกไหม",
        "สูตรต้มยำกุ้ง",
        "ผลบอลเมื่อคืน",
    ],
}
EXAMPLES = [Example(q, FAQ_INTENT, faq_id) for faq_id, qs in FAQ_QUESTIONS.items() for q in qs] + [
    Example(q, intent) for intent, qs in CORE_QUESTIONS.items() for q in qs
]
FAQ_IDS = frozenset(FAQ_QUESTIONS)


@pytest.fixture(scope="module")
def engine() -> EmbeddedNlu:
    return EmbeddedNlu.train(EXAMPLES)


class TestTrain:
    def test_one_label_is_refused(self) -> None:
        with pytest.raises(ValueError, match="two labels"):
            EmbeddedNlu.train([Example("สวัสดี", "greet"), Example("หวัดดี", "greet")])

    def test_training_is_deterministic(self, engine: EmbeddedNlu) -> None:
        again = EmbeddedNlu.train(EXAMPLES)
        for text in ("อยากจองชื่อบริษัทใหม่", "ส่งงบช้าจะโดนอะไร", "😀"):
            first, second = engine.parse_sync(text), again.parse_sync(text)
            assert first.intent_ranking == second.intent_ranking
            assert first.faq_ranking == second.faq_ranking

    def test_a_pickled_engine_predicts_the_same(self, engine: EmbeddedNlu) -> None:
        # The hub caches the trained engine as a pickle between restarts.
        restored = pickle.loads(pickle.dumps(engine))
        text = "ขอหนังสือรับรองบริษัทออนไลน์ได้ไหม"
        assert restored.parse_sync(text).faq_ranking == engine.parse_sync(text).faq_ranking

    def test_documents_are_learned_but_do_not_need_questions(self) -> None:
        documents = [Example("ประกาศกรมและการแจ้งเตือนข่าวปลอมมิจฉาชีพ", FAQ_INTENT, "official_information")]
        engine = EmbeddedNlu.train(EXAMPLES, documents=documents)
        assert engine.parse_sync("ข่าวปลอมมิจฉาชีพแอบอ้างกรม").faq_id == "official_information"


class TestParse:
    @pytest.mark.parametrize(
        ("text", "faq_id"),
        [
            ("อยากทราบวิธีจองชื่อบริษัทผ่านเว็บค่ะ", "name_reservation"),
            ("ถ้ายื่นงบการเงินเลยกำหนดต้องเสียค่าปรับไหม", "financial_statement_deadline"),
            ("ขอหนังสือรับรองบริษัทยังไงคะ", "company_certificate"),
            ("สำนักงานเปิดให้บริการกี่โมงถึงกี่โมง", "office_hours_walk_in"),
        ],
    )
    def test_unseen_paraphrase_ranks_the_right_entry_first(
        self, engine: EmbeddedNlu, text: str, faq_id: str
    ) -> None:
        prediction = engine.parse_sync(text)
        assert prediction.intent == FAQ_INTENT
        assert prediction.faq_id == faq_id

    @pytest.mark.parametrize(
        ("text", "intent"),
        [("สวัสดีครับผม", "greet"), ("ขอบคุณมากครับ", "thanks"), ("ขอคุยกับเจ้าหน้าที่ได้ไหม", "request_human")],
    )
    def test_unseen_core_intent_is_recognised(self, engine: EmbeddedNlu, text: str, intent: str) -> None:
        assert engine.parse_sync(text).intent == intent

    def test_intent_ranking_is_a_distribution_over_every_intent(self, engine: EmbeddedNlu) -> None:
        prediction = engine.parse_sync("จองชื่อบริษัทได้ที่ไหน")
        names = {r.name for r in prediction.intent_ranking}
        assert names == {FAQ_INTENT, *CORE_INTENTS}
        assert math.isclose(sum(r.confidence for r in prediction.intent_ranking), 1.0, abs_tol=1e-9)
        assert all(0.0 <= r.confidence <= 1.0 for r in prediction.intent_ranking)

    def test_faq_probabilities_add_up_to_the_faq_intent(self, engine: EmbeddedNlu) -> None:
        prediction = engine.parse_sync("ส่งงบการเงินช้า")
        p_faq = next(r.confidence for r in prediction.intent_ranking if r.name == FAQ_INTENT)
        # four entries, all ranked: their joint probabilities sum to P(faq)
        assert math.isclose(sum(r.confidence for r in prediction.faq_ranking), p_faq, abs_tol=1e-9)
        assert prediction.faq_confidence <= p_faq

    def test_faq_ranking_is_filled_for_a_non_faq_intent(self, engine: EmbeddedNlu) -> None:
        prediction = engine.parse_sync("สวัสดีครับ")
        assert prediction.intent == "greet"
        assert {r.name for r in prediction.faq_ranking} == FAQ_IDS

    def test_faq_ranking_is_cut_to_ten_entries(self) -> None:
        many = [
            Example(f"คำถามเรื่อง หัวข้อ{n} ข้อ{k}", FAQ_INTENT, f"topic_{n}") for n in range(14) for k in range(3)
        ]
        engine = EmbeddedNlu.train(many + [Example(q, "greet") for q in CORE_QUESTIONS["greet"]])
        assert len(engine.parse_sync("หัวข้อ3").faq_ranking) == 10

    def test_off_topic_text_is_not_a_confident_faq(self, engine: EmbeddedNlu) -> None:
        for text in ("qwertyuiop asdf", "😀😀😀", "ราคาทองคำวันนี้"):
            assert engine.parse_sync(text).faq_confidence < 0.5

    def test_in_domain_paraphrase_is_more_confident_than_gibberish(self, engine: EmbeddedNlu) -> None:
        good = engine.parse_sync("จองชื่อบริษัทออนไลน์ทำยังไง").faq_confidence
        assert good > engine.parse_sync("zxcv bnm").faq_confidence

    @pytest.mark.parametrize("text", EDGE_INPUTS, ids=lambda t: f"len{len(t)}")
    def test_edge_input_gives_a_valid_prediction(self, engine: EmbeddedNlu, text: str) -> None:
        check_prediction(engine.parse_sync(text), text, FAQ_IDS)

    def test_fast_path_equals_batch_path(self, engine: EmbeddedNlu) -> None:
        texts = ["จองชื่อบริษัท", "ส่งงบ การเงิน ช้า", "", "ขอบคุณค่ะ 🙏", "ก" * 5000]
        batch = engine.classifier.predict_proba(texts)
        one_by_one = np.vstack([engine.classifier.predict_proba_one(t) for t in texts])
        np.testing.assert_allclose(one_by_one, batch, atol=1e-12)

    def test_parse_is_deterministic(self, engine: EmbeddedNlu) -> None:
        first, second = engine.parse_sync("หนังสือรับรอง"), engine.parse_sync("หนังสือรับรอง")
        assert (first.intent_ranking, first.faq_ranking) == (second.intent_ranking, second.faq_ranking)

    async def test_nlu_client_contract(self, engine: EmbeddedNlu) -> None:
        await check_nlu_contract(
            engine,
            expected={"จองชื่อบริษัทยังไงคะ": "faq/name_reservation", "สวัสดีค่ะ": "greet"},
            known_faq_ids=FAQ_IDS,
        )
        assert engine.name == "embedded"
        await engine.aclose()


class TestCalibration:
    def test_temperature_fit_recovers_the_true_temperature(self) -> None:
        rng = np.random.default_rng(0)
        scores = rng.normal(0.0, 3.0, size=(4000, 6))
        probs = softmax(scores, 2.0)
        truth = np.array([rng.choice(6, p=row) for row in probs])
        assert fit_temperature(scores, truth) == pytest.approx(2.0, rel=0.1)

    def test_confidence_matches_accuracy_on_a_noisy_task(self) -> None:
        # One keyword decides the label, 30% of labels are replaced at random: accuracy is ~0.7,
        # so a calibrated model's mean confidence on fresh texts is ~0.7, not ~1.0.
        rng = np.random.default_rng(0)
        train_texts, train_labels = _noisy_animals(rng, 600)
        test_texts, test_labels = _noisy_animals(rng, 600)
        classifier = TextClassifier.fit(train_texts, train_labels, EngineConfig(calibration_folds=3))
        probs = classifier.predict_proba(test_texts)
        accuracy = float(
            np.mean(np.asarray(classifier.classes)[probs.argmax(axis=1)] == np.asarray(test_labels))
        )
        assert abs(float(probs.max(axis=1).mean()) - accuracy) < 0.1


def _noisy_animals(rng: np.random.Generator, n: int, noise: float = 0.3) -> tuple[list[str], list[str]]:
    keys = {"a": "แมว", "b": "หมา", "c": "นก", "d": "ปลา"}
    fillers = [
        "ตัว",
        "ใหญ่",
        "เล็ก",
        "สีดำ",
        "สีขาว",
        "น่ารัก",
        "ดุ",
        "วิ่ง",
        "นอน",
        "กิน",
        "ข้าว",
        "บ้าน",
        "สวน",
        "ถนน",
        "เช้า",
        "เย็น",
        "วันนี้",
        "เมื่อวาน",
    ]
    texts, labels = [], []
    for _ in range(n):
        label = str(rng.choice(list(keys)))
        words = [keys[label], *(str(w) for w in rng.choice(fillers, size=2, replace=False))]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label if rng.random() > noise else str(rng.choice([k for k in keys if k != label])))
    return texts, labels


def test_knowledge_base_documents_are_titles_and_answers() -> None:
    entry = FaqEntry(
        id="name_reservation",
        department="registration",
        title="จองชื่อบริษัท",
        answer="จองชื่อได้ในระบบ e-Registration ค่ะ",
        source_url="https://e-regis.dbd.go.th/",
        reviewed_at=dt.date(2026, 1, 1),
        questions=["จองชื่อยังไง"],
    )
    kb = KnowledgeBase(departments={}, entries={entry.id: entry}, fingerprint="x")
    documents = knowledge_base_documents(kb)
    assert [d.text for d in documents] == [entry.title, entry.answer]
    assert {d.label for d in documents} == {"faq/name_reservation"}
