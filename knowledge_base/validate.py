"""``govchat kb validate``: every check the knowledge base must pass before it ships.

Errors (exit 1): anything the loader refuses, plus quality rules for citizens reading
on a phone and for the NLU learning from the questions. Warnings (never fatal): entries
not reviewed for ``stale_after_days`` and entries past ``expires_at``; they are only
reported when asked for (``--warn-stale``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Iterator, Sequence
from itertools import combinations
from pathlib import Path
from typing import TextIO

from knowledge_base.language import is_english, is_english_sentence
from knowledge_base.loader import DEFAULT_ROOT
from knowledge_base.parsing import FAQ_DIR, ParsedEntry, ParsedKnowledgeBase, Problem, parse_knowledge_base

__all__ = ["Problem", "main", "normalize_question", "run_validate", "validate_knowledge_base"]

MIN_QUESTIONS = 8
MIN_ANSWER_CHARS = 40
MAX_ANSWER_CHARS = 400  # about two screens of a small phone
MAX_ANSWER_EN_CHARS = 700  # the same screens: English takes about 1.7 times the characters of Thai
NEAR_DUPLICATE_JACCARD = 0.8
OFFICIAL_HOST_SUFFIX = ".go.th"

_THAI = re.compile(r"[\u0e00-\u0e7f]")
_REPEATS = re.compile(r"(.)\1+")
_SPACES_AND_MARKS = re.compile(r"[\s?!.,:;'\"()\u200b-]+")
# Polite and softening particles, longest first, stripped where a phrase ends.
_PARTICLES = (
    "ครับผม",
    "ครับ",
    "คับ",
    "ค่ะ",
    "คะ",
    "ค่า",
    "คร่ะ",
    "จ้ะ",
    "จ๊ะ",
    "จ้า",
    "จ๊า",
    "นะ",
    "น้า",
    "น๊ะ",
    "ฮะ",
    "ฮับ",
    "อ่ะ",
    "อะ",
)
_COLLAPSED_PARTICLES = tuple(sorted({_REPEATS.sub(r"\1", p) for p in _PARTICLES}, key=len, reverse=True))


def _strip_particles(phrase: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for particle in _COLLAPSED_PARTICLES:
            if phrase.endswith(particle):
                phrase, stripped = phrase[: -len(particle)], True
                break
    return phrase


def normalize_question(text: str) -> str:
    """Lower-case, repeats collapsed, phrase-final particles and all spacing removed."""
    collapsed = _REPEATS.sub(r"\1", text.lower())
    stripped = "".join(_strip_particles(phrase) for phrase in _SPACES_AND_MARKS.split(collapsed))
    return stripped or _SPACES_AND_MARKS.sub("", collapsed)  # a question that is only particles


def _trigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 3] for i in range(max(len(text) - 2, 1)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _has_thai(text: str) -> bool:
    return bool(_THAI.search(text))


def _error(parsed: ParsedEntry, loc: tuple[str | int, ...], message: str) -> Problem:
    return Problem(parsed.file, parsed.line_of(*loc), f"entry {parsed.entry.id!r}: {message}")


def _check_placement(kb: ParsedKnowledgeBase) -> Iterator[Problem]:
    for parsed in kb.entries:
        expected = parsed.file.stem
        if parsed.entry.department != expected and parsed.entry.department in kb.departments:
            message = (
                f"department {parsed.entry.department!r} belongs in {FAQ_DIR}/{parsed.entry.department}.yml"
            )
            yield _error(parsed, ("department",), message)


def _check_required(kb: ParsedKnowledgeBase) -> Iterator[Problem]:
    by_id = {parsed.entry.id: parsed for parsed in kb.entries}
    for faq_id, department in kb.required_ids.items():
        parsed = by_id.get(faq_id)
        if parsed is None and faq_id not in kb.written_ids and not kb.unreadable_faq_file:
            line = kb.required_lines[faq_id]
            yield Problem(kb.departments_file, line, f"required entry {faq_id!r} [{department}] is missing")
        elif parsed is not None and parsed.entry.department != department:
            message = f"must be owned by department {department!r}, not {parsed.entry.department!r}"
            yield _error(parsed, ("department",), message)


def _check_texts(parsed: ParsedEntry) -> Iterator[Problem]:
    entry = parsed.entry
    answer_length = len(entry.answer.strip())
    if answer_length > MAX_ANSWER_CHARS:
        message = f"answer is {answer_length} characters, at most {MAX_ANSWER_CHARS} fit a phone screen"
        yield _error(parsed, ("answer",), message + " (move the rest to 'detail')")
    elif answer_length < MIN_ANSWER_CHARS:
        yield _error(
            parsed, ("answer",), f"answer is {answer_length} characters, at least {MIN_ANSWER_CHARS}"
        )
    for name, text in (("title", entry.title), ("answer", entry.answer)):
        if not _has_thai(text):
            yield _error(parsed, (name,), f"{name} has no Thai text")
    yield from _check_english(parsed)
    for index, question in enumerate(entry.questions):
        if not _has_thai(question) and not is_english_sentence(question):
            message = f"question {question!r} has no Thai text and is not an English question"
            yield _error(parsed, ("questions", index), message)
    thai_questions = sum(1 for q in entry.questions if _has_thai(q))
    if thai_questions < MIN_QUESTIONS:
        in_thai = " in Thai" if thai_questions < len(entry.questions) else ""
        message = f"has {thai_questions} questions{in_thai}, at least {MIN_QUESTIONS} needed"
        yield _error(parsed, ("questions",), message)
    if entry.source_url.scheme != "https" or not (entry.source_url.host or "").endswith(OFFICIAL_HOST_SUFFIX):
        message = (
            f"source_url {str(entry.source_url)!r} is not an official https://…{OFFICIAL_HOST_SUFFIX} page"
        )
        yield _error(parsed, ("source_url",), message)


def _check_english(parsed: ParsedEntry) -> Iterator[Problem]:
    """``title_en`` and ``answer_en`` come together, in English, as short as the Thai answer allows."""
    entry = parsed.entry
    if (entry.title_en is None) != (entry.answer_en is None):
        missing = "answer_en" if entry.answer_en is None else "title_en"
        yield _error(
            parsed, ("title_en" if missing == "answer_en" else "answer_en",), f"{missing} is missing"
        )
    for name, text in (("title_en", entry.title_en), ("answer_en", entry.answer_en)):
        if text is not None and (_has_thai(text) or not is_english(text)):
            yield _error(parsed, (name,), f"{name} is not English text")
    if entry.answer_en is not None and len(entry.answer_en.strip()) > MAX_ANSWER_EN_CHARS:
        length = len(entry.answer_en.strip())
        yield _error(
            parsed, ("answer_en",), f"answer_en is {length} characters, at most {MAX_ANSWER_EN_CHARS}"
        )


def _check_questions(kb: ParsedKnowledgeBase) -> Iterator[Problem]:
    """Exact duplicates anywhere, near-duplicates across entries: both confuse the NLU."""
    seen: dict[str, tuple[ParsedEntry, int]] = {}
    grams: list[tuple[ParsedEntry, int, frozenset[str]]] = []
    for parsed in kb.entries:
        for index, question in enumerate(parsed.entry.questions):
            key = normalize_question(question)
            if key in seen:
                first, first_index = seen[key]
                where = f"line {first.line_of('questions', first_index)}"
                if first is not parsed:
                    where = f"entry {first.entry.id!r}, {first.file.name}:{first.line_of('questions', first_index)}"
                yield _error(parsed, ("questions", index), f"question {question!r} repeats one in {where}")
                continue
            seen[key] = (parsed, index)
            grams.append((parsed, index, _trigrams(key)))
    for (a, a_index, a_grams), (b, b_index, b_grams) in combinations(grams, 2):
        if a is b:
            continue
        score = _jaccard(a_grams, b_grams)
        if score >= NEAR_DUPLICATE_JACCARD:
            question, other = b.entry.questions[b_index], a.entry.questions[a_index]
            where = f"{a.file.name}:{a.line_of('questions', a_index)}"
            message = (
                f"question {question!r} is nearly the same as {other!r} of entry {a.entry.id!r} ({where})"
            )
            yield _error(b, ("questions", b_index), f"{message}, similarity {score:.2f}")


def _check_freshness(kb: ParsedKnowledgeBase, today: dt.date, stale_after_days: int) -> Iterator[Problem]:
    for parsed in kb.entries:
        entry = parsed.entry
        age = (today - entry.reviewed_at).days
        if age > stale_after_days:
            message = f"entry {entry.id!r}: reviewed {age} days ago ({entry.reviewed_at}), review it again"
            yield Problem(parsed.file, parsed.line_of("reviewed_at"), message, "warning")
        if entry.is_expired(today):
            message = f"entry {entry.id!r}: expired on {entry.expires_at}, update or remove it"
            yield Problem(parsed.file, parsed.line_of("expires_at"), message, "warning")


def validate_knowledge_base(
    root: Path, today: dt.date, stale_after_days: int = 365, warn_stale: bool = False
) -> list[Problem]:
    """Every problem of the knowledge base under ``root``, by file and line."""
    kb = parse_knowledge_base(root)
    problems = list(kb.problems)
    problems += _check_placement(kb)
    problems += _check_required(kb)
    for parsed in kb.entries:
        problems += _check_texts(parsed)
    problems += _check_questions(kb)
    if warn_stale:
        problems += _check_freshness(kb, today, stale_after_days)
    return sorted(problems, key=lambda p: (str(p.file), p.line, p.severity, p.message))


def _shown(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def run_validate(root: Path, warn_stale: bool, out: TextIO, *, today: dt.date | None = None) -> int:
    """Print ``path:line: severity: message`` lines and a summary; 1 when there is an error."""
    problems = validate_knowledge_base(root, today or dt.date.today(), warn_stale=warn_stale)
    for problem in problems:
        print(f"{_shown(problem.file)}:{problem.line}: {problem.severity}: {problem.message}", file=out)
    errors = sum(problem.severity == "error" for problem in problems)
    warnings = len(problems) - errors
    verdict = "knowledge base is invalid" if errors else "knowledge base OK"
    print(f"{verdict}: {errors} error(s), {warnings} warning(s) in {_shown(root)}", file=out)
    return 1 if errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govchat kb validate", description="Check the FAQ knowledge base.")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="knowledge base folder")
    parser.add_argument("--warn-stale", action="store_true", help="also report stale and expired entries")
    args = parser.parse_args(argv)
    return run_validate(args.root, args.warn_stale, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
