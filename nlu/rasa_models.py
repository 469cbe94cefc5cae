"""Which model a running Rasa server serves, and replacing it without a restart.

Rasa's HTTP API (served with ``--enable-api --auth-token``): ``GET /status`` names the loaded model
file; ``PUT /model {"model_file": path}`` loads another one (a path the server can read) and swaps
it in only once it has loaded, so the old model answers until then. The first parse after a load
builds the pipeline's caches; ``load_model`` pays it before returning, not a citizen's message.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import aiohttp

# Loading our model takes a few seconds; a loaded machine can take much longer.
LOAD_TIMEOUT = aiohttp.ClientTimeout(total=300, connect=2)
STATUS_TIMEOUT = aiohttp.ClientTimeout(total=5, connect=2)
WARM_UP_TEXT = "สวัสดีครับ"


class RasaModelError(RuntimeError):
    """The server did not load the model; the message says what it answered."""


class RasaModels:
    """Model management calls on one Rasa server (separate from the parse client and its short timeout)."""

    def __init__(self, base_url: str, auth_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._params = {"token": auth_token} if auth_token else None

    def _session(self, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=timeout, trust_env=False)

    async def served_model(self) -> str | None:
        """The loaded model's file name (``<fingerprint>.tar.gz``), or None when none answers."""
        try:
            async with (
                self._session(STATUS_TIMEOUT) as session,
                session.get(f"{self.base_url}/status", params=self._params) as response,
            ):
                if response.status != 200:
                    return None
                body = json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        model = body.get("model_file") if isinstance(body, dict) else None
        return Path(str(model)).name if model else None

    async def load_model(self, model: Path) -> float:
        """Load ``model`` and parse once on it; returns the seconds the load took (RasaModelError if not)."""
        started = time.monotonic()
        try:
            async with self._session(LOAD_TIMEOUT) as session:
                async with session.put(
                    f"{self.base_url}/model", json={"model_file": str(model)}, params=self._params
                ) as response:
                    if response.status not in (200, 204):
                        raise RasaModelError(
                            f"PUT /model answered {response.status}: {await _reason(response)}"
                        )
                async with session.post(
                    f"{self.base_url}/model/parse", json={"text": WARM_UP_TEXT}, params=self._params
                ) as response:
                    if response.status != 200:
                        raise RasaModelError(f"the first parse on the new model answered {response.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaModelError(f"Rasa did not load the model: {type(exc).__name__}: {exc}") from exc
        return time.monotonic() - started


async def _reason(response: aiohttp.ClientResponse) -> str:
    """Rasa's ``message`` from an error body, else the start of the body."""
    raw = await response.read()
    try:
        body = json.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", errors="replace")
    return str(body.get("message") or body)[:300] if isinstance(body, dict) else str(body)[:300]
