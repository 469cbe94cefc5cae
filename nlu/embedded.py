"""The in-process NLU engine: the default without ``RASA_URL`` and the fallback when Rasa fails.

Trained at start-up from the same examples as Rasa (``nlu.examples``), in well under a second
for the knowledge base. Features are TF-IDF over the PyThaiNLP words of ``nlu.thai_text``
(1-2-grams), character n-grams inside those words, and character n-grams of the normalised text
(robust to the arbitrary spacing of Thai). A linear SVM scores one flat label per FAQ entry
(``faq/<id>``) and per core intent; a softmax with one temperature, fitted on out-of-fold scores,
turns the scores into calibrated probabilities. Hence:

- ``P(faq)`` is the sum over the ``faq/*`` labels, the other intents are their own label;
- each ``faq_ranking`` confidence is the joint ``P(intent = faq and entry = id)``: the probability
  that answering this entry is right, which is what the policy's answer threshold needs.

The engine never decides to fall back: it always reports its best intent (see ``nlu.client``).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.svm import LinearSVC

from knowledge_base.loader import KnowledgeBase
from nlu.client import CORE_INTENTS, FAQ_INTENT, Prediction, Ranked
from nlu.examples import Example, load_training_examples
from nlu.thai_text import normalize, tokenize

FAQ_PREFIX = "faq/"
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class EngineConfig:
    word_ngrams: tuple[int, int] = (1, 2)
    word_char_ngrams: tuple[int, int] = (1, 4)  # inside each word
    text_char_ngrams: tuple[int, int] = (3, 5)  # across the normalised text, spaces included
    min_df: int = 1
    svm_c: float = 0.5
    calibration_folds: int = 5
    # Above this many examples one held-out fold is enough to fit a single temperature.
    full_calibration_max_examples: int = 3000
    # The chat channels cap messages at 2,000 code points; longer input only costs time.
    max_chars: int = 2000
    faq_ranking_size: int = 10
    seed: int = 0


@dataclass(frozen=True)
class _Document:
    words: str  # tokens joined by spaces
    text: str  # normalised text


def _document(text: str, max_chars: int) -> _Document:
    clipped = text[:max_chars]
    return _Document(words=" ".join(tokenize(clipped)), text=normalize(clipped))


class _Featurizer:
    """Three TF-IDF blocks, each L2-normalised and weighted so that the whole row has norm 1."""

    def __init__(self, config: EngineConfig) -> None:
        common = {"sublinear_tf": True, "lowercase": False, "dtype": np.float64}
        self._word = TfidfVectorizer(token_pattern=r"\S+", ngram_range=config.word_ngrams, **common)
        self._word_char = TfidfVectorizer(
            analyzer="char_wb", ngram_range=config.word_char_ngrams, min_df=config.min_df, **common
        )
        self._text_char = TfidfVectorizer(
            analyzer="char_wb", ngram_range=config.text_char_ngrams, min_df=config.min_df, **common
        )
        self._weight = 1.0 / math.sqrt(3.0)
        self._fast: list[tuple[Callable[[str], list[str]], dict[str, int], FloatArray, int]] = []

    def fit_transform(self, docs: Sequence[_Document]) -> sparse.csr_matrix:
        words = [d.words for d in docs]
        blocks = [
            self._word.fit_transform(words),
            self._word_char.fit_transform(words),
            self._text_char.fit_transform([d.text for d in docs]),
        ]
        self._prepare_fast_path()
        return sparse.hstack(blocks, format="csr") * self._weight

    def _prepare_fast_path(self) -> None:
        offset = 0
        self._fast = []
        for vectorizer in (self._word, self._word_char, self._text_char):
            vocabulary: dict[str, int] = vectorizer.vocabulary_
            self._fast.append((vectorizer.build_analyzer(), vocabulary, vectorizer.idf_, offset))
            offset += len(vocabulary)

    def transform_one(self, doc: _Document) -> tuple[NDArray[np.intp], FloatArray]:
        """One row as (column indices, values), equal to ``transform([doc])`` without scipy's overhead.

        Mirrors ``TfidfVectorizer``: counts, ``1 + log(tf)``, times idf, L2 norm per block.
        """
        indices: list[int] = []
        values: list[float] = []
        for (analyze, vocabulary, idf, offset), source in zip(
            self._fast, (doc.words, doc.words, doc.text), strict=True
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
            indices.extend(offset + c for c in counts)
            values.extend(v * self._weight / norm for v in block)
        return np.asarray(indices, dtype=np.intp), np.asarray(values, dtype=np.float64)

    def transform(self, docs: Sequence[_Document]) -> sparse.csr_matrix:
        words = [d.words for d in docs]
        blocks = [
            self._word.transform(words),
            self._word_char.transform(words),
            self._text_char.transform([d.text for d in docs]),
        ]
        return sparse.hstack(blocks, format="csr") * self._weight


def _fit_svm(features: sparse.csr_matrix, labels: Sequence[str], config: EngineConfig) -> LinearSVC:
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


def _fit_temperature(scores: FloatArray, truth: NDArray[np.int64]) -> float:
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
    docs: Sequence[_Document],
    labels: Sequence[str],
    extra: Sequence[tuple[_Document, str]],
    classes: Sequence[str],
    config: EngineConfig,
) -> float:
    column = {label: i for i, label in enumerate(classes)}
    fold_scores: list[FloatArray] = []
    fold_truth: list[int] = []
    for train_idx, test_idx in _calibration_splits(labels, config):
        train_docs = [docs[i] for i in train_idx] + [d for d, _ in extra]
        train_labels = [labels[i] for i in train_idx] + [label for _, label in extra]
        if len(set(train_labels)) < 2:
            continue
        featurizer = _Featurizer(config)
        svm = _fit_svm(featurizer.fit_transform(train_docs), train_labels, config)
        raw = _svm_scores(svm, featurizer.transform([docs[i] for i in test_idx]))
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
    return _fit_temperature(np.vstack(fold_scores), np.asarray(fold_truth, dtype=np.int64))


class TextClassifier:
    """Features, linear SVM and temperature: calibrated probabilities over any set of labels."""

    def __init__(
        self, config: EngineConfig, featurizer: _Featurizer, svm: LinearSVC, temperature: float
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
        # Rows per feature: one text's scores are a gather of ~100 rows and a dot product.
        self._weights_by_feature = np.ascontiguousarray(coef.T)
        self._intercept = intercept

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        config: EngineConfig | None = None,
        extra: Sequence[tuple[str, str]] = (),
    ) -> TextClassifier:
        """Train on ``texts``; ``extra`` (text, label) pairs are trained on but never used to calibrate."""
        config = config or EngineConfig()
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        if len(set(labels) | {label for _, label in extra}) < 2:
            raise ValueError("the embedded NLU needs examples of at least two labels")
        docs = [_document(t, config.max_chars) for t in texts]
        extra_docs = [(_document(t, config.max_chars), label) for t, label in extra]
        classes = sorted(set(labels) | {label for _, label in extra})
        temperature = _out_of_fold_temperature(docs, labels, extra_docs, classes, config)
        featurizer = _Featurizer(config)
        all_docs = docs + [d for d, _ in extra_docs]
        all_labels = [*labels, *(label for _, label in extra_docs)]
        svm = _fit_svm(featurizer.fit_transform(all_docs), all_labels, config)
        return cls(config, featurizer, svm, temperature)

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        """Probabilities, one row per text, columns in ``classes`` order."""
        docs = [_document(t, self.config.max_chars) for t in texts]
        return softmax(_svm_scores(self._svm, self._featurizer.transform(docs)), self.temperature)

    def predict_proba_one(self, text: str) -> FloatArray:
        """``predict_proba([text])[0]``, about ten times faster (the parse path)."""
        indices, values = self._featurizer.transform_one(_document(text, self.config.max_chars))
        scores = values @ self._weights_by_feature[indices] + self._intercept
        return softmax(scores, self.temperature)


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
