"""The NLU training and evaluation data: shape, coverage, and no held-out text seen in training.

``tests/data/heldout.jsonl`` measures how the bot does on messages it was never trained on, so
none of its texts may equal a training example (``nlu/data/core_intents.yml`` or a question of
``knowledge_base/faq/*.yml``) once spacing, case, polite particles, elongations and punctuation
are ignored.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
HELDOUT_FILE = REPO_ROOT / "tests" / "data" / "heldout.jsonl"
# English and code-switched questions (issue 24), scored apart from the Thai set.
HELDOUT_EN_FILE = REPO_ROOT / "tests" / "data" / "heldout_en.jsonl"
MIN_ENGLISH_FAQ_CASES = 40
MIN_ENGLISH_OFF_TOPIC = 10
CORE_INTENTS_FILE = REPO_ROOT / "nlu" / "data" / "core_intents.yml"
FAQ_DIR = REPO_ROOT / "knowledge_base" / "faq"

FAQ_INTENT = "faq"
# The core intents of INTERFACES.md (`govchat nlu predict`), besides `faq` and `nlu_fallback`.
CORE_INTENTS = (
    "greet",
    "goodbye",
    "thanks",
    "request_human",
    "complaint_file",
    "complaint_status",
    "out_of_scope",
)
HELDOUT_KEYS = {"text", "intent", "faq_id", "note"}

MIN_CORE_EXAMPLES = {
    "greet": 40,
    "goodbye": 30,
    "thanks": 40,
    "request_human": 60,
    "complaint_file": 50,
    "complaint_status": 40,
    "out_of_scope": 250,
}
MIN_HELDOUT_CASES = {
    FAQ_INTENT: 125,
    "out_of_scope": 40,
    "request_human": 12,
    "greet": 8,
    "thanks": 8,
    "complaint_file": 8,
    "complaint_status": 8,
    "goodbye": 3,
}
MIN_HELDOUT_TOTAL = 200
MIN_HELDOUT_PER_FAQ_ENTRY = 5

# Polite particles, longest first; elongation repeats the last letter ("ครับบบ", "นะคะะ").
_PARTICLE_WORDS = ("คร้าบ", "ครับ", "ค้าบ", "ค่ะ", "คะ", "นะ", "จ้า", "จ้ะ", "จ๊ะ")
_PARTICLES = re.compile("|".join(re.escape(word) + "+" for word in _PARTICLE_WORDS))
_REPEATS = re.compile(r"(.)\1+")


def normalise(text: str) -> str:
    """The comparison key: NFC, lower case, particles gone, repeats collapsed, no spaces or punctuation.

    Thai vowel and tone marks are kept (they are letters' marks, not punctuation); emoji stay too.
    """
    text = unicodedata.normalize("NFC", text).lower()
    # particles first: collapsing "ก่อนนะ" to "ก่อนะ" would cut the word in front of them
    text = _PARTICLES.sub("", text)
    text = _REPEATS.sub(r"\1", text)
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "Z", "C")))


def _load_heldout(path: Path = HELDOUT_FILE) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _load_core() -> dict[str, list[Any]]:
    data = yaml.safe_load(CORE_INTENTS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{CORE_INTENTS_FILE} must be a mapping intent -> examples"
    return data


def _load_faq_questions() -> dict[str, list[str]]:
    """FAQ id -> its training questions; empty when the knowledge base has no FAQ files yet."""
    questions: dict[str, list[str]] = {}
    for path in sorted(FAQ_DIR.glob("*.yml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            questions.setdefault(str(entry["id"]), []).extend(str(q) for q in entry.get("questions") or [])
    return questions


@pytest.fixture(scope="module")
def heldout() -> list[dict[str, Any]]:
    return _load_heldout()


@pytest.fixture(scope="module")
def english_heldout() -> list[dict[str, Any]]:
    return _load_heldout(HELDOUT_EN_FILE)


@pytest.fixture(scope="module", params=["thai", "english"])
def any_heldout(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _load_heldout(HELDOUT_FILE if request.param == "thai" else HELDOUT_EN_FILE)


@pytest.fixture(scope="module")
def core() -> dict[str, list[Any]]:
    return _load_core()


@pytest.fixture(scope="module")
def faq_questions() -> dict[str, list[str]]:
    return _load_faq_questions()


class TestNormalise:
    def test_spaces_case_and_punctuation_are_ignored(self) -> None:
        assert normalise("จองชื่อ  บริษัท ยังไง??") == normalise("จองชื่อบริษัทยังไง")
        assert normalise("Hello") == normalise("hello")

    def test_particles_and_elongations_are_ignored(self) -> None:
        assert normalise("ขอบคุณครับบบ") == normalise("ขอบคุณ")
        assert normalise("ลาก่อนนะคะ") == normalise("ลาก่อนจ้า")

    def test_thai_vowels_and_tone_marks_are_kept(self) -> None:
        assert normalise("สวัสดี") != normalise("สวสด")
        assert normalise("ขอสำเนา") != normalise("ขอสาเนา")


class TestCoreIntentsFile:
    def test_has_exactly_the_core_intents(self, core: dict[str, list[Any]]) -> None:
        assert set(core) == set(CORE_INTENTS)

    def test_every_example_is_a_non_empty_string(self, core: dict[str, list[Any]]) -> None:
        bad = [(intent, text) for intent, texts in core.items() for text in texts]
        bad = [(intent, text) for intent, text in bad if not isinstance(text, str) or not text.strip()]
        assert not bad, f"quote these examples as strings: {bad}"

    @pytest.mark.parametrize(("intent", "minimum"), sorted(MIN_CORE_EXAMPLES.items()))
    def test_each_intent_has_enough_examples(
        self, core: dict[str, list[Any]], intent: str, minimum: int
    ) -> None:
        assert len(core.get(intent) or []) >= minimum

    def test_no_text_is_labelled_with_two_core_intents(self, core: dict[str, list[Any]]) -> None:
        labels: dict[str, set[str]] = {}
        for intent, texts in core.items():
            for text in texts:
                labels.setdefault(normalise(str(text)), set()).add(intent)
        conflicts = {key: sorted(intents) for key, intents in labels.items() if len(intents) > 1}
        assert not conflicts

    def test_no_core_example_is_also_an_faq_question(
        self, core: dict[str, list[Any]], faq_questions: dict[str, list[str]]
    ) -> None:
        faq_keys = {normalise(q): faq_id for faq_id, qs in faq_questions.items() for q in qs}
        clashes = [
            (intent, text, faq_keys[normalise(str(text))])
            for intent, texts in core.items()
            for text in texts
            if normalise(str(text)) in faq_keys
        ]
        assert not clashes, f"core examples that are also FAQ questions: {clashes}"


class TestHeldoutFile:
    @pytest.mark.parametrize("path", [HELDOUT_FILE, HELDOUT_EN_FILE], ids=["thai", "english"])
    def test_every_line_is_a_well_formed_case(self, path: Path) -> None:
        problems = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                case = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"line {number}: not JSON ({exc})")
                continue
            if not isinstance(case, dict) or set(case) != HELDOUT_KEYS:
                problems.append(f"line {number}: keys must be exactly {sorted(HELDOUT_KEYS)}")
                continue
            if not isinstance(case["text"], str) or not case["text"].strip():
                problems.append(f"line {number}: empty text")
            if not isinstance(case["note"], str):
                problems.append(f"line {number}: note must be a string")
            if case["intent"] == FAQ_INTENT:
                if not isinstance(case["faq_id"], str) or not case["faq_id"]:
                    problems.append(f"line {number}: an faq case needs an faq_id")
            elif case["intent"] in CORE_INTENTS:
                if case["faq_id"] is not None:
                    problems.append(f"line {number}: faq_id must be null for {case['intent']}")
            else:
                problems.append(f"line {number}: unknown intent {case['intent']!r}")
        assert not problems, "\n".join(problems)

    def test_has_enough_cases(self, heldout: list[dict[str, Any]]) -> None:
        assert len(heldout) >= MIN_HELDOUT_TOTAL

    @pytest.mark.parametrize(("intent", "minimum"), sorted(MIN_HELDOUT_CASES.items()))
    def test_each_intent_has_enough_cases(
        self, heldout: list[dict[str, Any]], intent: str, minimum: int
    ) -> None:
        assert Counter(case["intent"] for case in heldout)[intent] >= minimum

    def test_no_text_appears_twice(
        self, heldout: list[dict[str, Any]], english_heldout: list[dict[str, Any]]
    ) -> None:
        counts = Counter(normalise(case["text"]) for case in [*heldout, *english_heldout])
        assert not [key for key, count in counts.items() if count > 1]


class TestEnglishHeldoutFile:
    def test_has_enough_english_faq_cases(self, english_heldout: list[dict[str, Any]]) -> None:
        assert sum(1 for case in english_heldout if case["intent"] == FAQ_INTENT) >= MIN_ENGLISH_FAQ_CASES

    def test_has_off_topic_english_questions(self, english_heldout: list[dict[str, Any]]) -> None:
        off_topic = sum(1 for case in english_heldout if case["intent"] == "out_of_scope")
        assert off_topic >= MIN_ENGLISH_OFF_TOPIC

    def test_every_case_is_english_or_code_switched(self, english_heldout: list[dict[str, Any]]) -> None:
        assert not [case["text"] for case in english_heldout if not re.search("[A-Za-z]{3}", case["text"])]
        assert {case["note"] for case in english_heldout} <= {"english", "code-switched"}


class TestHeldoutAgainstKnowledgeBase:
    @pytest.fixture(autouse=True)
    def _needs_faq_files(self, faq_questions: dict[str, list[str]]) -> None:
        if not faq_questions:
            pytest.skip(f"no FAQ entries under {FAQ_DIR}")

    def test_every_faq_id_is_an_entry_of_the_knowledge_base(
        self, heldout: list[dict[str, Any]], faq_questions: dict[str, list[str]]
    ) -> None:
        unknown = sorted({c["faq_id"] for c in heldout if c["intent"] == FAQ_INTENT} - set(faq_questions))
        assert not unknown

    def test_every_entry_has_enough_cases(
        self, heldout: list[dict[str, Any]], faq_questions: dict[str, list[str]]
    ) -> None:
        counts = Counter(case["faq_id"] for case in heldout if case["intent"] == FAQ_INTENT)
        short = {
            faq_id: counts[faq_id] for faq_id in faq_questions if counts[faq_id] < MIN_HELDOUT_PER_FAQ_ENTRY
        }
        assert not short, f"entries with fewer than {MIN_HELDOUT_PER_FAQ_ENTRY} held-out cases: {short}"


class TestNoLeakage:
    def test_no_heldout_text_is_a_core_intent_example(
        self, any_heldout: list[dict[str, Any]], core: dict[str, list[Any]]
    ) -> None:
        heldout = any_heldout
        trained = {normalise(str(text)): text for texts in core.values() for text in texts}
        leaks = [
            (c["text"], trained[normalise(c["text"])]) for c in heldout if normalise(c["text"]) in trained
        ]
        assert not leaks, f"held-out texts equal to training examples: {leaks}"

    def test_no_heldout_text_is_an_faq_question(
        self, any_heldout: list[dict[str, Any]], faq_questions: dict[str, list[str]]
    ) -> None:
        heldout = any_heldout
        trained = {normalise(q): q for qs in faq_questions.values() for q in qs}
        leaks = [
            (c["text"], trained[normalise(c["text"])]) for c in heldout if normalise(c["text"]) in trained
        ]
        assert not leaks, f"held-out texts equal to FAQ training questions: {leaks}"
