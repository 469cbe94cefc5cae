"""Loading the knowledge base, and keeping the current one fresh while the hub runs.

``load_knowledge_base`` refuses any file with a structural problem (YAML, schema,
unknown department, duplicate id, dangling ``related``). ``KnowledgeBaseStore`` holds
the knowledge base answers are read from; ``watch`` reloads it when a file changes,
so a corrected answer takes effect without a restart, and an invalid edit is logged
and ignored (the previous knowledge base stays in service).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from knowledge_base.parsing import Problem, parse_knowledge_base
from knowledge_base.schema import Department, FaqEntry

DEFAULT_ROOT = Path(__file__).resolve().parent
MAX_PROBLEMS_IN_MESSAGE = 20

logger = logging.getLogger(__name__)


class KnowledgeBaseError(Exception):
    """The knowledge-base files are invalid; ``problems`` says where (``file:line``)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = [str(problem) for problem in self.problems[:MAX_PROBLEMS_IN_MESSAGE]]
        if len(self.problems) > MAX_PROBLEMS_IN_MESSAGE:
            lines.append(f"... and {len(self.problems) - MAX_PROBLEMS_IN_MESSAGE} more")
        super().__init__("invalid knowledge base:\n" + "\n".join(lines))


@dataclass(frozen=True)
class KnowledgeBase:
    departments: dict[str, Department]
    entries: dict[str, FaqEntry]  # in file order: faq/*.yml by name, then as written
    fingerprint: str  # sha256 over the files' names and bytes

    def entry(self, faq_id: str) -> FaqEntry | None:
        return self.entries.get(faq_id)


def load_knowledge_base(root: Path = DEFAULT_ROOT) -> KnowledgeBase:
    parsed = parse_knowledge_base(root)
    errors = [problem for problem in parsed.problems if problem.severity == "error"]
    if errors:
        raise KnowledgeBaseError(errors)
    return KnowledgeBase(
        departments=dict(parsed.departments),
        entries={item.entry.id: item.entry for item in parsed.entries},
        fingerprint=parsed.fingerprint,
    )


def _is_knowledge_base_file(change: watchfiles.Change, path: str) -> bool:
    return path.endswith(".yml") and not Path(path).name.startswith((".", "~"))


ChangeCallback = Callable[[KnowledgeBase], None]


class KnowledgeBaseStore:
    """The knowledge base in service. Read ``current`` at answer time, never keep a copy.

    ``on_change(listener)`` calls ``listener(new_knowledge_base)`` after each change, from
    whichever thread replaced it (a file reload runs in a worker thread): a listener that
    touches an event loop hands over with ``loop.call_soon_threadsafe``.
    """

    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        self._root = root
        self._current = load_knowledge_base(root)  # an invalid start is fatal: raise
        self._callbacks: list[ChangeCallback] = []

    @property
    def root(self) -> Path:
        return self._root

    @property
    def current(self) -> KnowledgeBase:
        return self._current

    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(new_knowledge_base)`` after every change; returns the unsubscribe function."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def replace(self, fresh: KnowledgeBase) -> bool:
        """Serve ``fresh`` from now on; True (and the callbacks called) when it differs from the current one."""
        if fresh.fingerprint == self._current.fingerprint:
            return False
        self._current = fresh
        logger.info(
            "kb_reloaded entries=%d fingerprint=%s",
            len(fresh.entries),
            fresh.fingerprint[:12],
            extra={"event": "kb_reloaded", "entries": len(fresh.entries)},
        )
        for callback in list(self._callbacks):
            try:
                callback(fresh)
            except Exception:  # one listener's failure must not keep the others uninformed
                logger.exception("kb_change_callback_failed", extra={"event": "kb_change_callback_failed"})
        return True

    def reload(self) -> bool:
        """Load the files again. False (and the previous knowledge base kept) when they are invalid."""
        try:
            fresh = load_knowledge_base(self._root)
        except KnowledgeBaseError as exc:
            logger.warning(
                "kb_reload_rejected root=%s problems=%d\n%s",
                self._root,
                len(exc.problems),
                exc,
                extra={"event": "kb_reload_rejected", "problems": len(exc.problems)},
            )
            return False
        self.replace(fresh)
        return True

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload on every change of a ``.yml`` file under the root until ``stop`` is set."""
        async for _changes in watchfiles.awatch(
            self._root, stop_event=stop, watch_filter=_is_knowledge_base_file
        ):
            # parsing a few hundred entries takes milliseconds, but keep it off the event loop
            await asyncio.to_thread(self.reload)
