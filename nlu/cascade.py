"""``LocalFirstNlu``: the embedded engine answers what it is sure of; Rasa parses the rest.

With Rasa configured, every message used to cost a round trip and Rasa's parse (6 ms of its CPU at
best, more when its classifiers embed). The embedded engine's sparse model reads a message in about a
millisecond inside the hub, trained on the same examples. Where its top label's probability reaches
``sure_at`` that answer stands (``Prediction.engine`` says so); below it the message goes to Rasa,
behind its circuit breaker as before (``nlu.resilient``). The threshold and what it changes on the
held-out sets: ``benchmarks/nlu_cascade.py``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from nlu.client import Prediction
from nlu.resilient import FailoverNlu

# On the held-out sets every threshold from 0.8 up gives Rasa's own figures through the policy; at
# 0.95 Rasa still parses 28% of the Thai questions and 42% of the English ones (0.8: 14% and 21%).
# The margin is for citizens' phrasings the held-out sets lack.
DEFAULT_LOCAL_SURE_AT = 0.95


@runtime_checkable
class SureParser(Protocol):
    """An engine that can say, cheaply, whether it is sure of a message (``EmbeddedNlu``)."""

    def parse_if_sure(self, text: str, sure_at: float) -> Prediction | None: ...


class LocalFirstNlu:
    """An ``NluClient``: ``local`` where it is sure, else ``remote`` (see module doc)."""

    def __init__(
        self, local: SureParser, remote: FailoverNlu, sure_at: float = DEFAULT_LOCAL_SURE_AT
    ) -> None:
        self.local = local
        self.remote = remote
        self.sure_at = sure_at
        self.name = remote.name

    async def parse(self, text: str) -> Prediction:
        sure = self.local.parse_if_sure(text, self.sure_at)
        return sure if sure is not None else await self.remote.parse(text)

    async def is_ready(self) -> bool:
        return await self.remote.is_ready()

    async def aclose(self) -> None:
        await self.remote.aclose()
