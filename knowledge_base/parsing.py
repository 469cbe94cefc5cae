"""Reading the knowledge-base files with their line numbers.

The loader and the validator share this reading: the loader refuses a knowledge base
with any problem found here, the validator adds quality checks on top. Every problem
points at ``file:line`` through the YAML node marks (``yaml.compose``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from knowledge_base.schema import Department, FaqEntry

DEPARTMENTS_FILE = "departments.yml"
FAQ_DIR = "faq"

Severity = Literal["error", "warning"]
Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, order=True)
class Problem:
    file: Path
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class ParsedEntry:
    """A schema-valid FAQ entry and the YAML node it came from."""

    entry: FaqEntry
    file: Path
    node: yaml.Node

    @property
    def line(self) -> int:
        return node_line(self.node, ())

    def line_of(self, *loc: str | int) -> int:
        return node_line(self.node, loc)


@dataclass
class ParsedKnowledgeBase:
    root: Path
    fingerprint: str = ""
    departments: dict[str, Department] = field(default_factory=dict)
    department_lines: dict[str, int] = field(default_factory=dict)
    # required entry id -> owning department, and where each requirement is written
    required_ids: dict[str, str] = field(default_factory=dict)
    required_lines: dict[str, int] = field(default_factory=dict)
    entries: list[ParsedEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def departments_file(self) -> Path:
        return self.root / DEPARTMENTS_FILE


def node_line(node: yaml.Node, loc: Loc) -> int:
    """1-based line of the deepest node that ``loc`` reaches inside ``node``."""
    for step in loc:
        child = _child(node, step)
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == step:
                return value if isinstance(value, yaml.Node) else key
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        child: yaml.Node = node.value[step]
        return child
    return None


def faq_files(root: Path) -> list[Path]:
    """The FAQ files in reading order (by name); editor temporaries are skipped."""
    folder = root / FAQ_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.yml") if p.is_file() and not p.name.startswith((".", "~")))


def fingerprint(files: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


def _compose(path: Path, problems: list[Problem]) -> tuple[yaml.Node | None, Any]:
    """The document node and its Python value, or ``(None, None)`` after recording the problem."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(path, 1, f"not UTF-8 text ({exc.reason})"))
        return None, None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.append(Problem(path, mark.line + 1 if mark else 1, f"invalid YAML: {exc.problem or exc}"))
        return None, None
    except yaml.YAMLError as exc:
        problems.append(Problem(path, 1, f"invalid YAML: {exc}"))
        return None, None
    finally:
        loader.dispose()
    problems.extend(Problem(path, line, message) for line, message in _duplicate_keys(node))
    return node, data


def _duplicate_keys(node: yaml.Node | None) -> Iterator[tuple[int, str]]:
    """YAML silently keeps the last of two equal keys; a curated file should never have them."""
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield key.start_mark.line + 1, f"duplicate key {key.value!r}"
                seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _validate_model(
    model: type[ModelT], data: Any, node: yaml.Node, path: Path, what: str, problems: list[Problem]
) -> ModelT | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(part) for part in loc)
            message = f"{what}: {where}: {err['msg']}" if where else f"{what}: {err['msg']}"
            problems.append(Problem(path, node_line(node, loc), message))
        return None


def _sequence_items(node: yaml.Node | None, data: Any, path: Path, what: str, problems: list[Problem]) -> list[tuple[yaml.Node, Any]]:
    if node is None or data is None:
        return []
    if not isinstance(node, yaml.SequenceNode) or not isinstance(data, list):
        problems.append(Problem(path, node.start_mark.line + 1, f"expected a YAML list of {what}"))
        return []
    return list(zip(node.value, data, strict=True))


def _entry_label(data: Any, index: int) -> str:
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return f"entry {data['id']!r}"
    return f"entry #{index + 1}"


def _read_departments(kb: ParsedKnowledgeBase) -> None:
    path = kb.departments_file
    if not path.is_file():
        kb.problems.append(Problem(path, 1, "missing departments file"))
        return
    node, data = _compose(path, kb.problems)
    if node is None:
        return
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        kb.problems.append(Problem(path, node.start_mark.line + 1, "expected a mapping with 'departments'"))
        return
    for key in sorted(set(data) - {"departments", "required_ids"}, key=str):
        kb.problems.append(Problem(path, node_line(node, (key,)), f"unknown section {key!r}"))
    section = _child(node, "departments")
    items = _sequence_items(section, data.get("departments"), path, "departments", kb.problems)
    if not items:
        kb.problems.append(Problem(path, node_line(node, ("departments",)), "no departments defined"))
    for item_node, item in items:
        department = _validate_model(Department, item, item_node, path, "department", kb.problems)
        if department is None:
            continue
        line = item_node.start_mark.line + 1
        if department.id in kb.departments:
            first = kb.department_lines[department.id]
            kb.problems.append(Problem(path, line, f"duplicate department {department.id!r} (first at line {first})"))
            continue
        kb.departments[department.id] = department
        kb.department_lines[department.id] = line
    _read_required_ids(kb, _child(node, "required_ids"), data.get("required_ids"))


def _read_required_ids(kb: ParsedKnowledgeBase, node: yaml.Node | None, data: Any) -> None:
    if node is None or data is None:
        return
    path = kb.departments_file
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        kb.problems.append(Problem(path, node.start_mark.line + 1, "required_ids: expected 'entry_id: department'"))
        return
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        department = value_node.value if isinstance(value_node, yaml.ScalarNode) else None
        if not isinstance(department, str) or department not in kb.departments:
            kb.problems.append(Problem(path, line, f"required_ids: {key_node.value!r} names unknown department {department!r}"))
            continue
        kb.required_ids[str(key_node.value)] = department
        kb.required_lines[str(key_node.value)] = line


def _read_entries(kb: ParsedKnowledgeBase, path: Path, first_lines: dict[str, tuple[Path, int]]) -> None:
    node, data = _compose(path, kb.problems)
    for index, (item_node, item) in enumerate(_sequence_items(node, data, path, "FAQ entries", kb.problems)):
        entry = _validate_model(FaqEntry, item, item_node, path, _entry_label(item, index), kb.problems)
        if entry is None:
            continue
        parsed = ParsedEntry(entry, path, item_node)
        if entry.id in first_lines:
            first_path, first_line = first_lines[entry.id]
            where = f"{first_path.relative_to(kb.root).as_posix()}:{first_line}"
            kb.problems.append(Problem(path, parsed.line, f"duplicate entry id {entry.id!r} (first at {where})"))
            continue
        first_lines[entry.id] = (path, parsed.line)
        if entry.department not in kb.departments:
            message = f"entry {entry.id!r}: unknown department {entry.department!r}"
            kb.problems.append(Problem(path, parsed.line_of("department"), message))
        kb.entries.append(parsed)


def _check_related(kb: ParsedKnowledgeBase) -> None:
    known = {parsed.entry.id for parsed in kb.entries}
    for parsed in kb.entries:
        for index, related in enumerate(parsed.entry.related):
            line = parsed.line_of("related", index)
            if related == parsed.entry.id:
                kb.problems.append(Problem(parsed.file, line, f"entry {related!r}: related lists the entry itself"))
            elif related not in known:
                message = f"entry {parsed.entry.id!r}: related names unknown entry {related!r}"
                kb.problems.append(Problem(parsed.file, line, message))


def parse_knowledge_base(root: Path) -> ParsedKnowledgeBase:
    """Read ``departments.yml`` and ``faq/*.yml`` under ``root``; structural problems are collected."""
    kb = ParsedKnowledgeBase(root=root)
    files = faq_files(root)
    kb.fingerprint = fingerprint([kb.departments_file, *files], root)
    _read_departments(kb)
    if not files:
        kb.problems.append(Problem(root / FAQ_DIR, 1, "no FAQ files (faq/*.yml)"))
    first_lines: dict[str, tuple[Path, int]] = {}
    for path in files:
        _read_entries(kb, path, first_lines)
    _check_related(kb)
    return kb
