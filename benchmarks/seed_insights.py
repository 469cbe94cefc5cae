"""Seeds one day of traffic into a fresh SQLite database and prints the insights JSON and the
open-data CSV built from it, with how long each took. Asserts nothing.

    .venv/bin/python benchmarks/seed_insights.py                 # about 600 citizen messages
    .venv/bin/python benchmarks/seed_insights.py --messages 5000 --seed 7

The traffic is synthetic (a fixed random seed): answers from the knowledge base, small talk,
clarifications, escalations with officer replies and ratings, and a few questions the bot could
not answer, typed in several spellings, some with a national ID number or a phone number.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.conversations.models import Citizen, Conversation, Escalation, Message  # noqa: E402
from app.db.engine import create_engine, create_sessionmaker  # noqa: E402
from app.db.migrate import run_migrations  # noqa: E402
from app.insights.opendata import build_open_data  # noqa: E402
from app.insights.service import build_insights  # noqa: E402
from knowledge_base.loader import load_knowledge_base  # noqa: E402

BANGKOK = ZoneInfo("Asia/Bangkok")
CHANNELS = (("line", 0.6), ("facebook", 0.25), ("webchat", 0.15))
UNANSWERED = [
    (
        "financial_statement_deadline",
        [
            "ส่งงบการเงินช้า ค่าปรับเท่าไหร่คะ",
            "ค่าปรับส่งงบการเงินช้าเท่าไหร่",
            "ส่งงบการเงินช้าาา ค่าปรับเท่าไหร่ครับ",
            "ส่งงบการเงินช้า ค่าปรับเท่าไร",
        ],
    ),
    (
        "company_certificate",
        [
            "ขอหนังสือรับรองภาษาอังกฤษได้ไหม",
            "หนังสือรับรองภาษาอังกฤษ ขอได้ไหมคะ",
            "ขอหนังสือรับรองเป็นภาษาอังกฤษได้มั้ย",
        ],
    ),
    (
        None,
        [
            "เลขบัตร 1101700207030 ตรวจสอบสถานะให้หน่อย",
            "เลขบัตร 3100600445562 ตรวจสอบสถานะให้หน่อยค่ะ",
            "โทรกลับที่ 081-234-5678 ด้วยครับ",
            "โทรกลับที่ 089 765 4321 ด้วยค่ะ",
        ],
    ),
    (None, ["ร้านอาหารแถวกรมเปิดกี่โมง", "ร้านอาหารแถวกรมเปิดกี่โมงคะ"]),
]
SMALLTALK = [("greet", "สวัสดีค่ะ"), ("thanks", "ขอบคุณมากครับ"), ("goodbye", "บายค่ะ")]


def _decision(
    action: str, intent: str, faq_id: str | None, confidence: float, **extra: Any
) -> dict[str, Any]:
    record = {"intent": intent, "confidence": round(confidence, 4), "faq_id": faq_id, "action": action}
    return {**record, **extra}


def _citizen_turn(
    rng: random.Random, faq_ids: list[str], questions: dict[str, list[str]]
) -> tuple[str, dict[str, Any]]:
    roll = rng.random()
    if roll < 0.62:
        faq_id = rng.choice(faq_ids)
        confidence = rng.uniform(0.72, 0.99) if rng.random() > 0.06 else rng.uniform(0.56, 0.7)
        return rng.choice(questions[faq_id]), _decision("answer", "faq", faq_id, confidence)
    if roll < 0.75:
        intent, text = rng.choice(SMALLTALK)
        return text, _decision("smalltalk", intent, None, rng.uniform(0.7, 0.99))
    if roll < 0.82:
        faq_id = rng.choice(faq_ids)
        ranking = [{"name": faq_id, "confidence": 0.4}]
        return rng.choice(questions[faq_id]), _decision("clarify", "faq", faq_id, 0.4, faq_ranking=ranking)
    if roll < 0.87:
        return "คุยกับเจ้าหน้าที่", _decision("escalate", "request_human", None, 1.0, reason="requested")
    guess, texts = rng.choice(UNANSWERED)
    ranking = [{"name": guess, "confidence": 0.3}] if guess else []
    if rng.random() < 0.5:
        return rng.choice(texts), _decision("fallback", "nlu_fallback", None, 0.2, faq_ranking=ranking)
    return rng.choice(texts), _decision(
        "escalate", "faq", guess, 0.3, reason="low_confidence", faq_ranking=ranking
    )


async def seed(url: str, messages: int, rng: random.Random, day: dt.date) -> None:
    kb = load_knowledge_base()
    faq_ids = list(kb.entries)
    questions = {entry.id: entry.questions for entry in kb.entries.values()}
    start = dt.datetime.combine(day, dt.time(8), BANGKOK)
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session, session.begin():
        written = 0
        while written < messages:
            channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
            citizen = Citizen(channel=channel, external_id=f"U{rng.getrandbits(64):016x}")
            session.add(citizen)
            await session.flush()
            conversation = Conversation(citizen_id=citizen.id, channel=channel)
            session.add(conversation)
            await session.flush()
            when = start + dt.timedelta(minutes=rng.uniform(0, 9 * 60))
            for _ in range(rng.randint(1, 4)):
                text, nlu = _citizen_turn(rng, faq_ids, questions)
                when += dt.timedelta(seconds=rng.uniform(20, 300))
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        direction="in",
                        sender="citizen",
                        text=text,
                        nlu=nlu,
                        created_at=when,
                    )
                )
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        direction="out",
                        sender="bot",
                        text="…",
                        created_at=when + dt.timedelta(seconds=1),
                    )
                )
                written += 1
                if nlu["action"] == "escalate":
                    replied = when + dt.timedelta(minutes=rng.uniform(1, 40))
                    session.add(
                        Escalation(
                            conversation_id=conversation.id,
                            department="general",
                            reason=nlu["reason"],
                            created_at=when,
                            first_reply_at=replied,
                            resolved_at=replied + dt.timedelta(minutes=10),
                            rating=rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 6])[0],
                        )
                    )
                    break
    await engine.dispose()


async def run(messages: int, seed_value: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'govchat.db'}"
        await asyncio.to_thread(run_migrations, url)
        today = dt.datetime.now(BANGKOK).date()
        day = today - dt.timedelta(days=1)
        started = time.perf_counter()
        await seed(url, messages, random.Random(seed_value), day)
        seeded = time.perf_counter() - started
        engine = create_engine(url)
        kb = load_knowledge_base()
        async with create_sessionmaker(engine)() as session:
            started = time.perf_counter()
            insights = await build_insights(
                session, kb, days=7, answer_threshold=0.55, stale_after_days=365, now=dt.datetime.now(dt.UTC)
            )
            insights_seconds = time.perf_counter() - started
            started = time.perf_counter()
            csv_text = await build_open_data(session, day, day, kb.entries.keys())
            csv_seconds = time.perf_counter() - started
        await engine.dispose()
    print(f"# seeded {messages} citizen messages of {day} in {seeded:.1f} s")
    print(f"# insights in {insights_seconds:.2f} s, open data in {csv_seconds:.2f} s")
    print(json.dumps(insights, ensure_ascii=False, indent=2))
    print(csv_text.lstrip("\ufeff"), end="")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.seed))


if __name__ == "__main__":
    main()
