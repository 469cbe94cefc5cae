"""Training a Rasa model from a running hub, without blocking it and stoppable with it.

``train_model_async`` is ``rasa_runner.train_model`` as an asyncio subprocess: the event loop keeps
answering while Rasa trains in its own environment, and a hub that stops (the task cancelled) ends
the training's whole process group instead of waiting for it. The model lands, as with ``govchat nlu
train``, under the cache's ``rasa-models/<fingerprint>.tar.gz`` (renamed into place when complete),
so a second hub, or a later ``govchat nlu serve``, finds it without training again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
from pathlib import Path

from nlu.rasa_env import RasaEnv, rasa_process_env
from nlu.rasa_runner import (
    TRAIN_TIMEOUT_S,
    RasaRunError,
    log_tail,
    model_path,
    nlu_training_args,
    rasa_command,
)
from nlu.training_data import RasaProject


async def train_model_async(
    project: RasaProject, env: RasaEnv, *, log: Path, timeout: float = TRAIN_TIMEOUT_S
) -> tuple[Path, bool]:
    """``(model path, trained now?)``; trains only when no model for this fingerprint exists."""
    target = model_path(project)
    if target.exists():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    name = target.name.removesuffix(".tar.gz")
    with tempfile.TemporaryDirectory(prefix="rasa-train-", dir=target.parent) as out:
        command = rasa_command(
            env, "train", *nlu_training_args(project), "--out", out, "--fixed-model-name", name
        )
        with log.open("w", encoding="utf-8") as handle:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=project.root,
                env=rasa_process_env(),
                stdout=handle,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # its own process group: a cancel ends what it spawned too
            )
            try:
                async with asyncio.timeout(timeout):
                    returncode = await process.wait()
            except TimeoutError as exc:
                await _stop(process)
                raise RasaRunError(f"Rasa training took over {timeout:.0f} s (log: {log})") from exc
            except asyncio.CancelledError:
                await _stop(process)
                raise
        produced = Path(out) / f"{name}.tar.gz"
        if returncode != 0 or not produced.exists():
            raise RasaRunError(f"Rasa training failed (exit {returncode}, log: {log}):\n{log_tail(log)}")
        os.replace(produced, target)  # atomic: a concurrent reader sees no model or the whole one
    return target, True


async def _stop(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        async with asyncio.timeout(10):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
