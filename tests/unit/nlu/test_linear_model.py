"""The linear model inside our Rasa components (numpy/scipy only, so it runs in the hub's tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from nlu.rasa_project.components.linear_model import LinearTextModel

RNG = np.random.default_rng(0)


def _data(rows: int = 60, width: int = 40) -> tuple[sp.csr_matrix, list[str]]:
    labels = [("greet", "thanks", "faq")[i % 3] for i in range(rows)]
    dense = RNG.poisson(0.3, size=(rows, width)).astype(float)
    for i, label in enumerate(labels):  # make the labels learnable
        dense[i, {"greet": 0, "thanks": 1, "faq": 2}[label]] += 3
    return sp.csr_matrix(dense), labels


@pytest.fixture(scope="module")
def model() -> LinearTextModel:
    counts, labels = _data()
    return LinearTextModel.fit(counts, labels, blocks=[25, 15], c=0.5)


def test_learns_the_labels_it_was_given(model: LinearTextModel) -> None:
    counts, labels = _data()
    predicted = [model.classes[i] for i in model.predict_proba(counts).argmax(axis=1)]
    assert np.mean([p == t for p, t in zip(predicted, labels, strict=True)]) > 0.9


def test_probabilities_sum_to_one(model: LinearTextModel) -> None:
    counts, _ = _data(5)
    assert np.allclose(model.predict_proba(counts).sum(axis=1), 1.0)


def test_the_one_row_fast_path_equals_the_matrix_path(model: LinearTextModel) -> None:
    counts, _ = _data(10)
    for i in range(counts.shape[0]):
        row = counts[i].tocoo()
        fast = model.predict_proba_one(row.col.astype(np.int64), row.data)
        assert np.allclose(fast, model.predict_proba(counts[i])[0])


def test_an_empty_message_gets_a_valid_distribution(model: LinearTextModel) -> None:
    proba = model.predict_proba_one(np.zeros(0, dtype=np.int64), np.zeros(0))
    assert proba.shape == (3,) and np.isclose(proba.sum(), 1.0)


def test_saved_and_loaded_model_predicts_the_same(model: LinearTextModel, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = LinearTextModel.load(path)
    counts, _ = _data(8)
    assert loaded.classes == model.classes and loaded.blocks == model.blocks
    assert np.allclose(loaded.predict_proba(counts), model.predict_proba(counts))


def test_two_labels_are_stored_as_two_rows_of_weights() -> None:
    counts, labels = _data()
    binary = [label if label == "faq" else "other" for label in labels]
    model = LinearTextModel.fit(counts, binary, c=0.5)
    assert model.coef.shape[0] == 2
    assert model.predict_proba(counts[:3]).shape == (3, 2)
