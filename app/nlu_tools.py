"""``govchat nlu predict`` and ``govchat nlu evaluate``: the live NLU and policy, offline."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from app.conversations.policy import Decision, DecisionPolicy, Thresholds, TurnContext
from app.settings import Settings
from knowledge_base.conversation import load_routing_rules
from knowledge_base.loader import DEFAULT_ROOT, KnowledgeBaseStore
from nlu.client import FAQ_INTENT, NluClient


def build_policy(settings: Settings, kb_store: KnowledgeBaseStore) -> DecisionPolicy:
    return DecisionPolicy(
        Thresholds(settings.answer_threshold, settings.clarify_threshold, settings.intent_threshold),
        load_routing_rules(),
        lambda: kb_store.current,
    )


def prediction_record(text: str, decision: Decision) -> dict[str, Any]:
    """One output line of ``govchat nlu predict`` (INTERFACES.md)."""
    return {
        "text": text,
        "intent": decision.intent,
        "faq_id": decision.faq_id if decision.intent == FAQ_INTENT else None,
        "confidence": round(float(decision.confidence), 4),
        "action": decision.action.value,
        "suggestions": list(decision.suggestions),
    }


async def predict_lines(texts: list[str], nlu: NluClient, policy: DecisionPolicy) -> list[dict[str, Any]]:
    records = []
    for text in texts:
        _prediction, decision = await policy.decide_message(text, nlu, TurnContext())
        records.append(prediction_record(text, decision))
    return records


def _read_texts(source: TextIO) -> list[str]:
    texts = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise SystemExit(f"line {number}: not JSON ({error.msg})") from error
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise SystemExit(f'line {number}: expected {{"text": str}}')
        texts.append(data["text"])
    return texts


async def _predict(settings: Settings, texts: list[str]) -> list[dict[str, Any]]:
    from app.main import build_nlu

    kb_store = KnowledgeBaseStore(settings.kb_dir or DEFAULT_ROOT)
    nlu = await build_nlu(settings, kb_store)
    try:
        return await predict_lines(texts, nlu, build_policy(settings, kb_store))
    finally:
        await nlu.aclose()


def predict_file(settings: Settings, input_path: str, output_path: str) -> int:
    with open(input_path, encoding="utf-8") if input_path != "-" else sys.stdin as source:
        texts = _read_texts(source)
    records = asyncio.run(_predict(settings, texts))
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if output_path == "-":
        sys.stdout.write(lines)
    else:
        Path(output_path).write_text(lines, encoding="utf-8")
    return 0


def evaluate(settings: Settings, folds: int) -> int:
    from knowledge_base.loader import load_knowledge_base
    from nlu.embedded import embedded_trainer, knowledge_base_documents
    from nlu.evaluate import cross_validate
    from nlu.examples import load_training_examples

    kb = load_knowledge_base(settings.kb_dir or DEFAULT_ROOT)
    trainer = embedded_trainer(knowledge_base_documents(kb))
    report = cross_validate(load_training_examples(kb), folds=folds, trainer=trainer)
    print(report.format())
    return 0
