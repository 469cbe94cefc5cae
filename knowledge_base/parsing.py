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

# libyaml, which PyYAML's wheels include, parses 5-30x faster than the pure-Python parser (the core
# intents file: 239 ms -> 8 ms), and a hub reads these files at every start.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """A plain YAML file's value (safe types only). The FAQ files go through ``_compose``
    instead, whose problems carry line numbers."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_FAST_LOADER)


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
    # every id written in a FAQ file, even on an invalid entry (not reported as missing again)
    written_ids: set[str] = field(default_factory=set)
    unreadable_faq_file: bool = False  # then no required id is reported missing: it may be in there
    problems: list[Problem] = field(default_factory=list)

    @property
    def departments_file(self) -> Path:
        return self.root / DEPARTMENTS_FILE

    def add(self, file: Path, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message))


def node_line(node: yaml.Node, loc: Loc) -> int:
    """1-based line that ``loc`` reaches inside ``node``: a mapping step gives its key's line."""
    line = node.start_mark.line + 1
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == step), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((value for k, value in node.value if k.value == key), None)
    return None


def faq_files(root: Path) -> list[Path]:
    """The FAQ files in reading order (by name); editor temporaries are skipped."""
    folder = root / FAQ_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.yml") if p.is_file() and not p.name.startswith((".", "~")))


def _read(path: Path) -> bytes | None:
    """The file's bytes, or None when it is gone (an editor may be replacing it right now)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def fingerprint(contents: dict[Path, bytes | None], root: Path) -> str:
    digest = hashlib.sha256()
    for path, raw in contents.items():
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(raw or b"")
        digest.update(b"\0")
    return digest.hexdigest()


def _compose(path: Path, raw: bytes | None, problems: list[Problem]) -> tuple[yaml.Node | None, Any]:
    """The document node and its Python value, or ``(None, None)`` after recording the problem."""
    if raw is None:
        problems.append(Problem(path, 1, "cannot read the file"))
        return None, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(path, 1, f"not UTF-8 text ({exc.reason})"))
        return None, None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {exc.problem or exc}"
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        problems.append(Problem(path, mark.line + 1 if mark else 1, message))
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


def _sequence_items(
    node: yaml.Node | None, data: Any, path: Path, what: str, problems: list[Problem]
) -> list[tuple[yaml.Node, Any]]:
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


def _read_departments(kb: ParsedKnowledgeBase, raw: bytes | None) -> None:
    path = kb.departments_file
    if raw is None:
        kb.add(path, 1, "missing or unreadable departments file")
        return
    node, data = _compose(path, raw, kb.problems)
    if node is None:
        if not raw.strip():
            kb.add(path, 1, "empty departments file")
        return
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        kb.add(path, node.start_mark.line + 1, "expected a mapping with 'departments'")
        return
    for key in sorted(set(data) - {"departments", "required_ids"}, key=str):
        kb.add(path, node_line(node, (key,)), f"unknown section {key!r}")
    section = _child(node, "departments")
    items = _sequence_items(section, data.get("departments"), path, "departments", kb.problems)
    if not items:
        kb.add(path, node_line(node, ("departments",)), "no departments defined")
    for item_node, item in items:
        department = _validate_model(Department, item, item_node, path, "department", kb.problems)
        if department is None:
            continue
        line = item_node.start_mark.line + 1
        if department.id in kb.departments:
            first = kb.department_lines[department.id]
            kb.add(path, line, f"duplicate department {department.id!r} (first at line {first})")
            continue
        kb.departments[department.id] = department
        kb.department_lines[department.id] = line
    _read_required_ids(kb, _child(node, "required_ids"), data.get("required_ids"))


def _read_required_ids(kb: ParsedKnowledgeBase, node: yaml.Node | None, data: Any) -> None:
    if node is None or data is None:
        return
    path = kb.departments_file
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        kb.add(path, node.start_mark.line + 1, "required_ids: expected 'entry_id: department'")
        return
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        department = value_node.value if isinstance(value_node, yaml.ScalarNode) else None
        if not isinstance(department, str) or department not in kb.departments:
            kb.add(path, line, f"required_ids: {key_node.value!r} names unknown department {department!r}")
            continue
        kb.required_ids[str(key_node.value)] = department
        kb.required_lines[str(key_node.value)] = line


def _read_entries(
    kb: ParsedKnowledgeBase, path: Path, raw: bytes | None, first_lines: dict[str, tuple[Path, int]]
) -> None:
    node, data = _compose(path, raw, kb.problems)
    if node is None and raw is not None and raw.strip():
        kb.unreadable_faq_file = True
    for index, (item_node, item) in enumerate(_sequence_items(node, data, path, "FAQ entries", kb.problems)):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            kb.written_ids.add(item["id"])
        entry = _validate_model(FaqEntry, item, item_node, path, _entry_label(item, index), kb.problems)
        if entry is None:
            continue
        parsed = ParsedEntry(entry, path, item_node)
        if entry.id in first_lines:
            first_path, first_line = first_lines[entry.id]
            where = f"{first_path.relative_to(kb.root).as_posix()}:{first_line}"
            kb.add(path, parsed.line, f"duplicate entry id {entry.id!r} (first at {where})")
            continue
        first_lines[entry.id] = (path, parsed.line)
        if entry.department not in kb.departments:
            message = f"entry {entry.id!r}: unknown department {entry.department!r}"
            kb.add(path, parsed.line_of("department"), message)
        kb.entries.append(parsed)


def _check_related(kb: ParsedKnowledgeBase) -> None:
    known = {parsed.entry.id for parsed in kb.entries}
    for parsed in kb.entries:
        for index, related in enumerate(parsed.entry.related):
            line = parsed.line_of("related", index)
            if related == parsed.entry.id:
                kb.add(parsed.file, line, f"entry {related!r}: related lists the entry itself")
            elif (
                related not in known and related not in kb.written_ids
            ):  # invalid entries are reported already
                message = f"entry {parsed.entry.id!r}: related names unknown entry {related!r}"
                kb.add(parsed.file, line, message)


def parse_knowledge_base(root: Path) -> ParsedKnowledgeBase:
    """Read ``departments.yml`` and ``faq/*.yml`` under ``root``; structural problems are collected."""
    kb = ParsedKnowledgeBase(root=root)
    files = faq_files(root)
    # read each file once, so the fingerprint describes exactly what was parsed
    contents = {path: _read(path) for path in [kb.departments_file, *files]}
    kb.fingerprint = fingerprint(contents, root)
    _read_departments(kb, contents[kb.departments_file])
    if not files:
        kb.add(root / FAQ_DIR, 1, "no FAQ files (faq/*.yml)")
    first_lines: dict[str, tuple[Path, int]] = {}
    for path in files:
        _read_entries(kb, path, contents[path], first_lines)
    _check_related(kb)
    return kb


def parse_departments(root: Path) -> ParsedKnowledgeBase:
    """Only ``departments.yml`` under ``root``: for a knowledge base whose entries live elsewhere."""
    kb = ParsedKnowledgeBase(root=root)
    raw = _read(kb.departments_file)
    kb.fingerprint = fingerprint({kb.departments_file: raw}, root)
    _read_departments(kb, raw)
    return kb
