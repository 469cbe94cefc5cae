"""The cascade in our Rasa classifiers: the e5 embedding only where the sparse model is unsure."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nlu.rasa_project.components.cascade import cascade_probabilities, joint_confidence
from nlu.rasa_project.components.linear_model import LinearTextModel

LABELS = ("greet", "thanks", "faq")
WIDTH, DENSE = 12, 4
RNG = np.random.default_rng(1)
Models = tuple[LinearTextModel, LinearTextModel]  # sparse only, sparse + dense


def _training() -> tuple[sp.csr_matrix, np.ndarray, list[str]]:
    labels = [LABELS[i % 3] for i in range(90)]
    counts = RNG.poisson(0.2, size=(90, WIDTH)).astype(float)
    dense = RNG.normal(size=(90, DENSE))
    for i, label in enumerate(labels):
        counts[i, LABELS.index(label)] += 3  # columns 0-2 name the label
        dense[i, LABELS.index(label)] += 3
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    return sp.csr_matrix(counts), dense, labels


@pytest.fixture(scope="module")
def models() -> Models:
    counts, dense, labels = _training()
    return (
        LinearTextModel.fit(counts, labels, blocks=[WIDTH]),
        LinearTextModel.fit(counts, labels, blocks=[WIDTH], dense=dense),
    )


def _row(columns: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(list(columns), dtype=np.int64), np.array(list(columns.values()))


SURE = _row({0: 3.0})  # greet's own column, thrice
UNSURE = _row({10: 1.0})  # a column that names no label


class Embedder:
    def __init__(self) -> None:
        self.asked: list[list[int]] = []

    def __call__(self, positions: list[int]) -> list[np.ndarray | None]:
        self.asked.append(positions)
        vector = np.zeros(DENSE)
        vector[1] = 1.0  # looks like thanks
        return [vector for _ in positions]


def test_a_sure_message_is_not_embedded_and_an_unsure_one_is(models: Models) -> None:
    sparse, dense = models
    assert sparse.predict_proba_one(*SURE).max() >= 0.8 > sparse.predict_proba_one(*UNSURE).max()
    embed = Embedder()
    embeddings: list[np.ndarray | None] = [None, None]
    probabilities = cascade_probabilities(sparse, dense, [SURE, UNSURE], embeddings, embed, below=0.8)
    assert embed.asked == [[1]]  # one call, for the unsure message only
    assert embeddings[0] is None and embeddings[1] is not None
    assert np.allclose(probabilities[0], sparse.predict_proba_one(*SURE))
    assert np.allclose(probabilities[1], dense.predict_proba_one(*UNSURE, embeddings[1]))
    assert dense.classes[int(np.argmax(probabilities[1]))] == "thanks"  # the embedding decided


def test_every_message_is_embedded_without_a_threshold(models: Models) -> None:
    embed = Embedder()
    cascade_probabilities(*models, [SURE, UNSURE], [None, None], embed, below=None)
    assert embed.asked == [[0, 1]]


def test_a_message_embedded_already_uses_the_dense_model_without_embedding_again(
    models: Models,
) -> None:
    sparse, dense = models
    known = np.eye(DENSE)[2]
    embed = Embedder()
    probabilities = cascade_probabilities(sparse, dense, [SURE], [known], embed, below=0.8)
    assert embed.asked == []
    assert np.allclose(probabilities[0], dense.predict_proba_one(*SURE, known))


def test_an_unsure_message_that_cannot_be_embedded_keeps_the_sparse_answer(
    models: Models,
) -> None:
    sparse, dense = models
    probabilities = cascade_probabilities(
        sparse, dense, [UNSURE], [None], lambda positions: [None], below=0.8
    )
    assert np.allclose(probabilities[0], sparse.predict_proba_one(*UNSURE))


def test_the_response_selector_skips_messages_sure_to_be_another_intent(
    models: Models,
) -> None:
    """'Thank you' ranks FAQ entries unsurely, but the message is surely thanks: not embedded."""
    embed = Embedder()
    cascade_probabilities(
        *models,
        [UNSURE],
        [None],
        embed,
        below=0.8,
        confidence=lambda position, probabilities: joint_confidence(0.01, 0.99, probabilities),
    )
    assert embed.asked == []


def test_joint_confidence_is_the_best_flat_label() -> None:
    assert joint_confidence(0.9, 0.1, np.array([0.5, 0.5])) == pytest.approx(0.45)
    assert joint_confidence(0.1, 0.9, np.array([1.0, 0.0])) == pytest.approx(0.9)
