"""What ``benchmarks/load.py`` sends and measures: the citizens' messages, one step, judging it.

* ``Workload``: Thai texts and citizens, new and returning, the same sequence for every system;
* ``Message``/``Step``: one message's timings, one step's messages and verdict (``judge``).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import HELDOUT, HELDOUT_EN, percentile
from knowledge_base.loader import load_knowledge_base
from nlu.client import FAQ_INTENT
from nlu.evaluate import load_heldout
from nlu.examples import load_core_examples

REPO_ROOT = Path(__file__).resolve().parent.parent
PEER = "rasa REST channel"
VAR_DIR = REPO_ROOT / "var" / "bench-load"  # embedded-engine cache, logs
SMALLTALK_INTENTS = ("greet", "thanks", "goodbye")
SMALLTALK_SHARE = 0.15
RETURN_GAP_S = 5.0
LAG_LIMIT_S = 0.050


# -- what citizens send ----------------------------------------------------------------------


class Workload:
    """Thai texts and citizens: new ones, and returning ones whose last message is old enough."""

    def __init__(self, questions: Sequence[str], smalltalk: Sequence[str], returning: float, seed: int):
        self.questions, self.smalltalk, self.returning = list(questions), list(smalltalk), returning
        self.seed = seed
        self.rng = random.Random(seed)
        self._idle: deque[tuple[float, str]] = deque()  # (free from, user), in time order
        self._retired: set[str] = set()

    def fresh(self) -> Workload:
        """The same texts and choices, no citizens yet: every system gets the same sequence."""
        return Workload(self.questions, self.smalltalk, self.returning, self.seed)

    def text(self, rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        pool = self.smalltalk if rng.random() < SMALLTALK_SHARE else self.questions
        return rng.choice(pool)

    def new_user(self) -> str:
        return f"U{self.rng.getrandbits(128):032x}"

    def plan(self, count: int, rate: float) -> list[tuple[str, str]]:
        """``count`` (user, text) pairs for a step at ``rate``; earlier steps' citizens are idle."""
        self._idle = deque((float("-inf"), user) for _, user in self._idle)
        planned = []
        for n in range(count):
            at = n / rate
            user = None
            if self.rng.random() < self.returning:
                while self._idle and self._idle[0][0] <= at and user is None:
                    candidate = self._idle.popleft()[1]
                    user = None if candidate in self._retired else candidate
            user = user or self.new_user()
            self._idle.append((at + RETURN_GAP_S, user))
            planned.append((user, self.text()))
        return planned

    def retire(self, user: str) -> None:
        """This citizen now waits for a person: the bot would rightly stay silent."""
        self._retired.add(user)


def load_workload(returning: float, seed: int, var_dir: Path, texts: str = "kb") -> Workload:
    """``texts``: ``kb``, the knowledge base's own questions (every engine was trained on them), or
    ``heldout``, the held-out FAQ paraphrases (Thai and English, trained on by none): how citizens
    really write, and what decides how often the embedded engine is sure (nlu.cascade)."""
    if texts == "heldout":
        cases = load_heldout(HELDOUT) + load_heldout(HELDOUT_EN)
        questions = [case.text for case in cases if case.intent == FAQ_INTENT]
    else:
        kb = load_knowledge_base()
        questions = [q for entry in kb.entries.values() for q in entry.questions]
    smalltalk = [e.text for e in load_core_examples() if e.intent in SMALLTALK_INTENTS]
    direct = answered_directly([*questions, *smalltalk], var_dir)
    return Workload(
        [q for q in questions if q in direct], [s for s in smalltalk if s in direct], returning, seed
    )


def answered_directly(texts: Sequence[str], var_dir: Path) -> set[str]:
    """The texts whose first-message action is ``answer`` or ``smalltalk`` (``govchat nlu predict``)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    source, target = var_dir / "predict-in.jsonl", var_dir / "predict-out.jsonl"
    source.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), "utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("RASA_URL", "DATABASE_URL")}
    env["GOVCHAT_VAR_DIR"] = str(var_dir)
    govchat = str(REPO_ROOT / ".venv" / "bin" / "govchat")
    subprocess.run(
        [govchat, "nlu", "predict", "--input", str(source), "--output", str(target)],
        env=env,
        cwd=var_dir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    rows = [json.loads(line) for line in target.read_text("utf-8").splitlines() if line.strip()]
    return {row["text"] for row in rows if row["action"] in ("answer", "smalltalk")}


# -- one step --------------------------------------------------------------------------------


@dataclass(slots=True)
class Message:
    user: str
    target: str  # URL
    body: bytes
    headers: dict[str, str]
    token: str = ""
    scheduled: float = 0.0  # wall clock
    lag: float = 0.0
    acked: float | None = None
    status: int = 0
    answered: float | None = None


@dataclass
class Step:
    system: str
    rate: float
    messages: list[Message]
    seconds: float = 0.0  # sending
    drained: float = 0.0  # waiting for the last answers after sending
    in_flight_max: int = 0
    extra_answers: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    engines: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hub_sent: float | None = None  # answers the hubs count as delivered (their /metrics)

    def acks(self) -> list[float]:
        return [m.acked - m.scheduled for m in self.messages if m.acked is not None and m.status == 200]

    def replies(self) -> list[float]:
        return [m.answered - m.scheduled for m in self.messages if m.answered is not None]

    @property
    def answered(self) -> int:
        return sum(m.answered is not None for m in self.messages)

    @property
    def lost(self) -> int:
        return len(self.messages) - self.answered

    @property
    def sustained(self) -> bool:
        return not self.problems


def judge(step: Step, bound: float, expect_rasa: bool) -> None:
    """Fill ``step.problems`` with every reason the step does not count as sustained."""
    sent = len(step.messages)
    not_ok = sum(m.status != 200 for m in step.messages)
    if not_ok:
        step.problems.append(f"{not_ok} not acked 200")
    if step.lost:
        hub_says = "" if step.hub_sent is None else f" (the hubs count {step.hub_sent:.0f} answers sent)"
        step.problems.append(f"{step.lost} unanswered{hub_says}")
    replies = step.replies()
    if replies and percentile(replies, 0.99) > bound:
        step.problems.append(f"reply p99 > {bound:g} s")
    head, tail = step.messages[: sent * 4 // 5], step.messages[sent * 4 // 5 :]
    head_p50 = percentile([m.answered - m.scheduled for m in head if m.answered is not None], 0.5)
    tail_p50 = percentile([m.answered - m.scheduled for m in tail if m.answered is not None], 0.5)
    if head and tail and tail_p50 > head_p50 + 1.0:
        step.problems.append("backlog growing")
    lag = percentile([m.lag for m in step.messages], 0.99)
    if lag > LAG_LIMIT_S:  # the rate still held on average (late messages go out at once): a warning
        step.warnings.append(f"generator lag p99 {lag * 1000:.0f} ms: the machine is too busy")
    if step.extra_answers:  # more answers than messages: a double reply, or a push we cannot place
        step.warnings.append(f"{step.extra_answers} extra answers")
    failovers = step.engines.get("embedded_failover", 0)
    if expect_rasa and failovers > 0:
        step.problems.append(f"{failovers:.0f} parsed by the embedded failover")
