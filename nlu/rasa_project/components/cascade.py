"""Dense features only where the sparse model is unsure: the parse path of our linear components.

The e5 embedding costs 13-19 ms of CPU a sentence; the sparse model about a millisecond. Trained with
dense features, a linear component keeps two models: sparse alone and sparse + dense. At parse time
the sparse model scores every message, and a message goes to the dense model only when

- the sparse model's confidence is below ``below`` (None: always), or
- it already has its embedding (another component asked for it): the better model, at no cost.

The confidence is the top probability, or what ``confidence`` makes of it: the response selector
scores FAQ entries given that the message is an FAQ question, and asks whether the best label of the
whole message (the best other intent, or the FAQ intent times its best entry) is sure, as the
embedded engine does over its flat labels; so "thank you" is not embedded to rank FAQ entries.

Messages that need an embedding ask for it all in one call (``embed``), so a batch of messages costs
one encoder call. The embedded engine (``nlu.embedded``) runs the same cascade.

Numpy only (no Rasa import), so the hub's unit tests exercise it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nlu.rasa_project.components.linear_model import LinearTextModel

# A message's sparse sentence features as (column indices, counts): ``LinearTextModel.predict_proba_one``.
SparseRow = tuple[np.ndarray, np.ndarray]
# Embeds the messages at these positions; an entry is None where a message cannot be embedded (no text).
Embed = Callable[[list[int]], list[np.ndarray | None]]
# A message's confidence (by position) given the sparse model's probabilities.
Confidence = Callable[[int, np.ndarray], float]


def top_probability(_position: int, probabilities: np.ndarray) -> float:
    return float(probabilities.max())


def joint_confidence(p_retrieval: float, best_other: float, probabilities: np.ndarray) -> float:
    """The best flat label's probability: another intent, or the retrieval intent and its best key."""
    return max(best_other, p_retrieval * float(probabilities.max()))


# On the held-out sets (benchmarks/rasa_parse_cost.py, RESULTS.md 2026-12-07) 0.97 is the lowest
# threshold tried (0.8, 0.9, 0.95, 0.97, 0.99) at which every intent and FAQ entry is what embedding
# every message gives; at 0.8-0.95 two near misses (a complaint, another agency's trademark service)
# are taken for FAQ questions at 0.955-0.964. 36% of held-out messages are embedded, ~0% of questions
# the model trained on. (The embedded engine's flat model is calibrated differently: 0.8 there.)
DEFAULT_CASCADE_BELOW = 0.97


def cascade_probabilities(
    sparse: LinearTextModel,
    dense: LinearTextModel,
    rows: Sequence[SparseRow],
    embeddings: list[np.ndarray | None],
    embed: Embed,
    below: float | None = DEFAULT_CASCADE_BELOW,
    confidence: Confidence = top_probability,
) -> list[np.ndarray]:
    """Class probabilities per message (``dense.classes`` order, which is ``sparse.classes``).

    ``embeddings`` holds the embeddings the messages already have (None where not); it is filled in
    for the messages embedded here."""
    if sparse.classes != dense.classes:
        raise ValueError("the sparse and the dense model must have the same classes")
    probabilities: list[np.ndarray | None] = [None] * len(rows)
    sparse_only: dict[int, np.ndarray] = {}
    for i, row in enumerate(rows):
        if embeddings[i] is not None:
            continue
        if below is not None:
            scored = sparse.predict_proba_one(*row)
            if confidence(i, scored) >= below:
                probabilities[i] = scored
                continue
            sparse_only[i] = scored
    unsure = [i for i, p in enumerate(probabilities) if p is None and embeddings[i] is None]
    if unsure:
        for i, embedding in zip(unsure, embed(unsure), strict=True):
            embeddings[i] = embedding
    result = []
    for i, row in enumerate(rows):
        known = probabilities[i]
        if known is None:
            embedding = embeddings[i]
            if embedding is not None and len(embedding) == dense.dense_dim:
                known = dense.predict_proba_one(*row, embedding)
            else:  # nothing to embed (no text): the sparse model is the one trained for that
                known = sparse_only[i] if i in sparse_only else sparse.predict_proba_one(*row)
        result.append(known)
    return result
