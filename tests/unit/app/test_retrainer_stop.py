"""A hub shutting down does not wait for a retraining in its thread: the training stops at its next fit."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest

from app.nlu_training.retrainer import NluRetrainer
from knowledge_base.loader import KnowledgeBase, KnowledgeBaseStore, load_knowledge_base
from nlu.client import NluClient
from nlu.embedded import EmbeddedNlu
from nlu.swappable import SwappableNlu
from nlu.text_classifier import TextClassifier, TrainingStopped, stop_when_set
from tests.unit.nlu.test_embedded import EXAMPLES

TEXTS = [e.text for e in EXAMPLES]
LABELS = [e.label for e in EXAMPLES]


def test_a_training_in_a_stopped_context_raises_at_its_first_fit() -> None:
    event = threading.Event()
    event.set()
    with stop_when_set(event), pytest.raises(TrainingStopped):
        TextClassifier.fit(TEXTS, LABELS)
    TextClassifier.fit(TEXTS, LABELS)  # outside the context the event means nothing


async def test_stopping_the_retrainer_ends_the_training_thread() -> None:
    kb = load_knowledge_base()
    store = KnowledgeBaseStore(initial=kb)
    engine = EmbeddedNlu.train(EXAMPLES, encoder=None)
    started = threading.Event()
    finished = threading.Event()

    def train_forever() -> NluClient:  # as long as nothing stops it: fit after fit
        started.set()
        try:
            while True:
                TextClassifier.fit(TEXTS, LABELS)
        finally:
            finished.set()

    async def train(_kb: KnowledgeBase, _digest: str) -> NluClient:
        return await asyncio.to_thread(train_forever)

    retrainer = NluRetrainer(store, SwappableNlu(engine, "before"), train, lambda _kb: "after")
    retrainer.start()
    store.replace(dataclasses.replace(kb, fingerprint="changed"))  # a change: the loop starts a training
    assert await asyncio.to_thread(started.wait, 30)
    await retrainer.stop()
    assert await asyncio.to_thread(finished.wait, 30)
