"""The local-first cascade: the embedded engine's sure answers stand, the rest goes to Rasa."""

from __future__ import annotations

import pytest

from nlu.cascade import LocalFirstNlu
from nlu.client import Prediction
from nlu.embedded import EmbeddedNlu
from nlu.resilient import FailoverNlu, NluBackendError
from nlu.swappable import SwappableNlu
from tests.unit.nlu.test_embedded import EXAMPLES


class Remote:
    """Rasa's stand-in: counts what reaches it, and can be down."""

    name = "rasa"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.down = False

    async def parse(self, text: str) -> Prediction:
        self.texts.append(text)
        if self.down:
            raise NluBackendError("rasa is down")
        return Prediction(text=text, intent="greet", confidence=0.9, engine=self.name)

    async def is_ready(self) -> bool:
        return not self.down

    async def aclose(self) -> None:
        return None


@pytest.fixture(scope="module")
def engine() -> EmbeddedNlu:
    return EmbeddedNlu.train(EXAMPLES, encoder=None)


@pytest.fixture
def remote() -> Remote:
    return Remote()


def cascade(engine: EmbeddedNlu, remote: Remote, sure_at: float) -> LocalFirstNlu:
    local = SwappableNlu(engine)
    return LocalFirstNlu(local, FailoverNlu(primary=remote, fallback=local), sure_at)


def top_probability(engine: EmbeddedNlu, text: str) -> float:
    return float(engine.classifier.predict_proba_one(text).max())


async def test_a_sure_answer_never_reaches_rasa(engine: EmbeddedNlu, remote: Remote) -> None:
    text = "จองชื่อบริษัทยังไงครับ"  # a training question
    sure_at = top_probability(engine, text) - 0.01
    prediction = await cascade(engine, remote, sure_at).parse(text)
    assert remote.texts == []
    assert (prediction.engine, prediction.faq_id) == ("embedded", "name_reservation")
    assert prediction.faq_ranking == engine.parse_sync(text).faq_ranking


async def test_an_unsure_message_goes_to_rasa(engine: EmbeddedNlu, remote: Remote) -> None:
    text = "จองชื่อบริษัทยังไงครับ"
    sure_at = top_probability(engine, text) + 0.001
    prediction = await cascade(engine, remote, sure_at).parse(text)
    assert remote.texts == [text]
    assert prediction.engine == "rasa"


async def test_above_one_rasa_parses_everything(engine: EmbeddedNlu, remote: Remote) -> None:
    nlu = cascade(engine, remote, 1.01)
    texts = [example.text for example in EXAMPLES[:5]]
    for text in texts:
        await nlu.parse(text)
    assert remote.texts == texts


async def test_with_rasa_down_an_unsure_message_still_gets_the_embedded_answer(
    engine: EmbeddedNlu, remote: Remote
) -> None:
    remote.down = True
    nlu = cascade(engine, remote, 1.01)
    prediction = await nlu.parse("จองชื่อบริษัทยังไงครับ")
    assert prediction.engine == "embedded"
    assert "rasa failed" in str(prediction.extra["degraded_reason"])
    assert await nlu.is_ready()  # the fallback can answer


def test_parse_if_sure_says_nothing_below_the_threshold_and_embeds_nothing(engine: EmbeddedNlu) -> None:
    text = "กรมเปิดกี่โมงครับ"
    probability = top_probability(engine, text)
    assert engine.parse_if_sure(text, probability + 0.001) is None
    sure = engine.parse_if_sure(text, probability)
    assert sure is not None and sure.confidence == engine.parse_sync(text).confidence
