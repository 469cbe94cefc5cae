"""A calibrated Thai text classifier: TF-IDF n-grams, a linear SVM and one softmax temperature.

The engine inside ``nlu.embedded``; usable on any labels (the benchmarks train it on MASSIVE and
truevoice). Three feature blocks, each L2-normalised and weighted so that a row has norm 1:
PyThaiNLP words (``nlu.thai_text``), character n-grams inside those words, and character n-grams
of the normalised text, which survive the arbitrary spacing and misspellings of chat Thai.
Probabilities are ``softmax(svm_scores / T)``, with ``T`` fitted on out-of-fold scores, so a
confidence of 0.8 is right about 80% of the time on data like the training data.
"""

from __future__ import annotations

import contextlib
import math
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.svm import LinearSVC

from nlu.thai_text import normalize, tokenize

FloatArray = NDArray[np.float64]
DenseArray = NDArray[np.floating[Any]]  # sentence embeddings (float32 from the encoder)


@dataclass(frozen=True)
class EngineConfig:
    """Feature, SVM and calibration settings; the defaults are what the hub runs."""

    # Chosen by 5-fold CV on the knowledge base (FAQ answered right at <= 1% wrong answers);
    # word bigrams did slightly worse there, though slightly better on MASSIVE.
    word_ngrams: tuple[int, int] = (1, 1)
    word_char_ngrams: tuple[int, int] = (1, 4)  # inside each word
    text_char_ngrams: tuple[int, int] = (3, 5)  # across the normalised text, spaces included
    min_df: int = 1
    # With the e5 block, C 1.0 beats 2.0 on MASSIVE dev (0.846 -> 0.848; 0.5 the same as 1.0) and a
    # held-out fifth of truevoice train (0.874 -> 0.877), with the same held-out knowledge-base figures
    # (sparse-only 5-fold CV had preferred 2.0 by a little).
    svm_c: float = 1.0
    calibration_folds: int = 5
    # Above this many examples one held-out fold is enough to fit a single temperature.
    full_calibration_max_examples: int = 3000
    # The chat channels cap messages at 2,000 code points; longer input only costs time.
    max_chars: int = 2000
    faq_ranking_size: int = 10
    seed: int = 0
    # Scale of the sentence-embedding block (unit rows) beside the sparse blocks (a unit row in all):
    # of the weights tried on the MASSIVE and truevoice dev sets, x2 scored best (x3 on MASSIVE dev:
    # 0.846 -> 0.839 at C 2, 0.848 -> 0.844 at C 1).
    dense_weight: float = 2.0


@dataclass(frozen=True)
class _Document:
    words: str  # tokens joined by spaces
    text: str  # normalised text


def _document(text: str, max_chars: int) -> _Document:
    clipped = text[:max_chars]
    return _Document(words=" ".join(tokenize(clipped)), text=normalize(clipped))


Analyzer = Callable[[str], list[str]]
Blocks = list[sparse.csr_matrix]  # one n-gram count matrix per feature block
BLOCKS = 3


def _analyzers(config: EngineConfig) -> tuple[Analyzer, ...]:
    """Word n-grams and in-word character n-grams of the tokens, character n-grams of the text."""
    common: dict[str, Any] = {"lowercase": False}
    return (
        TfidfVectorizer(token_pattern=r"\S+", ngram_range=config.word_ngrams, **common).build_analyzer(),
        TfidfVectorizer(analyzer="char_wb", ngram_range=config.word_char_ngrams, **common).build_analyzer(),
        TfidfVectorizer(analyzer="char_wb", ngram_range=config.text_char_ngrams, **common).build_analyzer(),
    )


def _sources(doc: _Document) -> tuple[str, str, str]:
    return doc.words, doc.words, doc.text


def _count_blocks(
    docs: Sequence[_Document],
    analyzers: Sequence[Analyzer],
    vocabularies: Sequence[dict[str, int]],
    grow: bool,
) -> Blocks:
    """N-gram counts per block; with ``grow`` unseen n-grams get new columns, else they are dropped."""
    blocks = []
    for b, (analyze, vocabulary) in enumerate(zip(analyzers, vocabularies, strict=True)):
        indices: list[int] = []
        indptr = [0]
        for doc in docs:
            for gram in analyze(_sources(doc)[b]):
                column = vocabulary.get(gram)
                if column is None and grow:
                    column = vocabulary[gram] = len(vocabulary)
                if column is not None:
                    indices.append(column)
            indptr.append(len(indices))
        counts = sparse.csr_matrix(
            (np.ones(len(indices)), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
            shape=(len(docs), len(vocabulary)),
        )
        counts.sum_duplicates()
        blocks.append(counts)
    return blocks


@dataclass(frozen=True)
class _Idf:
    """Per block: the columns kept (document frequency >= min_df) and their smoothed idf."""

    kept: tuple[NDArray[np.intp], ...]
    idf: tuple[FloatArray, ...]

    @classmethod
    def fit(cls, blocks: Blocks, min_df: int) -> _Idf:
        kept, idf = [], []
        for counts in blocks:
            n = counts.shape[0]
            df = np.bincount(counts.indices, minlength=counts.shape[1])
            columns = np.flatnonzero(df >= min_df)
            kept.append(columns)
            idf.append(np.log((1.0 + n) / (1.0 + df[columns])) + 1.0)  # as TfidfTransformer(smooth_idf)
        return cls(tuple(kept), tuple(idf))

    def apply(self, blocks: Blocks) -> sparse.csr_matrix:
        """Sublinear tf times idf, L2 norm per block, blocks weighted so a row has norm 1: the SVM input."""
        weighted = []
        for counts, columns, idf in zip(blocks, self.kept, self.idf, strict=True):
            tfidf = counts[:, columns].tocsr()
            tfidf.data = (1.0 + np.log(tfidf.data)) * idf[tfidf.indices]
            weighted.append(l2_normalize(tfidf) * BLOCK_WEIGHT)
        return sparse.hstack(weighted, format="csr")


BLOCK_WEIGHT = 1.0 / math.sqrt(BLOCKS)


class _Featurizer:
    """Texts to TF-IDF rows with the vocabulary and idf of the final model."""

    def __init__(
        self, analyzers: Sequence[Analyzer], vocabularies: Sequence[dict[str, int]], idf: _Idf
    ) -> None:
        self._analyzers = tuple(analyzers)
        # Renumber the kept columns 0..k-1 per block and offset them into one row.
        self._vocabularies: list[dict[str, int]] = []
        self._idf = idf.idf
        for vocabulary, kept in zip(vocabularies, idf.kept, strict=True):
            position = {int(column): i for i, column in enumerate(kept)}
            self._vocabularies.append(
                {gram: position[column] for gram, column in vocabulary.items() if column in position}
            )
        self._offsets = np.cumsum([0, *(len(v) for v in self._vocabularies)])[:-1]
        self._identity = _Idf(tuple(np.arange(len(v)) for v in self._vocabularies), self._idf)

    def transform(self, docs: Sequence[_Document]) -> sparse.csr_matrix:
        return self._identity.apply(_count_blocks(docs, self._analyzers, self._vocabularies, grow=False))

    def transform_one(self, doc: _Document) -> tuple[NDArray[np.intp], FloatArray]:
        """``transform([doc])`` as (column indices, values), without scipy's per-call overhead."""
        indices: list[int] = []
        values: list[float] = []
        for analyze, vocabulary, idf, offset, source in zip(
            self._analyzers, self._vocabularies, self._idf, self._offsets, _sources(doc), strict=True
        ):
            counts: dict[int, int] = {}
            for gram in analyze(source):
                column = vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            block = [(1.0 + math.log(n)) * idf[c] for c, n in counts.items()]
            norm = math.sqrt(sum(v * v for v in block))
            indices.extend(int(offset) + c for c in counts)
            values.extend(v * BLOCK_WEIGHT / norm for v in block)
        return np.asarray(indices, dtype=np.intp), np.asarray(values, dtype=np.float64)


def _with_dense(features: sparse.csr_matrix, dense: DenseArray | None, weight: float) -> sparse.csr_matrix:
    """The SVM input: the TF-IDF rows, then (when there are embeddings) the scaled embedding block."""
    if dense is None:
        return features
    return sparse.hstack(
        [features, sparse.csr_matrix(np.asarray(dense, dtype=np.float64) * weight)], format="csr"
    )


class TrainingStopped(Exception):
    """A training given up between two fits because its ``stop_when_set`` event was set."""


_stop_event: ContextVar[threading.Event | None] = ContextVar("training_stop_event", default=None)


@contextlib.contextmanager
def stop_when_set(event: threading.Event) -> Iterator[None]:
    """Trainings started in this context (and in threads started from it: ``asyncio.to_thread``
    copies the context) raise ``TrainingStopped`` at their next fit once ``event`` is set.

    A training runs for tens of seconds in a thread nobody can interrupt; a hub shutting down would
    otherwise wait for it before the process can exit."""
    token = _stop_event.set(event)
    try:
        yield
    finally:
        _stop_event.reset(token)


def _fit_svm(features: sparse.csr_matrix, labels: Sequence[str], config: EngineConfig) -> LinearSVC:
    event = _stop_event.get()
    if event is not None and event.is_set():
        raise TrainingStopped("the training was stopped")
    svm = LinearSVC(C=config.svm_c, random_state=config.seed, max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on tiny sets: the scores are still usable
        svm.fit(features, list(labels))
    return svm


def _svm_scores(svm: LinearSVC, features: sparse.csr_matrix) -> FloatArray:
    scores = np.asarray(svm.decision_function(features), dtype=np.float64)
    if scores.ndim == 1:  # binary LinearSVC: one column, positive means classes_[1]
        scores = np.column_stack([-scores, scores]) / 2.0
    return scores


def softmax(scores: FloatArray, temperature: float) -> FloatArray:
    z = scores / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=-1, keepdims=True), dtype=np.float64)


def fit_temperature(scores: FloatArray, truth: NDArray[np.int64]) -> float:
    """The temperature minimising the log loss of out-of-fold scores (one parameter: cannot overfit)."""

    def log_loss(log_t: float) -> float:
        probs = softmax(scores, math.exp(log_t))
        return float(-np.mean(np.log(np.clip(probs[np.arange(len(truth)), truth], 1e-12, None))))

    result = minimize_scalar(log_loss, bounds=(math.log(0.01), math.log(100.0)), method="bounded")
    return float(math.exp(result.x))


def _calibration_splits(labels: Sequence[str], config: EngineConfig) -> list[tuple[NDArray, NDArray]]:
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    folds = min(config.calibration_folds, len(labels))
    if folds < 2:
        return []
    index = np.zeros(len(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes with fewer members than folds
        if max(counts.values()) >= folds:
            splitter: StratifiedKFold | KFold = StratifiedKFold(folds, shuffle=True, random_state=config.seed)
            splits = list(splitter.split(index, list(labels)))
        else:
            splits = list(KFold(folds, shuffle=True, random_state=config.seed).split(index))
    if len(labels) > config.full_calibration_max_examples:
        return splits[:1]
    return splits


def _out_of_fold_temperature(
    blocks: Blocks,
    labels: Sequence[str],
    n_extra: int,
    classes: Sequence[str],
    config: EngineConfig,
    dense: DenseArray | None,
) -> float:
    """Fit the temperature on scores of questions by models that did not see them.

    ``blocks`` holds the questions' rows first, then ``n_extra`` document rows that every fold trains on.
    """
    column = {label: i for i, label in enumerate(classes)}
    n = len(labels) - n_extra
    fold_scores: list[FloatArray] = []
    fold_truth: list[int] = []
    for train_idx, test_idx in _calibration_splits(labels[:n], config):
        rows = np.concatenate([train_idx, np.arange(n, n + n_extra)])
        train_labels = [labels[i] for i in rows]
        if len(set(train_labels)) < 2:
            continue
        idf = _Idf.fit([b[rows] for b in blocks], config.min_df)
        train_dense = None if dense is None else dense[rows]
        test_dense = None if dense is None else dense[test_idx]
        svm = _fit_svm(
            _with_dense(idf.apply([b[rows] for b in blocks]), train_dense, config.dense_weight),
            train_labels,
            config,
        )
        raw = _svm_scores(
            svm, _with_dense(idf.apply([b[test_idx] for b in blocks]), test_dense, config.dense_weight)
        )
        # Labels missing from this training fold get the row's lowest score (never predicted).
        scores = np.repeat(raw.min(axis=1, keepdims=True) - 1.0, len(classes), axis=1)
        scores[:, [column[c] for c in svm.classes_]] = raw
        seen = set(svm.classes_)
        for row, i in enumerate(test_idx):
            if labels[i] in seen:  # an unseen true label says nothing about the temperature
                fold_scores.append(scores[row])
                fold_truth.append(column[labels[i]])
    if not fold_truth:
        return 1.0
    return fit_temperature(np.vstack(fold_scores), np.asarray(fold_truth, dtype=np.int64))


class TextClassifier:
    """Features, linear SVM and temperature: calibrated probabilities over any set of labels.

    Trained with ``dense`` (one sentence embedding per text, ``nlu.encoder``), it expects the
    embeddings of the texts it scores too; without, it is the sparse Thai model alone.
    """

    def __init__(
        self,
        config: EngineConfig,
        featurizer: _Featurizer,
        svm: LinearSVC,
        temperature: float,
        dense_dim: int = 0,
    ) -> None:
        self.config = config
        self.classes: tuple[str, ...] = tuple(str(c) for c in svm.classes_)
        self.temperature = temperature
        self._featurizer = featurizer
        self._svm = svm
        coef = np.asarray(svm.coef_, dtype=np.float64)
        intercept = np.asarray(svm.intercept_, dtype=np.float64)
        if coef.shape[0] == 1:  # binary: the same two columns as ``_svm_scores``
            coef, intercept = np.vstack([-coef, coef]) / 2.0, np.concatenate([-intercept, intercept]) / 2.0
        self.dense_dim = dense_dim
        n_sparse = coef.shape[1] - dense_dim
        # Rows per feature: one text's scores are a gather of ~100 rows and a dot product.
        self._weights_by_feature = np.ascontiguousarray(coef[:, :n_sparse].T)
        self._dense_weights = np.ascontiguousarray(coef[:, n_sparse:].T) * config.dense_weight
        self._intercept = intercept

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        config: EngineConfig | None = None,
        extra: Sequence[tuple[str, str]] = (),
        dense: DenseArray | None = None,
    ) -> TextClassifier:
        """Train on ``texts``; ``extra`` (text, label) pairs are trained on but never used to calibrate.

        ``dense``: one embedding row per text of ``texts`` then ``extra``, or None for sparse only."""
        config = config or EngineConfig()
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        if len(set(labels) | {label for _, label in extra}) < 2:
            raise ValueError("the embedded NLU needs examples of at least two labels")
        docs = [_document(t, config.max_chars) for t in [*texts, *(t for t, _ in extra)]]
        all_labels = [*labels, *(label for _, label in extra)]
        classes = sorted(set(all_labels))
        analyzers = _analyzers(config)
        vocabularies: list[dict[str, int]] = [{} for _ in range(BLOCKS)]
        blocks = _count_blocks(docs, analyzers, vocabularies, grow=True)  # each text analysed once
        if dense is not None and dense.shape[0] != len(docs):
            raise ValueError("dense needs one row per text and extra text")
        temperature = _out_of_fold_temperature(blocks, all_labels, len(extra), classes, config, dense)
        idf = _Idf.fit(blocks, config.min_df)
        svm = _fit_svm(_with_dense(idf.apply(blocks), dense, config.dense_weight), all_labels, config)
        featurizer = _Featurizer(analyzers, vocabularies, idf)
        return cls(config, featurizer, svm, temperature, 0 if dense is None else int(dense.shape[1]))

    def _check_dense(self, dense: DenseArray | None, rows: int) -> None:
        if self.dense_dim and (dense is None or dense.shape != (rows, self.dense_dim)):
            raise ValueError(f"this classifier needs a ({rows}, {self.dense_dim}) embedding array")

    def predict_proba(self, texts: Sequence[str], dense: DenseArray | None = None) -> FloatArray:
        """Probabilities, one row per text, columns in ``classes`` order."""
        self._check_dense(dense, len(texts))
        docs = [_document(t, self.config.max_chars) for t in texts]
        features = _with_dense(
            self._featurizer.transform(docs), dense if self.dense_dim else None, self.config.dense_weight
        )
        return softmax(_svm_scores(self._svm, features), self.temperature)

    def predict_proba_one(self, text: str, embedding: DenseArray | None = None) -> FloatArray:
        """``predict_proba([text])[0]``, about ten times faster (the parse path)."""
        indices, values = self._featurizer.transform_one(_document(text, self.config.max_chars))
        scores = values @ self._weights_by_feature[indices] + self._intercept
        if self.dense_dim:
            self._check_dense(None if embedding is None else embedding.reshape(1, -1), 1)
            assert embedding is not None
            scores = scores + embedding.astype(np.float64) @ self._dense_weights
        return softmax(scores, self.temperature)
