"""What officer actions use, and nothing more: the units of work, the bus, the delivery
worker's bell, the bot's texts, the channels and the knowledge base in service."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from app.db.transactions import Transactions
from app.deps import ServicesDep
from app.events import EventBus
from app.services import Services
from channels.base import ChannelAdapter
from knowledge_base.conversation import Responses
from knowledge_base.loader import KnowledgeBase


@dataclass(frozen=True)
class OfficerDesk:
    transactions: Transactions  # each action is one sync unit of work (see ``service``)
    bus: EventBus
    wake_delivery: Callable[[], None]  # the outbox worker sends what an action queued at once
    responses: Responses
    adapters: Mapping[str, ChannelAdapter]
    knowledge: Callable[[], KnowledgeBase]  # read at action time: curators publish while the hub runs

    @classmethod
    def of(cls, services: Services) -> OfficerDesk:
        store = services.kb.store
        return cls(
            transactions=services.transactions,
            bus=services.bus,
            wake_delivery=services.workers.notify_delivery,
            responses=services.responses,
            adapters=services.adapters,
            knowledge=lambda: store.current,
        )


async def get_officer_desk(services: ServicesDep) -> OfficerDesk:
    return OfficerDesk.of(services)


OfficerDeskDep = Annotated[OfficerDesk, Depends(get_officer_desk)]
