"""Building the retrainer for the hub's configuration (called from the lifespan)."""

from __future__ import annotations

from collections.abc import Callable

from app.nlu_training.rasa_job import RasaRetraining
from app.nlu_training.retrainer import EmbeddedTrainer, NluRetrainer
from app.nlu_training.status import MemoryBoard, MemoryLock, RedisBoard, RedisLock, shared_key
from app.settings import Settings
from knowledge_base.loader import KnowledgeBase, KnowledgeBaseStore
from nlu.rasa_models import RasaModels
from nlu.swappable import SwappableNlu


def build_retrainer(
    settings: Settings,
    kb_store: KnowledgeBaseStore,
    embedded: SwappableNlu,
    train_embedded: EmbeddedTrainer,
    training_digest: Callable[[KnowledgeBase], str],
    after_swap: Callable[[], None],
) -> NluRetrainer:
    return NluRetrainer(
        kb_store, embedded, train_embedded, training_digest, _rasa_retraining(settings), after_swap
    )


def _rasa_retraining(settings: Settings) -> RasaRetraining | None:
    if not settings.rasa_url or not settings.rasa_retrain:
        return None
    token = settings.rasa_auth_token.get_secret_value() if settings.rasa_auth_token else None
    models = RasaModels(settings.rasa_url, token)
    log_dir, build_root = settings.var_dir / "log", settings.var_dir / "rasa" / "data"
    if settings.redis_url:  # hubs sharing the Rasa server share the job's state and lock
        import redis.asyncio as redis

        client = redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        key = shared_key(settings.rasa_url)
        return RasaRetraining(
            models,
            RedisBoard(client, key),
            RedisLock(client, key),
            log_dir=log_dir,
            build_root=build_root,
            close=client.aclose,
        )
    return RasaRetraining(models, MemoryBoard(), MemoryLock(), log_dir=log_dir, build_root=build_root)
