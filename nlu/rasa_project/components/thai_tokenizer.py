"""Thai word tokenizer for Rasa 3.6: PyThaiNLP ``newmm`` after govchat's normalisation.

Tokens come from ``nlu.thai_text.tokenize`` (the same words the embedded engine sees).
Each token's ``text`` is the citizen's original spelling (``message[start:end]``) and its
``lemma`` is the normalised word ("ครับบบ" -> lemma "ครับ", "๙" -> "9"); Rasa's
CountVectorsFeaturizer reads lemmas by default, so features ignore emphasis and digit style.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from nlu.rasa_project.components.token_offsets import align
from nlu.thai_text import tokenize as thai_words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ThaiTokenizer(Tokenizer):
    """Splits Thai (and mixed Thai/Latin) text into words with offsets into the original."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def supported_languages() -> list[str] | None:
        return None  # Thai first, but Latin words in the same message are tokenised too

    @staticmethod
    def required_packages() -> list[str]:
        return ["pythainlp"]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ThaiTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        words = thai_words(text)
        if not words:
            # Rasa expects at least one token for a non-empty attribute (e.g. "!!!" alone)
            stripped = text.strip()
            if not stripped:
                return []
            start = text.index(stripped)
            return [Token(stripped, start, start + len(stripped), lemma=stripped)]
        tokens = [
            Token(text[start:end] or word, start, end, lemma=word)
            for word, (start, end) in zip(words, align(text, words), strict=True)
        ]
        return self._apply_token_pattern(tokens)
