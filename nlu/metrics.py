"""Classification metrics on plain label lists: per-label scores, confusions, calibration."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

TOP_CONFUSIONS = 15


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    count: int
    mean_confidence: float
    accuracy: float


def label_scores(
    truth: Sequence[str], predicted: Sequence[str], labels: Iterable[str]
) -> tuple[LabelScore, ...]:
    pairs = list(zip(truth, predicted, strict=True))
    scores = []
    for label in labels:
        tp = sum(1 for t, p in pairs if t == label and p == label)
        predicted_n = sum(1 for _, p in pairs if p == label)
        support = sum(1 for t, _ in pairs if t == label)
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(LabelScore(label, precision, recall, f1, support))
    return tuple(scores)


def top_confusions(
    truth: Sequence[str], predicted: Sequence[str], limit: int = TOP_CONFUSIONS
) -> tuple[tuple[str, str, int], ...]:
    counts = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple((t, p, n) for (t, p), n in ranked[:limit])


def calibration_bins(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> tuple[tuple[CalibrationBin, ...], float]:
    """Reliability table and expected calibration error (count-weighted |accuracy - confidence|)."""
    conf = np.asarray(confidences, dtype=np.float64)
    right = np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    table, ece = [], 0.0
    for i in range(bins):
        low, high = float(edges[i]), float(edges[i + 1])
        inside = (conf >= low) & ((conf < high) if i < bins - 1 else (conf <= high))
        n = int(inside.sum())
        mean_conf = float(conf[inside].mean()) if n else 0.0
        accuracy = float(right[inside].mean()) if n else 0.0
        table.append(CalibrationBin(low, high, n, mean_conf, accuracy))
        ece += n * abs(accuracy - mean_conf)
    return tuple(table), ece / len(conf) if len(conf) else 0.0


def agreement(truth: Sequence[str], predicted: Sequence[str]) -> float:
    pairs = list(zip(truth, predicted, strict=True))
    return sum(t == p for t, p in pairs) / len(pairs) if pairs else 0.0
