"""A linear text classifier over Rasa's sparse sentence features (shared by our components).

Why: on Thai, TF-IDF over words and character n-grams with a linear SVM beats DIET by a
wide margin and trains in seconds (see ``benchmarks/nlu_public_corpora.py``).

* weighting: sublinear TF (1 + log tf) x smoothed IDF, then L2 normalisation of each
  featurizer's block (words and character n-grams weigh the same, however many n-grams a
  message has);
* model: one-vs-rest ``LinearSVC``;
* confidences: softmax of the SVM scores divided by a temperature fitted on out-of-fold
  scores, so thresholds such as FallbackClassifier's mean something;
* dense sentence features (a multilingual embedding, ``e5_featurizer``) when given: appended
  after the sparse blocks, each row scaled by ``dense_weight`` (the sparse part has norm 1);
* stored as plain arrays in ``.npz`` (no pickle); prediction is one sparse product.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

DEFAULT_TEMPERATURE = 0.1
_TEMPERATURE_GRID = np.geomspace(0.02, 2.0, 60)


def _weight(counts: sp.spmatrix, idf: np.ndarray, blocks: Sequence[int]) -> sp.csr_matrix:
    """Sublinear TF x IDF, each block of columns L2-normalised per row, the row scaled back to
    unit length (identical in training and prediction)."""
    matrix = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    matrix.sum_duplicates()
    matrix.data = (1.0 + np.log(np.maximum(matrix.data, 1e-12))) * idf[matrix.indices]
    ends = np.cumsum(blocks)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    block_of = np.searchsorted(ends, matrix.indices, side="right")
    squares = np.zeros((matrix.shape[0], len(blocks)))
    np.add.at(squares, (rows, block_of), matrix.data**2)
    norms = np.sqrt(squares) * np.sqrt(len(blocks))
    norms[norms == 0.0] = 1.0
    matrix.data = matrix.data / norms[rows, block_of]
    return matrix


def _with_dense(features: sp.csr_matrix, dense: np.ndarray | None, weight: float) -> sp.csr_matrix:
    if dense is None or dense.shape[1] == 0:
        return features
    return sp.hstack([features, sp.csr_matrix(np.asarray(dense, dtype=np.float64) * weight)], format="csr")


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class LinearTextModel:
    """Fitted weights: ``idf`` (F,), ``coef`` (K, F), ``intercept`` (K,), ``classes`` (K,);
    ``blocks`` are the widths of the featurizers' column blocks (summing to F)."""

    def __init__(
        self,
        idf: np.ndarray,
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: Sequence[str],
        temperature: float,
        blocks: Sequence[int],
        dense_dim: int = 0,
        dense_weight: float = 0.0,
    ) -> None:
        self.blocks = [int(b) for b in blocks]
        self.dense_dim = int(dense_dim)
        self.dense_weight = float(dense_weight)
        n_sparse = coef.shape[1] - self.dense_dim
        self.idf = idf
        self.coef = coef
        self.intercept = intercept
        self.classes: list[str] = list(classes)
        self.temperature = temperature
        self._ends = np.cumsum(self.blocks)
        self._coef_by_feature = np.ascontiguousarray(coef[:, :n_sparse].T)  # (F, K): one row per feature
        self._coef_dense = np.ascontiguousarray(coef[:, n_sparse:].T) * self.dense_weight  # (D, K)

    @classmethod
    def fit(
        cls,
        counts: sp.spmatrix,
        labels: Sequence[str],
        blocks: Sequence[int] | None = None,
        c: float = 1.0,
        class_weight: str | None = None,
        calibration_folds: int = 3,
        random_state: int = 42,
        dense: np.ndarray | None = None,
        dense_weight: float = 2.0,
    ) -> LinearTextModel:
        from sklearn.feature_extraction.text import TfidfTransformer

        counts = sp.csr_matrix(counts)
        blocks = list(blocks or [counts.shape[1]])
        idf = TfidfTransformer(smooth_idf=True).fit(counts).idf_.astype(np.float64)
        dense_dim = 0 if dense is None else int(dense.shape[1])
        features = _with_dense(_weight(counts, idf, blocks), dense, dense_weight)
        y = np.asarray(labels)
        classes = sorted(set(labels))
        if len(classes) == 1:
            # a single label: always that label, with full confidence
            width = counts.shape[1] + dense_dim
            return cls(idf, np.zeros((1, width)), np.zeros(1), classes, DEFAULT_TEMPERATURE, blocks, dense_dim, dense_weight)
        svm = _svm(c, class_weight, random_state).fit(features, y)
        coef, intercept = _as_multiclass(svm.coef_, svm.intercept_)
        temperature = _fit_temperature(features, y, classes, c, class_weight, calibration_folds, random_state)
        return cls(idf, coef, intercept, list(svm.classes_), temperature, blocks, dense_dim, dense_weight)

    def scores(self, counts: sp.spmatrix, dense: np.ndarray | None = None) -> np.ndarray:
        features = _with_dense(_weight(counts, self.idf, self.blocks), self._dense_or_zeros(dense, counts.shape[0]), self.dense_weight)
        return np.asarray(features @ self.coef.T) + self.intercept

    def _dense_or_zeros(self, dense: np.ndarray | None, rows: int) -> np.ndarray | None:
        """A message without a dense feature (e.g. empty text) contributes nothing from that block."""
        if not self.dense_dim:
            return None
        return np.zeros((rows, self.dense_dim)) if dense is None else dense

    def predict_proba_one(self, indices: np.ndarray, counts: np.ndarray, dense: np.ndarray | None = None) -> np.ndarray:
        """``predict_proba`` of one row given as column indices and counts, without building
        sparse matrices: the parse path (same arithmetic as ``_weight``)."""
        if len(self.classes) == 1:
            return np.ones(1)
        weights = (1.0 + np.log(np.maximum(counts.astype(np.float64), 1e-12))) * self.idf[indices]
        block_of = np.searchsorted(self._ends, indices, side="right")
        squares = np.bincount(block_of, weights=weights**2, minlength=len(self.blocks))
        norms = np.sqrt(squares) * np.sqrt(len(self.blocks))
        norms[norms == 0.0] = 1.0
        weights = weights / norms[block_of]
        scores = weights @ self._coef_by_feature[indices] + self.intercept
        if self.dense_dim and dense is not None:
            scores = scores + np.asarray(dense, dtype=np.float64).reshape(-1) @ self._coef_dense
        return _softmax(scores.reshape(1, -1), self.temperature)[0]

    def predict_proba(self, counts: sp.spmatrix, dense: np.ndarray | None = None) -> np.ndarray:
        if len(self.classes) == 1:
            return np.ones((counts.shape[0], 1))
        return _softmax(self.scores(counts, dense), self.temperature)

    def save(self, path: Path) -> None:
        np.savez(
            path,
            idf=self.idf,
            coef=self.coef,
            intercept=self.intercept,
            classes=np.asarray(self.classes, dtype=str),
            temperature=np.asarray([self.temperature]),
            blocks=np.asarray(self.blocks, dtype=np.int64),
            dense=np.asarray([self.dense_dim, self.dense_weight], dtype=np.float64),
        )

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                data["idf"],
                data["coef"],
                data["intercept"],
                [str(x) for x in data["classes"]],
                float(data["temperature"][0]),
                [int(b) for b in data["blocks"]],
                *((int(data["dense"][0]), float(data["dense"][1])) if "dense" in data else ()),
            )


def _svm(c: float, class_weight: str | None, random_state: int):  # type: ignore[no-untyped-def]
    from sklearn.svm import LinearSVC

    return LinearSVC(C=c, class_weight=class_weight, random_state=random_state, max_iter=5000)


def _as_multiclass(coef: np.ndarray, intercept: np.ndarray):  # type: ignore[no-untyped-def]
    """sklearn stores a binary problem as one row (score of the second class)."""
    if coef.shape[0] == 1:
        return np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    return coef, intercept


def _fit_temperature(
    features: sp.csr_matrix,
    y: np.ndarray,
    classes: list[str],
    c: float,
    class_weight: str | None,
    folds: int,
    random_state: int,
) -> float:
    """Temperature minimising the log-loss of out-of-fold SVM scores."""
    import warnings

    from sklearn.model_selection import StratifiedKFold

    if folds < 2 or len(y) < 2 * folds:
        return DEFAULT_TEMPERATURE
    index = {label: i for i, label in enumerate(classes)}
    out_of_fold = np.full((len(y), len(classes)), -10.0)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    with warnings.catch_warnings():
        # a label with fewer examples than folds is simply missing from some folds
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(features, y))
    for train, test in splits:
        svm = _svm(c, class_weight, random_state).fit(features[train], y[train])
        coef, intercept = _as_multiclass(svm.coef_, svm.intercept_)
        fold_scores = np.asarray(features[test] @ coef.T) + intercept
        columns = [index[label] for label in svm.classes_]
        out_of_fold[np.ix_(test, columns)] = fold_scores
    truth = np.array([index[label] for label in y])
    best, best_loss = DEFAULT_TEMPERATURE, np.inf
    for temperature in _TEMPERATURE_GRID:
        proba = _softmax(out_of_fold, float(temperature))
        loss = -np.log(np.maximum(proba[np.arange(len(y)), truth], 1e-12)).mean()
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best
