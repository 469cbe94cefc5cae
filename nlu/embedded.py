"""The in-process NLU engine: the default without ``RASA_URL`` and the fallback when Rasa fails.

Trained at start-up from the same examples as Rasa (``nlu.examples``), plus the entries' titles
and answers, in a second or two for the knowledge base. One ``TextClassifier`` (calibrated TF-IDF
+ linear SVM, ``nlu.text_classifier``) scores one flat label per FAQ entry (``faq/<id>``) and per
core intent. Hence:

- ``P(faq)`` is the sum over the ``faq/*`` labels; each other intent is its own label;
- each ``faq_ranking`` confidence is the joint ``P(intent = faq and entry = id)``: the probability
  that answering this entry is right, which is what the policy's answer threshold needs.

The engine never decides to fall back: it always reports its best intent (see ``nlu.client``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from knowledge_base.loader import KnowledgeBase
from nlu.client import CORE_INTENTS, FAQ_INTENT, Prediction, Ranked
from nlu.examples import Example, load_training_examples
from nlu.text_classifier import EngineConfig, FloatArray, TextClassifier

FAQ_PREFIX = "faq/"
# Part of any cache key for a trained engine (with the training texts): bump when training changes.
ENGINE_VERSION = "tfidf-svm-2"


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

    def __init__(self, classifier: TextClassifier, training_seconds: float = 0.0) -> None:
        self.classifier = classifier
        self.training_seconds = training_seconds
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
    ) -> EmbeddedNlu:
        """Train on ``examples`` (citizen questions); ``documents`` (e.g. ``knowledge_base_documents``)
        add vocabulary to their labels but, unlike questions, are not used to calibrate."""
        started = time.perf_counter()
        classifier = TextClassifier.fit(
            [e.text for e in examples],
            [e.label for e in examples],
            config,
            extra=[(d.text, d.label) for d in documents],
        )
        return cls(classifier, training_seconds=time.perf_counter() - started)

    @classmethod
    def from_knowledge_base(cls, kb: KnowledgeBase, config: EngineConfig | None = None) -> EmbeddedNlu:
        """The engine the hub runs: the questions and core intents, plus the entries' titles and answers."""
        return cls.train(load_training_examples(kb), config, knowledge_base_documents(kb))

    def parse_sync(self, text: str) -> Prediction:
        started = time.perf_counter()
        probs = self.classifier.predict_proba_one(text)
        return self._prediction(text, probs, (time.perf_counter() - started) * 1000.0)

    def parse_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Batch parsing (evaluation): same results as ``parse_sync`` one by one."""
        if not texts:
            return []
        started = time.perf_counter()
        probs = self.classifier.predict_proba(texts)
        per_text_ms = (time.perf_counter() - started) * 1000.0 / len(texts)
        return [self._prediction(t, p, per_text_ms) for t, p in zip(texts, probs, strict=True)]

    async def parse(self, text: str) -> Prediction:
        # About a millisecond of CPU: cheaper inline than a thread hop.
        return self.parse_sync(text)

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
