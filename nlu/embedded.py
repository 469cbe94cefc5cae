"""The in-process NLU engine: the default without ``RASA_URL`` and the fallback when Rasa fails.

Trained at start-up from the same examples as Rasa (``nlu.examples``), plus the entries' titles
and answers, in a second or two for the knowledge base. One ``TextClassifier`` (calibrated TF-IDF
+ linear SVM, ``nlu.text_classifier``) scores one flat label per FAQ entry (``faq/<id>``) and per
core intent. Hence:

- ``P(faq)`` is the sum over the ``faq/*`` labels; each other intent is its own label;
- each ``faq_ranking`` confidence is the joint ``P(intent = faq and entry = id)``: the probability
  that answering this entry is right, which is what the policy's answer threshold needs.

With a sentence encoder (``nlu.encoder``, multilingual-e5-small by default) a second classifier
is trained on the same labels with the embedding beside the sparse features. It runs as a
cascade: the sparse model answers alone when it is sure (top label at or above
``cascade_below``); otherwise the message is embedded and the combined model decides. Concurrent
``parse`` calls that need the encoder are embedded together in one call (a worker's batch).

The engine never decides to fall back: it always reports its best intent (see ``nlu.client``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from knowledge_base.loader import KnowledgeBase
from nlu.client import CORE_INTENTS, FAQ_INTENT, Prediction, Ranked
from nlu.encoder import Encoder, cached_encode, encoder_spec, load_encoder
from nlu.examples import Example, load_training_examples
from nlu.text_classifier import EngineConfig, FloatArray, TextClassifier
from nlu.thai_text import normalize

FAQ_PREFIX = "faq/"
# Part of any cache key for a trained engine (with the training texts): bump when training changes.
# The encoder setting is part of it: pointing GOVCHAT_ENCODER elsewhere retrains.
ENGINE_VERSION = f"tfidf-svm-1+dense-2:{encoder_spec()}"
# The sparse model's top probability at or above which the encoder is skipped. On the held-out sets
# (benchmarks/nlu_dense.py) 0.8 keeps every gain of embedding every message (Thai FAQ top-1 0.989
# against 0.971 sparse alone, English 1.000 against 0.857) while embedding 16% of messages; 0.7
# loses English accuracy.
DEFAULT_CASCADE_BELOW = 0.8

_shared_encoders: dict[str, Encoder | None] = {}


def shared_encoder(spec: str | None = None) -> Encoder | None:
    """The process's encoder for ``spec`` (default ``$GOVCHAT_ENCODER``): loaded and checked once."""
    key = encoder_spec(spec)
    if key not in _shared_encoders:
        _shared_encoders[key] = load_encoder(key)
    return _shared_encoders[key]


def knowledge_base_documents(kb: KnowledgeBase) -> list[Example]:
    """Each entry's title and answer as extra FAQ training text.

    They name the entry's subject in the agency's own words; in cross-validation on the knowledge
    base they raise FAQ accuracy by a few points over the questions alone.
    """
    return [
        Example(text=text, intent=FAQ_INTENT, faq_id=entry.id)
        for entry in kb.entries.values()
        for text in (entry.title, entry.answer)
    ]


def embedded_trainer(documents: Sequence[Example] = ()) -> Callable[[Sequence[Example]], EmbeddedNlu]:
    """A ``nlu.evaluate.Trainer`` for the embedded engine, with the same extra documents in every fold."""

    def train(examples: Sequence[Example]) -> EmbeddedNlu:
        return EmbeddedNlu.train(examples, documents=documents)

    return train


class EmbeddedNlu:
    """``NluClient`` over a ``TextClassifier`` trained on flat labels (``faq/<id>`` and core intents)."""

    name = "embedded"

    def __init__(
        self,
        classifier: TextClassifier,
        training_seconds: float = 0.0,
        dense: TextClassifier | None = None,
        encoder: Encoder | None = None,
        cascade_below: float | None = DEFAULT_CASCADE_BELOW,
        encoder_spec_: str | None = None,
    ) -> None:
        self.classifier = classifier
        self.training_seconds = training_seconds
        if dense is not None and (encoder is None or dense.classes != classifier.classes):
            raise ValueError("a dense classifier needs its encoder and the sparse classifier's labels")
        self.dense = dense
        self.encoder = encoder
        self._encoder_spec = encoder_spec_
        #: None: always use the dense model (when there is one).
        self.cascade_below = cascade_below
        self._pending: list[tuple[int, asyncio.Future[FloatArray]]] = []
        self._pending_texts: list[str] = []
        classes = classifier.classes
        self._faq_columns = np.array([i for i, c in enumerate(classes) if c.startswith(FAQ_PREFIX)])
        self._faq_ids = tuple(c.removeprefix(FAQ_PREFIX) for c in classes if c.startswith(FAQ_PREFIX))
        self._intents = (FAQ_INTENT, *CORE_INTENTS)
        self._intent_columns = {intent: classes.index(intent) for intent in CORE_INTENTS if intent in classes}

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        config: EngineConfig | None = None,
        documents: Sequence[Example] = (),
        encoder: Encoder | None = None,
        cascade_below: float | None = DEFAULT_CASCADE_BELOW,
    ) -> EmbeddedNlu:
        """Train on ``examples`` (citizen questions); ``documents`` (e.g. ``knowledge_base_documents``)
        add vocabulary to their labels but, unlike questions, are not used to calibrate.

        With ``encoder`` the dense classifier is trained too; the training texts' embeddings are
        cached on disk keyed by the encoder and the texts (``nlu.encoder.cached_encode``)."""
        started = time.perf_counter()
        texts = [e.text for e in examples]
        labels = [e.label for e in examples]
        extra = [(d.text, d.label) for d in documents]
        classifier = TextClassifier.fit(texts, labels, config, extra=extra)
        dense = None
        if encoder is not None:
            embeddings = cached_encode(encoder, [normalize(t) for t in [*texts, *(t for t, _ in extra)]])
            dense = TextClassifier.fit(texts, labels, config, extra=extra, dense=embeddings)
        return cls(
            classifier,
            time.perf_counter() - started,
            dense,
            encoder,
            cascade_below,
            encoder_spec() if encoder is not None else None,
        )

    @classmethod
    def from_knowledge_base(
        cls, kb: KnowledgeBase, config: EngineConfig | None = None, encoder: Encoder | str | None = "default"
    ) -> EmbeddedNlu:
        """The engine the hub runs: the questions and core intents, plus the entries' titles and answers.

        ``encoder``: "default" is the process's shared encoder (``$GOVCHAT_ENCODER``; None when off)."""
        chosen = shared_encoder() if encoder == "default" else encoder
        assert not isinstance(chosen, str)
        return cls.train(load_training_examples(kb), config, knowledge_base_documents(kb), chosen)

    def __getstate__(self) -> dict[str, Any]:
        # The encoder is a handle on a mmapped model: re-acquired by name after unpickling.
        state = dict(self.__dict__)
        state.update(encoder=None, _pending=[], _pending_texts=[])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.dense is not None:
            self.encoder = shared_encoder(self._encoder_spec)
            if self.encoder is None:  # the encoder was switched off since: sparse only
                self.dense = None

    def needs_encoder(self, probs: FloatArray) -> bool:
        """Whether the cascade asks the dense model, given the sparse model's probabilities."""
        return self.dense is not None and (
            self.cascade_below is None or float(probs.max()) < self.cascade_below
        )

    def parse_sync(self, text: str) -> Prediction:
        started = time.perf_counter()
        probs = self.classifier.predict_proba_one(text)
        if self.needs_encoder(probs):
            assert self.dense is not None and self.encoder is not None
            probs = self.dense.predict_proba_one(text, self.encoder.encode([normalize(text)])[0])
        return self._prediction(text, probs, (time.perf_counter() - started) * 1000.0)

    def parse_if_sure(self, text: str, sure_at: float) -> Prediction | None:
        """The sparse model's prediction where its top label reaches ``sure_at``, else None (nothing
        is embedded: the caller asks another engine, ``nlu.cascade``)."""
        started = time.perf_counter()
        probs = self.classifier.predict_proba_one(text)
        if float(probs.max()) < sure_at:
            return None
        return self._prediction(text, probs, (time.perf_counter() - started) * 1000.0)

    def parse_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Batch parsing: same results as ``parse_sync`` one by one, the unsure texts embedded in one call."""
        if not texts:
            return []
        started = time.perf_counter()
        probs = self.classifier.predict_proba(texts)
        unsure = [i for i, row in enumerate(probs) if self.needs_encoder(row)]
        if unsure:
            assert self.dense is not None and self.encoder is not None
            subset = [texts[i] for i in unsure]
            probs[unsure] = self.dense.predict_proba(
                subset, self.encoder.encode([normalize(t) for t in subset])
            )
        per_text_ms = (time.perf_counter() - started) * 1000.0 / len(texts)
        return [self._prediction(t, p, per_text_ms) for t, p in zip(texts, probs, strict=True)]

    async def parse(self, text: str) -> Prediction:
        # The sparse model is about a millisecond of CPU: cheaper inline than a thread hop.
        started = time.perf_counter()
        probs = self.classifier.predict_proba_one(text)
        if self.needs_encoder(probs):
            assert self.dense is not None
            embedding = await self._embed_batched(normalize(text))
            probs = self.dense.predict_proba_one(text, embedding)
        return self._prediction(text, probs, (time.perf_counter() - started) * 1000.0)

    async def _embed_batched(self, text: str) -> FloatArray:
        """Embed ``text`` together with every other message that asks before the loop's next turn.

        The worker's concurrent handlers each call ``parse``; their unsure messages share one
        encoder call in a thread (the C engine releases the GIL), so the event loop keeps running."""
        future: asyncio.Future[FloatArray] = asyncio.get_running_loop().create_future()
        self._pending.append((len(self._pending_texts), future))
        self._pending_texts.append(text)
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        pending, texts = self._pending, self._pending_texts
        self._pending, self._pending_texts = [], []
        encoder = self.encoder
        assert encoder is not None

        async def run() -> None:
            try:
                rows = await asyncio.to_thread(encoder.encode, texts)
            except Exception as exc:  # every waiting parse gets the error
                for _, future in pending:
                    if not future.done():
                        future.set_exception(exc)
                return
            for index, future in pending:
                if not future.done():
                    future.set_result(rows[index].astype(np.float64))

        asyncio.get_running_loop().create_task(run())

    async def is_ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None

    def _prediction(self, text: str, probs: FloatArray, latency_ms: float) -> Prediction:
        faq_probs = probs[self._faq_columns] if len(self._faq_columns) else np.zeros(0)
        by_intent = {intent: 0.0 for intent in self._intents}
        by_intent[FAQ_INTENT] = float(faq_probs.sum())
        for intent, column in self._intent_columns.items():
            by_intent[intent] = float(probs[column])
        # Ties (e.g. untrained intents at 0) keep the fixed intent order: deterministic output.
        intent_ranking = tuple(
            Ranked(name, by_intent[name]) for name in sorted(self._intents, key=lambda n: -by_intent[n])
        )
        top_faq = np.argsort(-faq_probs, kind="stable")[: self.classifier.config.faq_ranking_size]
        faq_ranking = tuple(Ranked(self._faq_ids[i], float(faq_probs[i])) for i in top_faq)
        best = intent_ranking[0]
        return Prediction(
            text=text,
            intent=best.name,
            confidence=best.confidence,
            intent_ranking=intent_ranking,
            faq_ranking=faq_ranking,
            engine=self.name,
            latency_ms=latency_ms,
        )
