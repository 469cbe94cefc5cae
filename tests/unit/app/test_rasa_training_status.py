"""What the editor reads about a Rasa training: a short reason, and a training whose process died."""

from __future__ import annotations

from pathlib import Path

from app.nlu_training.rasa_job import INTERRUPTED, RasaRetraining, short_reason
from app.nlu_training.status import MemoryBoard, MemoryLock, TrainingStatus
from nlu.rasa_models import RasaModels
from nlu.rasa_runner import RasaRunError


def test_a_long_rasa_error_is_shortened_to_its_first_and_last_lines() -> None:
    error = RasaRunError(
        "Rasa training failed (exit 1, log: x.log):\n" + "noise\n" * 40 + "ComponentNotFound: NoSuch"
    )
    assert short_reason(error) == "Rasa training failed (exit 1, log: x.log): … ComponentNotFound: NoSuch"
    assert short_reason(RuntimeError()) == "RuntimeError"
    assert len(short_reason(RuntimeError("x" * 5000))) == 400


async def test_a_training_whose_lock_is_gone_reads_as_failed_with_the_old_model(tmp_path: Path) -> None:
    board, lock = MemoryBoard(), MemoryLock()
    job = RasaRetraining(RasaModels("http://127.0.0.1:9"), board, lock, log_dir=tmp_path)
    training = TrainingStatus("training", "rasa", "old", "2026-12-07T18:00:00+00:00", pending_questions=True)
    await board.put(training)
    assert await lock.acquire()
    assert await job.status() == training  # its process still holds the lock
    await lock.release()
    status = await job.status()
    assert (status.state, status.model, status.error, status.pending_questions) == (
        "failed",
        "old",
        INTERRUPTED,
        True,
    )
