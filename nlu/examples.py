"""Labelled training examples for every NLU backend, from one place.

FAQ questions come from the knowledge base (intent ``faq`` with the entry id); the core
intents' examples come from ``nlu/data/core_intents.yml``. Rasa training data and the
embedded engine are both built from ``load_training_examples``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge_base.loader import KnowledgeBase
from knowledge_base.parsing import read_yaml
from nlu.client import CORE_INTENTS, FAQ_INTENT

CORE_INTENTS_FILE = Path(__file__).parent / "data" / "core_intents.yml"


@dataclass(frozen=True)
class Example:
    text: str
    intent: str  # ``faq`` or a core intent
    faq_id: str | None = None

    @property
    def label(self) -> str:
        """One flat label: the FAQ id for FAQ questions, else the intent."""
        return f"faq/{self.faq_id}" if self.faq_id else self.intent


def load_core_examples(path: Path = CORE_INTENTS_FILE) -> list[Example]:
    data = read_yaml(path) or {}
    unknown = set(data) - set(CORE_INTENTS)
    if unknown:
        raise ValueError(f"{path}: unknown core intents {sorted(unknown)}")
    return [
        Example(text=str(text), intent=intent) for intent in CORE_INTENTS for text in data.get(intent, [])
    ]


def load_training_examples(kb: KnowledgeBase, core_path: Path = CORE_INTENTS_FILE) -> list[Example]:
    faq = [
        Example(text=question, intent=FAQ_INTENT, faq_id=entry.id)
        for entry in kb.entries.values()
        for question in entry.questions
    ]
    return faq + load_core_examples(core_path)
