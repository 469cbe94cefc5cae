"""Retraining the NLU in the background when the knowledge base in service changes.

``KnowledgeBaseStore.on_change`` (a file reload, or an approval another process published) marks
the NLU out of date. One loop per process then, with the old models serving meanwhile:

1. the embedded engine: trained in a worker thread on the new knowledge base (or loaded from the
   pickle another process wrote for the same training data), then swapped in (``SwappableNlu``);
2. with Rasa, at the same time: ``RasaRetraining`` trains and has the server load the model (one
   process at a time).

Changes that arrive while a step runs are coalesced: the loop goes round once more, on the newest
knowledge base, however many there were. Data that did not change costs a digest and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from app.db.schema import utcnow
from app.nlu_training.rasa_job import RasaRetraining, short_reason
from app.nlu_training.status import TrainingStatus
from knowledge_base.loader import KnowledgeBase, KnowledgeBaseStore
from nlu.client import NluClient
from nlu.swappable import SwappableNlu
from nlu.text_classifier import TrainingStopped, stop_when_set

log = logging.getLogger(__name__)

# Trains (or loads) the engine for a knowledge base, given its training digest (already computed here).
EmbeddedTrainer = Callable[[KnowledgeBase, str], Awaitable[NluClient]]


class NluRetrainer:
    """See module doc. ``start`` in the hub's lifespan, ``stop`` before the NLU is closed."""

    def __init__(
        self,
        kb_store: KnowledgeBaseStore,
        embedded: SwappableNlu,
        train_embedded: EmbeddedTrainer,
        training_digest: Callable[[KnowledgeBase], str],
        rasa: RasaRetraining | None = None,
        after_swap: Callable[[], None] = lambda: None,
    ) -> None:
        self._kb_store = kb_store
        self.embedded = embedded
        self._train_embedded = train_embedded
        self.training_digest = training_digest
        self.rasa = rasa
        self._after_swap = after_swap
        self._embedded_status = TrainingStatus("idle", "embedded", embedded.model)
        self._changed = asyncio.Event()
        self._stopping = threading.Event()  # gives up a training in its thread (stop)
        self._loop_task: asyncio.Task[None] | None = None
        self._look_again: asyncio.Task[None] | None = None
        self._stop_listening: Callable[[], None] | None = None
        self.rounds = 0  # completed passes of the loop
        self._busy = False
        self._at_start = False

    def start(self) -> None:
        loop = asyncio.get_running_loop()

        def changed(_kb: KnowledgeBase) -> None:
            # the store may change in a worker thread (a file reload): hand over to the loop
            loop.call_soon_threadsafe(self._changed.set)

        self._stop_listening = self._kb_store.on_change(changed)
        self._at_start = self.rasa is not None
        if self._at_start:  # does the Rasa server serve the model of the knowledge base in service?
            self._changed.set()
        self._loop_task = loop.create_task(self._run())

    async def stop(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
        self._stopping.set()
        for task in (self._loop_task, self._look_again):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.rasa is not None:
            await self.rasa.aclose()

    @property
    def idle(self) -> bool:
        """Nothing to do: no change waiting and no step running (another process may still train Rasa)."""
        return not self._busy and not self._changed.is_set()

    async def status(self) -> TrainingStatus:
        """The state the editor shows: Rasa's job when Rasa answers, else this process's embedded engine."""
        status = await self.rasa.status() if self.rasa is not None else self._embedded_status
        waiting = self._changed.is_set() or status.state != "idle"
        return status.with_pending(waiting or status.pending_questions)

    async def _run(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            self._busy = True
            try:
                await self._retrain(self._kb_store.current)
            except Exception:  # e.g. Redis away: the models in service stay; the next change retries
                log.exception("nlu_retraining_round_failed", extra={"event": "nlu_retraining_round_failed"})
            finally:
                self.rounds += 1
                self._busy = False

    async def _retrain(self, kb: KnowledgeBase) -> None:
        # side by side: Rasa trains in a process of its own, the embedded engine in a thread here
        at_start, self._at_start = self._at_start, False
        rasa_done = self.rasa.retrain(kb, at_start=at_start) if self.rasa is not None else _nothing_to_do()
        _, trained_rasa = await asyncio.gather(self._retrain_embedded(kb), rasa_done)
        busy_elsewhere = not trained_rasa
        if busy_elsewhere and (self._look_again is None or self._look_again.done()):
            self._look_again = asyncio.get_running_loop().create_task(self._look_again_after_other_process())

    async def _look_again_after_other_process(self) -> None:
        assert self.rasa is not None
        await self.rasa.wait_for_other_process()
        self._changed.set()

    async def _retrain_embedded(self, kb: KnowledgeBase) -> None:
        digest = await asyncio.to_thread(self.training_digest, kb)
        if digest == self.embedded.model:
            return
        started_at = utcnow().isoformat()
        self._embedded_status = TrainingStatus(
            "training", "embedded", self.embedded.model, started_at, pending_questions=True
        )
        started = time.monotonic()
        try:
            with stop_when_set(self._stopping):
                engine = await self._train_embedded(kb, digest)
        except TrainingStopped:
            return
        except Exception as exc:  # a bad model must never stop the old one from answering
            log.exception("embedded_retraining_failed", extra={"event": "embedded_retraining_failed"})
            self._embedded_status = TrainingStatus(
                "failed",
                "embedded",
                self.embedded.model,
                started_at,
                utcnow().isoformat(),
                short_reason(exc),
                True,
            )
            return
        self.embedded.swap(engine, digest)
        self._after_swap()
        self._embedded_status = TrainingStatus("idle", "embedded", digest, started_at, utcnow().isoformat())
        log.info(
            "embedded_nlu_swapped model=%s seconds=%.2f",
            digest,
            time.monotonic() - started,
            extra={"event": "embedded_nlu_swapped", "model": digest},
        )


async def _nothing_to_do() -> bool:
    return True
