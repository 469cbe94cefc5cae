"""Everything a request or a worker needs, built once per app in ``lifespan``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.conversations.intake import GroupCommit
from app.conversations.policy import DecisionPolicy
from app.conversations.worker import Workers
from app.db.transactions import Transactions
from app.events import EventBus
from app.kb.live import DatabaseKnowledgeBase
from app.metrics import Metrics
from app.nlu_training.retrainer import NluRetrainer
from app.settings import Settings
from app.webchat.tokens import TokenSigner
from channels.base import ChannelAdapter
from knowledge_base.conversation import Responses
from nlu.client import NluClient


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]  # reads (and the web chat's requests)
    transactions: Transactions  # units of work: the workers', intake's and officers' changes
    intake: GroupCommit  # stores webhook events, concurrent requests sharing a transaction
    kb: DatabaseKnowledgeBase  # ``kb.store`` is what answers read; ``kb`` reloads it from the database
    responses: Responses
    policy: DecisionPolicy
    nlu: NluClient
    bus: EventBus
    metrics: Metrics
    adapters: dict[str, ChannelAdapter]
    workers: Workers
    webchat_tokens: TokenSigner
    officer_tokens: TokenSigner
    training: NluRetrainer  # retrains the NLU when the knowledge base's questions change
    # Problems found at run time that an operator must fix (e.g. a revoked channel token).
    config_errors: dict[str, str] = field(default_factory=dict)
