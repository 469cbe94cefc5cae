"""``govchat kb validate``: every check the knowledge base must pass before it ships.

Errors (exit 1): anything the loader refuses, plus quality rules for citizens reading
on a phone and for the NLU learning from the questions. Warnings (never fatal): entries
not reviewed for ``stale_after_days`` and entries past ``expires_at``; they are only
reported when asked for (``--warn-stale``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator, Sequence
from itertools import combinations
from pathlib import Path
from typing import TextIO

from knowledge_base.entry_rules import (
    NEAR_DUPLICATE_JACCARD,
    jaccard,
    normalize_question,
    text_findings,
    trigrams,
)
from knowledge_base.loader import DEFAULT_ROOT
from knowledge_base.parsing import FAQ_DIR, ParsedEntry, ParsedKnowledgeBase, Problem, parse_knowledge_base

__all__ = ["Problem", "main", "normalize_question", "run_validate", "validate_knowledge_base"]


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
    for finding in text_findings(parsed.entry):
        yield _error(parsed, finding.loc, finding.message)


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
            grams.append((parsed, index, trigrams(key)))
    for (a, a_index, a_grams), (b, b_index, b_grams) in combinations(grams, 2):
        if a is b:
            continue
        score = jaccard(a_grams, b_grams)
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
