"""The ``NluClient`` contract, as checks any backend's tests can run (embedded, Rasa, failover).

    from tests.contracts.nlu_contract import check_nlu_contract
    await check_nlu_contract(client, expected={"จองชื่อบริษัทยังไง": "faq/name_reservation"})

Each check raises ``AssertionError`` with a message naming the input and the broken rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from nlu.client import CORE_INTENTS, FALLBACK_INTENT, FAQ_INTENT, NluClient, Prediction, Ranked

ALLOWED_INTENTS = frozenset({FAQ_INTENT, FALLBACK_INTENT, *CORE_INTENTS})
MAX_FAQ_RANKING = 10
TOLERANCE = 1e-6

# Inputs every backend must survive: nothing, whitespace, emoji only, digits, Latin, over-long text.
EDGE_INPUTS: tuple[str, ...] = (
    "",
    "   \n\t",
    "😀🙏👍",
    "๑๒๓๔๕",
    "hello",
    "ครับบบบบบบบ",
    "จดทะเบียนบริษัท" * 700,  # 10,500 characters
)
PROBES: tuple[str, ...] = (
    "สวัสดีครับ",
    "จองชื่อบริษัทยังไงคะ",
    "ขอคุยกับเจ้าหน้าที่หน่อยครับ",
    "พรุ่งนี้ฝนตกไหม",
    "ขอบคุณมากค่ะ",
)


def _is_probability(value: float) -> bool:
    return isinstance(value, float | int) and math.isfinite(value) and -TOLERANCE <= value <= 1 + TOLERANCE


def _check_ranking(ranking: Sequence[Ranked], what: str, text: str) -> None:
    where = f"{what} of {text[:40]!r}"
    assert all(isinstance(r, Ranked) for r in ranking), f"{where}: entries must be Ranked"
    names = [r.name for r in ranking]
    assert len(names) == len(set(names)), f"{where}: duplicate names {names}"
    assert all(isinstance(r.name, str) and r.name for r in ranking), f"{where}: empty name"
    assert all(_is_probability(r.confidence) for r in ranking), f"{where}: confidence outside [0, 1]"
    confidences = [r.confidence for r in ranking]
    assert confidences == sorted(confidences, reverse=True), f"{where}: not sorted best first"
    assert sum(confidences) <= 1 + TOLERANCE, f"{where}: confidences sum to {sum(confidences)} > 1"


def check_prediction(prediction: Prediction, text: str, known_faq_ids: frozenset[str] | None = None) -> None:
    """The shape and invariants of one ``Prediction``."""
    where = f"prediction of {text[:40]!r}"
    assert isinstance(prediction, Prediction), f"{where}: got {type(prediction).__name__}"
    assert prediction.text == text, f"{where}: text not echoed"
    assert prediction.intent in ALLOWED_INTENTS, f"{where}: unknown intent {prediction.intent!r}"
    assert _is_probability(prediction.confidence), f"{where}: confidence {prediction.confidence}"
    assert isinstance(prediction.engine, str) and prediction.engine, f"{where}: engine not named"
    assert prediction.latency_ms >= 0, f"{where}: negative latency"
    _check_ranking(prediction.intent_ranking, "intent_ranking", text)
    _check_ranking(prediction.faq_ranking, "faq_ranking", text)
    assert len(prediction.faq_ranking) <= MAX_FAQ_RANKING, f"{where}: more than {MAX_FAQ_RANKING} FAQ ids"
    by_name = {r.name: r.confidence for r in prediction.intent_ranking}
    if prediction.intent in by_name:
        assert math.isclose(by_name[prediction.intent], prediction.confidence, abs_tol=TOLERANCE), (
            f"{where}: confidence differs from the intent's ranking entry"
        )
    if prediction.intent != FALLBACK_INTENT and prediction.intent_ranking:
        assert prediction.intent_ranking[0].name == prediction.intent, f"{where}: intent is not ranked first"
    if prediction.intent == FAQ_INTENT:
        assert prediction.faq_ranking, f"{where}: intent faq without an FAQ ranking"
    if known_faq_ids is not None:
        unknown = {r.name for r in prediction.faq_ranking} - known_faq_ids
        assert not unknown, f"{where}: unknown FAQ ids {sorted(unknown)}"


async def check_nlu_contract(
    client: NluClient,
    probes: Sequence[str] = PROBES,
    expected: Mapping[str, str] | None = None,
    known_faq_ids: frozenset[str] | None = None,
) -> None:
    """Readiness, every probe and edge input well formed and stable, ``expected`` labels ranked first.

    ``expected`` maps a text to ``faq/<id>`` or an intent name.
    """
    assert isinstance(client.name, str) and client.name, "client.name must be a non-empty string"
    assert await client.is_ready() is True, f"{client.name}: is_ready() must be True once trained/serving"
    for text in (*probes, *EDGE_INPUTS, *(expected or {})):
        first = await client.parse(text)
        check_prediction(first, text, known_faq_ids)
        again = await client.parse(text)
        assert (again.intent, again.faq_id) == (first.intent, first.faq_id), f"{text[:40]!r}: not stable"
        assert math.isclose(again.confidence, first.confidence, abs_tol=1e-6), f"{text[:40]!r}: not stable"
    for text, label in (expected or {}).items():
        prediction = await client.parse(text)
        got = f"faq/{prediction.faq_id}" if label.startswith("faq/") else prediction.intent
        assert got == label, f"{text!r}: expected {label} first, got {got}"
