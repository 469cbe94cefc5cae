"""Routing accuracy on the routing set: does a request for a person reach the right department?

Each line of ``tests/data/routing.jsonl`` is a scripted web-chat conversation ending in a
request for a person or a filed complaint, with the department it must land in. The hub runs
in process with its real pipeline and workers (embedded NLU, or Rasa in front of it when
``RASA_URL`` is set or ``--rasa`` starts a server on the cached model); each conversation is
a new web-chat session that says its turns through the API, each turn once the previous one
was answered. ``after_minutes`` on a turn stands for the citizen writing that much later: the
conversation's remembered topic is moved that far into the past before the turn is said.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/routing_accuracy.py [--rasa] [--show-misses]

Prints accuracy per department and overall; asserts nothing. ``tests/integration/
conversations/test_routing_set.py`` runs the same set and asserts a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import select, update  # noqa: E402

from app.conversations.models import Conversation, Message  # noqa: E402
from app.conversations.service import message_texts  # noqa: E402
from app.services import Services  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.webchat.service import find_conversation  # noqa: E402
from benchmarks import harness  # noqa: E402

ROUTING_SET = REPO_ROOT / "tests" / "data" / "routing.jsonl"
CONCURRENCY = 6  # conversations at once: the workers batch them as they would live traffic
REPLY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Turn:
    say: str
    after_minutes: float = 0.0


@dataclass(frozen=True)
class RoutingCase:
    id: str
    department: str  # where the conversation must be queued
    turns: tuple[Turn, ...]
    topic: str | None = None  # the entry it must be routed by, where the set says
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    case: RoutingCase
    state: str
    department: str | None
    topic: str | None
    question: str | None  # the text of the message the queue row shows

    @property
    def routed_right(self) -> bool:
        return self.state != "bot" and self.department == self.case.department


def load_routing_set(path: Path = ROUTING_SET) -> list[RoutingCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        turns = tuple(Turn(t["say"], float(t.get("after_minutes", 0))) for t in row["turns"])
        cases.append(RoutingCase(row["id"], row["department"], turns, row.get("topic"), row.get("note", "")))
    return cases


async def _replies(client: httpx.AsyncClient, session_id: str, headers: dict[str, str]) -> int:
    response = await client.get(f"/api/webchat/sessions/{session_id}/messages", headers=headers)
    response.raise_for_status()
    return sum(1 for m in response.json()["messages"] if m["direction"] == "out")


async def _wait_for_replies(
    client: httpx.AsyncClient, session_id: str, headers: dict[str, str], count: int
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPLY_TIMEOUT_S
    while await _replies(client, session_id, headers) < count:
        if loop.time() > deadline:
            raise TimeoutError(f"no reply within {REPLY_TIMEOUT_S}s in session {session_id}")
        await asyncio.sleep(0.02)


async def _pass_time(services: Services, conversation_id: str, minutes: float) -> None:
    """The citizen writes ``minutes`` later: what the conversation remembers is that much older."""
    async with services.sessionmaker() as session, session.begin():
        conversation = await session.get(Conversation, conversation_id)
        if conversation is not None and conversation.recent_faq_at is not None:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(recent_faq_at=conversation.recent_faq_at - dt.timedelta(minutes=minutes))
            )


async def run_case(client: httpx.AsyncClient, services: Services, case: RoutingCase) -> Outcome:
    response = await client.post("/api/webchat/sessions")
    response.raise_for_status()
    body = response.json()
    session_id, headers = body["session_id"], {"Authorization": f"Bearer {body['token']}"}
    async with services.sessionmaker() as session:
        found = await find_conversation(session, session_id)
    assert found is not None
    conversation_id = found.id
    for n, turn in enumerate(case.turns, start=1):
        if turn.after_minutes:
            await _pass_time(services, conversation_id, turn.after_minutes)
        said = await client.post(
            f"/api/webchat/sessions/{session_id}/messages",
            json={"text": turn.say, "client_message_id": f"{case.id}-{n}-{uuid.uuid4().hex[:6]}"},
            headers=headers,
        )
        said.raise_for_status()
        await _wait_for_replies(client, session_id, headers, n)
    async with services.sessionmaker() as session:
        row = await session.get(Conversation, conversation_id)
        assert row is not None
        question = (await message_texts(session, [row.question_message_id])).get(row.question_message_id or 0)
    return Outcome(
        case, row.state, row.department if row.state != "bot" else None, row.topic_faq_id, question
    )


async def run_routing_set(
    client: httpx.AsyncClient, services: Services, cases: Sequence[RoutingCase]
) -> list[Outcome]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(case: RoutingCase) -> Outcome:
        async with limit:
            return await run_case(client, services, case)

    return list(await asyncio.gather(*(one(case) for case in cases)))


def accuracy_table(outcomes: Sequence[Outcome]) -> list[tuple[str, int, int]]:
    """(department, right, total) per expected department, then ``overall``."""
    departments = sorted({o.case.department for o in outcomes})
    rows = []
    for department in departments:
        mine = [o for o in outcomes if o.case.department == department]
        rows.append((department, sum(o.routed_right for o in mine), len(mine)))
    rows.append(("overall", sum(o.routed_right for o in outcomes), len(outcomes)))
    return rows


def topic_agreement(outcomes: Sequence[Outcome]) -> tuple[int, int]:
    """Of the conversations whose expected topic the set names: how many were routed by it."""
    named = [o for o in outcomes if o.case.topic is not None]
    return sum(o.topic == o.case.topic for o in named), len(named)


async def engines_used(services: Services) -> dict[str, int]:
    """How many citizen messages each NLU engine understood (Rasa falls back to embedded)."""
    async with services.sessionmaker() as session:
        records = (await session.scalars(select(Message.nlu).where(Message.direction == "in"))).all()
    return dict(Counter(str(r.get("engine")) for r in records if r and r.get("engine")))


@contextlib.asynccontextmanager
async def hub(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    async with harness.hub_in_process(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield client, app.state.services


def hub_settings(var_dir: Path, rasa_url: str | None) -> Settings:
    return harness.hub_settings(
        var_dir,
        GOVCHAT_LOG_LEVEL="INFO",
        GOVCHAT_POLL_INTERVAL=0.02,
        GOVCHAT_WORKERS=2,
        GOVCHAT_WEBCHAT_SESSIONS_PER_HOUR=100_000,
        RASA_URL=rasa_url,
    )


@contextlib.contextmanager
def rasa_server() -> Iterator[str]:
    """A Rasa server on the cached model of the current knowledge base (``make rasa-model``)."""
    from nlu.commands import build_govchat_project
    from nlu.rasa_env import ensure
    from nlu.rasa_runner import RasaServer, train_model

    with tempfile.TemporaryDirectory() as build:
        env = ensure(quiet=True)
        model, _trained = train_model(build_govchat_project(build_root=Path(build)), env)
        with RasaServer(env, model) as server:
            yield server.url


async def measure(rasa_url: str | None, show_misses: bool) -> None:
    cases = load_routing_set()
    with tempfile.TemporaryDirectory() as var_dir:
        async with hub(hub_settings(Path(var_dir), rasa_url)) as (client, services):
            outcomes = await run_routing_set(client, services, cases)
            engines = await engines_used(services)
    turns = sum(len(c.turns) for c in cases)
    print(f"routing set: {len(cases)} conversations, {turns} turns; NLU decisions by engine: {engines}")
    for department, right, total in accuracy_table(outcomes):
        print(f"  {department:<13} {right:>3}/{total:<3} {right / total:7.1%}")
    agreed, named = topic_agreement(outcomes)
    print(f"  topic as named by the set: {agreed}/{named}")
    if show_misses:
        for o in outcomes:
            if not o.routed_right or (o.case.topic and o.topic != o.case.topic):
                print(
                    f"  miss {o.case.id}: want {o.case.department}/{o.case.topic} got {o.department}/{o.topic}"
                )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rasa", action="store_true", help="start a Rasa server on the cached model")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    if args.rasa:
        with rasa_server() as url:
            asyncio.run(measure(url, args.show_misses))
    else:
        asyncio.run(measure(os.environ.get("RASA_URL") or None, args.show_misses))


if __name__ == "__main__":
    main()
