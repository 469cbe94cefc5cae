"""CountVectorsFeaturizer that keeps Thai words whole.

Rasa's CountVectorsFeaturizer re-splits the joined tokens with ``\\b\\w+\\b``. Thai vowel
and tone marks are not ``\\w`` in Python, so "ขอบคุณ ครับ" becomes "ขอบค", "ณ", "คร", "บ":
the word features DIET and the stock pipeline see are fragments. Our tokens are already
words (ThaiTokenizer) and never contain spaces, so we split on spaces only.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from sklearn.feature_extraction.text import CountVectorizer

WHOLE_TOKENS = r"(?u)[^ ]+"


def _keep_tokens_whole(vectorizers: dict[str, CountVectorizer]) -> dict[str, CountVectorizer]:
    for vectorizer in vectorizers.values():
        if vectorizer.analyzer == "word":
            vectorizer.token_pattern = WHOLE_TOKENS
    return vectorizers


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class ThaiCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Bag of words / n-grams over ThaiTokenizer's tokens, each token one unit."""

    @classmethod
    def _create_shared_vocab_vectorizers(
        cls, parameters: dict[str, Any], vocabulary: Any | None = None
    ) -> dict[str, CountVectorizer]:
        return _keep_tokens_whole(super()._create_shared_vocab_vectorizers(parameters, vocabulary))

    @classmethod
    def _create_independent_vocab_vectorizers(
        cls, parameters: dict[str, Any], vocabulary: Any | None = None
    ) -> dict[str, CountVectorizer]:
        return _keep_tokens_whole(super()._create_independent_vocab_vectorizers(parameters, vocabulary))
