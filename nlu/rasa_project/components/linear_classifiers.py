"""Rasa 3.6 components: a linear intent classifier and a linear response selector.

Both read the sparse sentence features of the featurizers before them (word and character
n-gram counts), plus the dense sentence features when a dense featurizer (``E5SentenceFeaturizer``)
runs, and fit ``LinearTextModel`` (TF-IDF + embedding + linear SVM with calibrated softmax).
With dense features they fit a sparse-only model too, and at parse time embed a message only
where the sparse model is unsure (``cascade.py``; config ``cascade_below``, null: always).

``LinearIntentClassifier`` sets ``intent``/``intent_ranking`` like Rasa's own classifiers.
``LinearResponseSelector`` learns the retrieval intent's response keys (``faq/<id>``) and
sets ``response_selector`` in the shape Rasa's ResponseSelector produces (``response`` with
``intent_response_key``/``utter_action``, ``ranking``), so ``/model/parse`` clients read it
the same way. (Rasa's training warns that no ResponseSelector is configured: it only looks
for its own class.)
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

from nlu.rasa_project.components.cascade import (
    DEFAULT_CASCADE_BELOW,
    Confidence,
    cascade_probabilities,
    joint_confidence,
    top_probability,
)
from nlu.rasa_project.components.e5_featurizer import embed_pending
from nlu.rasa_project.components.linear_model import LinearTextModel

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_model.npz"
SPARSE_MODEL_FILE = "linear_model_sparse.npz"  # the cascade's first stage, when MODEL_FILE has dense features
META_FILE = "meta.json"


def _sentence_blocks(message: Message) -> dict[str, sp.spmatrix]:
    """The message's sparse sentence features (counts, one row) per featurizer."""
    return {
        str(f.origin): f.features
        for f in message.features
        if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse()
    }


def _dense_sentence(message: Message) -> np.ndarray | None:
    """The message's dense sentence features (all dense featurizers, concatenated), or None."""
    rows = [
        np.asarray(f.features, dtype=np.float64).reshape(-1)
        for f in sorted(message.features, key=lambda f: str(f.origin))
        if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_dense()
    ]
    return np.concatenate(rows) if rows else None


def _dense_of_width(message: Message, width: int) -> np.ndarray | None:
    dense = _dense_sentence(message)
    return dense if dense is not None and len(dense) == width else None


def _dense_matrix(messages: list[Message], width: int | None = None) -> np.ndarray | None:
    """One dense row per message (zeros where a message has none); None when no message has any."""
    rows = [_dense_sentence(m) for m in messages]
    if width is None:
        width = next((len(r) for r in rows if r is not None), 0)
    if not width:
        return None
    return np.vstack([r if r is not None and len(r) == width else np.zeros(width) for r in rows])


def _sentence_counts(
    messages: list[Message], layout: list[tuple[str, int]] | None = None
) -> tuple[sp.csr_matrix, list[tuple[str, int]]]:
    """One row per message, one column block per featurizer (``layout``: origin and width).

    Without ``layout`` (training) it is read off the messages. TF-IDF needs counts, so dense
    features are not used by these components.
    """
    per_message = [_sentence_blocks(m) for m in messages]
    if layout is None:
        widths: dict[str, int] = {}
        for blocks in per_message:
            for origin, matrix in blocks.items():
                widths.setdefault(origin, matrix.shape[1])
        layout = sorted(widths.items())
    rows = []
    for blocks in per_message:
        parts = []
        for origin, width in layout:
            matrix = blocks.get(origin)
            parts.append(
                sp.csr_matrix(matrix) if matrix is not None and matrix.shape[1] == width else sp.csr_matrix((1, width))
            )
        rows.append(sp.hstack(parts).tocsr())
    return sp.vstack(rows).tocsr(), layout


def _message_vector(message: Message, layout: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """One message's sentence counts as (column indices, counts) in ``layout``'s columns."""
    blocks = _sentence_blocks(message)
    indices, counts, offset = [], [], 0
    for origin, width in layout:
        matrix = blocks.get(origin)
        if matrix is not None and matrix.shape[1] == width:
            row = matrix.tocoo()  # Rasa keeps features as COO: no copy
            indices.append(row.col + offset)
            counts.append(row.data)
        offset += width
    if not indices:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(indices).astype(np.int64), np.concatenate(counts)


def _stable_id(key: str) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:12], 16)


class _LinearComponent(GraphComponent):
    """Training, persistence and loading shared by both components."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "C": 1.0,  # SVM regularisation
            "class_weight": None,  # or "balanced"
            "calibration_folds": 3,  # out-of-fold scores to fit the softmax temperature
            "ranking_length": 10,
            "random_state": 42,
            # scale of the (unit) dense sentence embedding beside the sparse blocks (unit in all)
            "dense_weight": 2.0,
            # the sparse model's top probability below which a message is embedded (null: always)
            "cascade_below": DEFAULT_CASCADE_BELOW,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: LinearTextModel | None = None,
        meta: dict[str, Any] | None = None,
        sparse_model: LinearTextModel | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model
        self.sparse_model = sparse_model
        self.meta: dict[str, Any] = meta or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _LinearComponent:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> _LinearComponent:
        try:
            with model_storage.read_from(resource) as directory:
                model = LinearTextModel.load(directory / MODEL_FILE)
                meta = read_json_file(directory / META_FILE)
                sparse_file = directory / SPARSE_MODEL_FILE
                sparse_model = LinearTextModel.load(sparse_file) if sparse_file.exists() else None
        except (ValueError, FileNotFoundError):
            logger.debug("No trained %s in resource %s; using an untrained one.", cls.__name__, resource.name)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, model, meta, sparse_model)

    def _fit(self, messages: list[Message], labels: list[str]) -> None:
        counts, layout = _sentence_counts(messages)
        dense = _dense_matrix(messages)

        def fit(dense: np.ndarray | None) -> LinearTextModel:
            return LinearTextModel.fit(
                counts,
                labels,
                blocks=[width for _, width in layout],
                c=float(self.config["C"]),
                class_weight=self.config["class_weight"],
                calibration_folds=int(self.config["calibration_folds"]),
                random_state=int(self.config["random_state"]),
                dense=dense,
                dense_weight=float(self.config["dense_weight"]),
            )

        self.model = fit(dense)
        self.sparse_model = fit(None) if dense is not None else None
        self.meta["layout"] = [[origin, int(width)] for origin, width in layout]
        with self._model_storage.write_to(self._resource) as directory:
            self.model.save(directory / MODEL_FILE)
            if self.sparse_model is not None:
                self.sparse_model.save(directory / SPARSE_MODEL_FILE)
            dump_obj_as_json_to_file(directory / META_FILE, self.meta)

    def _rank(self, messages: list[Message]) -> list[list[tuple[str, float]]]:
        assert self.model is not None
        layout = [(str(origin), int(width)) for origin, width in self.meta["layout"]]
        limit = int(self.config["ranking_length"]) or len(self.model.classes)
        rows = [_message_vector(message, layout) for message in messages]
        rankings = []
        for probabilities in self._probabilities(messages, rows):
            order = np.argsort(-probabilities)[:limit]
            rankings.append([(self.model.classes[j], float(probabilities[j])) for j in order])
        return rankings

    def _probabilities(
        self, messages: list[Message], rows: list[tuple[np.ndarray, np.ndarray]]
    ) -> list[np.ndarray]:
        assert self.model is not None
        if not self.model.dense_dim:
            return [self.model.predict_proba_one(*row) for row in rows]
        if self.sparse_model is None:  # a model trained before the cascade: dense features always
            embed_pending(messages)
            return [
                self.model.predict_proba_one(*row, _dense_of_width(m, self.model.dense_dim))
                for m, row in zip(messages, rows, strict=True)
            ]

        def embed(positions: list[int]) -> list[np.ndarray | None]:
            chosen = [messages[i] for i in positions]
            embed_pending(chosen)
            return [_dense_sentence(m) for m in chosen]

        below = self.config["cascade_below"]
        return cascade_probabilities(
            self.sparse_model,
            self.model,
            rows,
            [_dense_sentence(m) for m in messages],
            embed,
            None if below is None else float(below),
            self._confidence(messages),
        )

    def _confidence(self, messages: list[Message]) -> Confidence:
        """How sure a message is, given this component's sparse probabilities (see ``cascade.py``)."""
        return top_probability


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(_LinearComponent, IntentClassifier):
    """Intent classification with a TF-IDF linear SVM on the sparse sentence features."""

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            logger.debug("No intent examples: %s not trained.", self.__class__.__name__)
            return self._resource
        self._fit(examples, [e.get(INTENT) for e in examples])
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None or not messages:
            return messages
        for message, ranking in zip(messages, self._rank(messages), strict=True):
            intent_ranking = [{"name": name, "confidence": confidence} for name, confidence in ranking]
            message.set(INTENT, intent_ranking[0], add_to_output=True)
            message.set("intent_ranking", intent_ranking, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearResponseSelector(_LinearComponent):
    """Picks the response key (``faq/<id>``) of a retrieval intent with a linear SVM."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**_LinearComponent.get_default_config(), "retrieval_intent": None}

    def train(self, training_data: TrainingData) -> Resource:
        wanted = self.config["retrieval_intent"]
        examples = [
            e
            for e in training_data.intent_examples
            if e.get(INTENT_RESPONSE_KEY) and e.get(TEXT) and (wanted is None or e.get(INTENT) == wanted)
        ]
        if not examples:
            logger.debug("No examples of retrieval intents: %s not trained.", self.__class__.__name__)
            return self._resource
        self.meta = {
            "retrieval_intent": wanted or examples[0].get(INTENT),
            "all_retrieval_intents": sorted(training_data.retrieval_intents),
            "responses": {
                key: training_data.responses.get(f"utter_{key}", [])
                for key in sorted({e.get(INTENT_RESPONSE_KEY) for e in examples})
            },
        }
        self._fit(examples, [e.get(INTENT_RESPONSE_KEY) for e in examples])
        return self._resource

    def _confidence(self, messages: list[Message]) -> Confidence:
        """The whole message's best label: another intent, or the retrieval intent times its best key
        (the intent classifier ran before). A message sure to be no FAQ question is not embedded."""
        retrieval_intent = self.meta["retrieval_intent"]
        intents = []
        for message in messages:
            ranking = message.get("intent_ranking") or []
            # no intent classifier: the retrieval intent is taken as given; ranked below the list: ~0
            p_retrieval = next(
                (r["confidence"] for r in ranking if r["name"] == retrieval_intent), 0.0 if ranking else 1.0
            )
            best_other = max((r["confidence"] for r in ranking if r["name"] != retrieval_intent), default=0.0)
            intents.append((float(p_retrieval), float(best_other)))

        def confidence(position: int, probabilities: np.ndarray) -> float:
            return joint_confidence(*intents[position], probabilities)

        return confidence

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None or not messages:
            return messages
        selector_key = self.meta["retrieval_intent"]
        for message, ranking in zip(messages, self._rank(messages), strict=True):
            best_key, best_confidence = ranking[0]
            prediction = {
                "response": {
                    "responses": self.meta["responses"].get(best_key) or [{"text": best_key}],
                    "confidence": best_confidence,
                    "intent_response_key": best_key,
                    "utter_action": f"utter_{best_key}",
                },
                "ranking": [
                    {"id": _stable_id(key), "confidence": confidence, "intent_response_key": key}
                    for key, confidence in ranking
                ],
            }
            properties = message.get("response_selector", {}) or {}
            properties["all_retrieval_intents"] = self.meta["all_retrieval_intents"]
            properties[selector_key] = prediction
            message.set("response_selector", properties, add_to_output=True)
        return messages
