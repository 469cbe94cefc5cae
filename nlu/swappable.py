"""``SwappableNlu``: an ``NluClient`` whose engine can be replaced while messages are parsed.

The hub holds one for the embedded engine. A retraining builds the next engine beside the one in
service, then ``swap`` puts it in with one assignment: a parse already running finishes on the old
engine, the next one uses the new; no message waits and none fails.
"""

from __future__ import annotations

from nlu.cascade import SureParser
from nlu.client import NluClient, Prediction


class SwappableNlu:
    """Delegates to the engine in service (see module doc)."""

    def __init__(self, engine: NluClient, model: str = "") -> None:
        self._engine = engine
        self.model = model  # what the engine was trained on (a digest), for status pages
        self.name = engine.name

    @property
    def engine(self) -> NluClient:
        return self._engine

    def swap(self, engine: NluClient, model: str = "") -> NluClient:
        """Serve ``engine`` from the next parse on; returns the one it replaced (still usable)."""
        previous, self._engine = self._engine, engine
        self.model = model
        self.name = engine.name
        return previous

    async def parse(self, text: str) -> Prediction:
        return await self._engine.parse(text)

    def parse_if_sure(self, text: str, sure_at: float) -> Prediction | None:
        engine = self._engine
        return engine.parse_if_sure(text, sure_at) if isinstance(engine, SureParser) else None

    async def is_ready(self) -> bool:
        return await self._engine.is_ready()

    async def aclose(self) -> None:
        await self._engine.aclose()
