"""The Rasa training job: train on the knowledge base in service, then have the Rasa server load it.

One process at a time trains (``TrainingLock``). The Rasa server keeps answering with its model
until ``PUT /model`` has loaded the new one; a training or a load that fails leaves it serving the
old model and records why (``TrainingStatus.error``). A knowledge base whose questions did not
change has the same fingerprint as the served model and costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from app.db.schema import utcnow
from app.nlu_training.status import LOCK_SECONDS, StatusBoard, TrainingLock, TrainingStatus
from knowledge_base.loader import KnowledgeBase
from nlu.commands import BUILD_ROOT, NluCommandError, build_project_for
from nlu.rasa_env import RasaEnv, RasaEnvError, ensure
from nlu.rasa_models import RasaModelError, RasaModels
from nlu.rasa_runner import RasaRunError
from nlu.rasa_training import train_model_async
from nlu.training_data import DEFAULT_CONFIG, RasaProject

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 400
# The models the hub and `govchat nlu train` make are named by their project's fingerprint.
OUR_MODEL = re.compile(r"[0-9a-f]{16}")
UNREACHABLE = "the Rasa server did not say which model it serves (is it running?); the next change retries"
INTERRUPTED = "the hub process that was training stopped before it finished; the next change retrains"
# While another process trains, look again this often whether it has finished.
RECHECK_SECONDS = 2.0


def short_reason(exc: BaseException) -> str:
    """The first line and the last informative line of an error (Rasa's log tail can be long)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    reason = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"
    return reason[:MAX_ERROR_CHARS]


class RasaRetraining:
    """Keeps the Rasa server's model in step with the knowledge base's questions."""

    def __init__(
        self,
        models: RasaModels,
        board: StatusBoard,
        lock: TrainingLock,
        *,
        log_dir: Path,
        build_root: Path = BUILD_ROOT,
        config: Path = DEFAULT_CONFIG,
        rasa_env: Callable[[], RasaEnv] = lambda: ensure(quiet=True),
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.models = models
        self.board = board
        self.lock = lock
        self._log_dir = log_dir
        self._build_root = build_root
        self._config = config
        self._rasa_env = rasa_env
        self._failed_fingerprint: str | None = None
        self._close = close

    async def aclose(self) -> None:
        if self._close is not None:
            await self._close()

    async def status(self) -> TrainingStatus:
        recorded = await self.board.get()
        if recorded is not None and recorded.state == "training" and not await self.lock.held():
            # the process that trained stopped (its lock expired): the old model still serves
            return replace(recorded, state="failed", error=INTERRUPTED)
        if recorded is not None:
            return recorded
        served = await self.models.served_model()
        return TrainingStatus("idle", "rasa", _fingerprint(served))

    async def retrain(self, kb: KnowledgeBase, *, at_start: bool = False) -> bool:
        """Train for ``kb`` unless the server already serves its model (failures go to the status).

        False when another process trains now: look again once it has finished
        (``wait_for_other_process``), since it trains the newest knowledge base it saw, maybe not ``kb``.
        ``at_start``: the hub's first look (a Rasa server restarted on the seed files serves an older
        model than the database's knowledge base); a server that does not answer yet, or serves a
        model the hub did not make, is left alone.
        """
        try:
            project = await asyncio.to_thread(
                build_project_for, kb, build_root=self._build_root, config=self._config
            )
        except (NluCommandError, OSError, ValueError) as exc:
            await self._fail(await self._served_fingerprint(), exc, started_at=None)
            return True
        served = await self._served_fingerprint()
        if at_start and not OUR_MODEL.fullmatch(served):
            return (
                True  # not answering yet, or serving a model someone else made: not ours to replace unasked
            )
        if not served:
            await self._fail(served, RasaModelError(UNREACHABLE), started_at=None)
            return True
        if served == project.fingerprint:
            await self._record_idle_if_behind(project.fingerprint)
            return True
        if project.fingerprint == self._failed_fingerprint:
            return True  # the same data failed already: the status says why; a new change retries
        if not await self.lock.acquire():
            return False
        try:
            await self._train_and_load(project, served)
        finally:
            await self.lock.release()
        return True

    async def _train_and_load(self, project: RasaProject, served: str) -> None:
        started_at = utcnow().isoformat()
        await self.board.put(TrainingStatus("training", "rasa", served, started_at, pending_questions=True))
        renewing = asyncio.get_running_loop().create_task(self._keep_lock())
        started = time.monotonic()
        try:
            env = await asyncio.to_thread(self._rasa_env)
            log_file = self._log_dir / f"rasa-train-{project.fingerprint}.log"
            model, trained = await train_model_async(project, env, log=log_file)
            trained_s = time.monotonic() - started
            load_s = await self.models.load_model(model)
        except (RasaRunError, RasaEnvError, RasaModelError, OSError) as exc:
            self._failed_fingerprint = project.fingerprint
            await self._fail(served, exc, started_at)
            return
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        self._failed_fingerprint = None
        await self.board.put(
            TrainingStatus("idle", "rasa", project.fingerprint, started_at, utcnow().isoformat())
        )
        log.info(
            "rasa_model_swapped model=%s trained=%s train_s=%.1f load_s=%.1f",
            project.fingerprint,
            trained,
            trained_s,
            load_s,
            extra={
                "event": "rasa_model_swapped",
                "model": project.fingerprint,
                "train_s": round(trained_s, 1),
                "load_s": round(load_s, 1),
            },
        )

    async def _fail(self, served: str, exc: BaseException, started_at: str | None) -> None:
        reason = short_reason(exc)
        log.warning(
            "rasa_retraining_failed serving=%s reason=%s",
            served,
            reason,
            extra={"event": "rasa_retraining_failed", "serving": served},
        )
        await self.board.put(
            TrainingStatus(
                "failed", "rasa", served, started_at, utcnow().isoformat(), reason, pending_questions=True
            )
        )

    async def _record_idle_if_behind(self, fingerprint: str) -> None:
        """The server serves this knowledge base's model (e.g. another process loaded it)."""
        recorded = await self.board.get()
        if recorded is not None and (
            recorded.state == "training" or (recorded.state, recorded.model) == ("idle", fingerprint)
        ):
            return
        await self.board.put(TrainingStatus("idle", "rasa", fingerprint, finished_at=utcnow().isoformat()))

    async def _served_fingerprint(self) -> str:
        return _fingerprint(await self.models.served_model())

    async def _keep_lock(self) -> None:
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            await self.lock.renew()

    async def wait_for_other_process(self) -> None:
        # the lock is another process's (in Redis): nothing in this process to wait on but time
        while await self.lock.held():  # noqa: ASYNC110
            await asyncio.sleep(RECHECK_SECONDS)


def _fingerprint(model_file: str | None) -> str:
    return (model_file or "").removesuffix(".tar.gz")
