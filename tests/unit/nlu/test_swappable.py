"""``SwappableNlu``: the engine in service is replaced between two parses, never inside one."""

from __future__ import annotations

import asyncio

from nlu.client import Prediction
from nlu.swappable import SwappableNlu


class NamedEngine:
    def __init__(self, name: str, gate: asyncio.Event | None = None) -> None:
        self.name = name
        self.gate = gate

    async def parse(self, text: str) -> Prediction:
        if self.gate is not None:
            await self.gate.wait()
        return Prediction(text=text, intent="faq", confidence=1.0, engine=self.name)

    async def is_ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


async def test_the_next_parse_after_a_swap_uses_the_new_engine() -> None:
    nlu = SwappableNlu(NamedEngine("old"), model="a")
    assert (await nlu.parse("x")).engine == "old"
    previous = nlu.swap(NamedEngine("new"), model="b")
    assert previous.name == "old"
    assert ((await nlu.parse("x")).engine, nlu.model, nlu.name) == ("new", "b", "new")


async def test_a_parse_running_during_the_swap_finishes_on_the_old_engine() -> None:
    gate = asyncio.Event()
    nlu = SwappableNlu(NamedEngine("old", gate))
    running = asyncio.create_task(nlu.parse("x"))
    await asyncio.sleep(0)
    nlu.swap(NamedEngine("new"))
    gate.set()
    assert (await running).engine == "old"
    assert (await nlu.parse("y")).engine == "new"
