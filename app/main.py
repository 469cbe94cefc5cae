"""The composition root: ``create_app(settings)`` builds everything in ``lifespan``."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import hashlib
import logging
import os
import pickle
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.api_docs import install_api_docs
from app.conversations.delivery import Deliverer
from app.conversations.intake import GroupCommit
from app.conversations.pipeline import Pipeline
from app.conversations.policy import DecisionPolicy, Thresholds
from app.conversations.worker import Workers, resume_after_restart
from app.db.engine import create_engine, create_sessionmaker, is_sqlite
from app.db.migrate import run_migrations
from app.db.sqlite_transactions import SqliteTransactions
from app.db.transactions import SessionTransactions, Transactions
from app.events import EventBus, create_event_bus
from app.health import install_database_error_handler
from app.health import router as health_router
from app.kb.live import DatabaseKnowledgeBase
from app.logging import configure_logging
from app.metrics import Metrics
from app.middleware import BodySizeLimit, SecurityHeaders
from app.nlu_training.setup import build_retrainer
from app.services import Services
from app.settings import Settings
from app.web import router as web_router
from app.webchat.attachments import streams_its_own_body
from app.webchat.limits import WebchatLimits
from app.webchat.officer_typing import router as officer_typing_router
from app.webchat.origins import WidgetOrigins
from app.webchat.routes import router as webchat_router
from app.webchat.tokens import TokenSigner
from app.webchat.typing_events import bot_composing_announcer
from channels.base import ChannelAdapter
from channels.webchat.adapter import WebchatAdapter
from knowledge_base.conversation import load_responses, load_routing_rules
from knowledge_base.loader import DEFAULT_ROOT, KnowledgeBase, KnowledgeBaseStore
from nlu.client import NluClient
from nlu.embedded import ENGINE_VERSION, EmbeddedNlu, knowledge_base_documents
from nlu.examples import load_training_examples
from nlu.swappable import SwappableNlu
from nlu.thai_text import tokenize

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


_embedded_engines: dict[str, EmbeddedNlu] = {}
# Trained engines kept in memory, by training digest: the one in service (a retraining replaces it).
# The test suite, whose hubs go back and forth between knowledge bases in one process, keeps more.
EMBEDDED_ENGINES_KEPT = 1


def embedded_cache_dir(var_dir: Path) -> Path:
    """Where a hub pickles the embedded engines it trains: for its restarts and the other processes."""
    return var_dir / "cache"


def embedded_training_digest(kb: KnowledgeBase) -> str:
    """Names the embedded engine a knowledge base trains: its training text and the engine version."""
    documents = load_training_examples(kb) + knowledge_base_documents(kb)
    text = "\n".join(sorted(f"{e.label}\t{e.text}" for e in documents))
    return hashlib.sha256(f"{ENGINE_VERSION}\n{text}".encode()).hexdigest()[:16]


async def train_embedded_for(
    kb: KnowledgeBase, cache_dir: Path | None = None, digest: str | None = None
) -> EmbeddedNlu:
    """Train once per distinct training data: memoised in the process and pickled under ``cache_dir``.

    Restarts (and several apps in one test process) then start in well under a second, and after
    a knowledge-base change every process but the first loads what that one trained. ``digest``
    is ``embedded_training_digest(kb)`` when the caller has it already (it reads every example).
    """
    if digest is None:
        digest = embedded_training_digest(kb)
    if digest in _embedded_engines:
        return _embedded_engines[digest]
    path = cache_dir / f"embedded-nlu-{digest}.pickle" if cache_dir else None
    engine = await asyncio.to_thread(_load_or_train, kb, path)
    _embedded_engines[digest] = engine
    while len(_embedded_engines) > EMBEDDED_ENGINES_KEPT:
        del _embedded_engines[next(iter(_embedded_engines))]  # the oldest
    return engine


def _load_or_train(kb: KnowledgeBase, path: Path | None) -> EmbeddedNlu:
    if path is None:
        return EmbeddedNlu.from_knowledge_base(kb)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Hub processes sharing the cache hear of a change together: one trains, the others wait for
    # its pickle and load it (about a second against tens of seconds of training each).
    with path.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            try:
                engine = pickle.loads(path.read_bytes())  # our own file, written below
                if isinstance(engine, EmbeddedNlu):
                    return engine
            except Exception:
                log.warning("embedded_nlu_cache_unreadable", extra={"path": str(path)})
        engine = EmbeddedNlu.from_knowledge_base(kb)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(pickle.dumps(engine))
        temporary.replace(path)
        return engine


async def build_nlu(settings: Settings, kb_store: KnowledgeBaseStore) -> NluClient:
    return (await build_swappable_nlu(settings, kb_store))[0]


async def build_swappable_nlu(
    settings: Settings, kb_store: KnowledgeBaseStore
) -> tuple[NluClient, SwappableNlu]:
    """The embedded engine always (default and fallback); Rasa in front of it when configured.

    The embedded engine sits in a ``SwappableNlu``, the second value, which retraining replaces."""
    kb = kb_store.current
    digest = embedded_training_digest(kb)
    embedded = SwappableNlu(
        await train_embedded_for(kb, embedded_cache_dir(settings.var_dir), digest), digest
    )
    if not settings.rasa_url:
        return embedded, embedded
    from nlu.cascade import LocalFirstNlu
    from nlu.rasa_http import RasaHttpNlu
    from nlu.resilient import FailoverNlu

    timeout = settings.nlu_timeout_seconds
    token = settings.rasa_auth_token.get_secret_value() if settings.rasa_auth_token else None
    rasa = RasaHttpNlu(
        settings.rasa_url,
        timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 0.5)),
        auth_token=token,
    )
    failover = FailoverNlu(primary=rasa, fallback=embedded, call_timeout_s=timeout)
    return LocalFirstNlu(embedded, failover, settings.nlu_local_sure_at), embedded


def freeze_startup_objects() -> None:
    """Exempt what start-up built from garbage collection: it lives as long as the process.

    Under load a full collection scanned PyThaiNLP's dictionary (about 235,000 trie nodes), the
    NLU model and the SDKs' models every few seconds, for about 200 ms each time, and every
    webhook waiting meanwhile got its answer that much later.
    """
    tokenize("สวัสดี")  # PyThaiNLP builds its dictionary on first use
    gc.collect()
    gc.freeze()


def build_adapters(
    settings: Settings, services_config_errors: dict[str, str], bus: EventBus | None = None
) -> dict[str, ChannelAdapter]:
    adapters: dict[str, ChannelAdapter] = {
        "webchat": WebchatAdapter(bot_composing_announcer(bus) if bus is not None else None)
    }
    from app.channel_setup import configured_platform_adapters

    adapters.update(configured_platform_adapters(settings, services_config_errors))
    return adapters


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    configure_logging(settings.log_level)
    database_url = settings.resolved_database_url()
    await asyncio.to_thread(run_migrations, database_url)
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    # Intake and workers write all the time, in sync units of work. On SQLite they take turns on
    # connections of their own, each unit in one call; requests (officers, web chat) use the
    # general pool.
    work_transactions: Transactions = (
        SqliteTransactions(database_url) if is_sqlite(database_url) else SessionTransactions(sessionmaker)
    )
    bus = create_event_bus(settings.redis_url)
    # The knowledge base answers come from is the database's (seeded from the YAML on a first start).
    kb = await DatabaseKnowledgeBase.open(
        sessionmaker, bus, settings.kb_dir or DEFAULT_ROOT, settings.kb_check_seconds
    )
    kb_store = kb.store
    responses = load_responses()
    routing = load_routing_rules()
    policy = DecisionPolicy(
        Thresholds(settings.answer_threshold, settings.clarify_threshold, settings.intent_threshold),
        routing,
        lambda: kb_store.current,
    )
    nlu, embedded_nlu = await build_swappable_nlu(settings, kb_store)
    cache_dir = embedded_cache_dir(settings.var_dir)
    training = build_retrainer(
        settings,
        kb_store,
        embedded_nlu,
        lambda kb, digest: train_embedded_for(kb, cache_dir, digest),
        embedded_training_digest,
        # the new engine lives as long as the old one did: keep the collector off it too
        after_swap=lambda: freeze_startup_objects(),
    )
    metrics = Metrics()
    config_errors: dict[str, str] = {}
    adapters = build_adapters(settings, config_errors, bus)
    secret = settings.resolved_secret_key()
    pipeline = Pipeline(
        work_transactions,
        policy,
        nlu,
        kb_store,
        responses,
        bus,
        metrics,
        adapters=adapters,
        case_pin_key=secret,
        processing_hint_seconds=settings.processing_hint_seconds,
        lease_seconds=settings.lease_seconds,
    )
    deliverer = Deliverer(
        work_transactions,
        adapters,
        bus,
        metrics,
        max_seconds=settings.delivery_max_seconds,
        base_backoff=settings.delivery_base_backoff,
        lease_seconds=settings.lease_seconds,
    )
    workers = Workers(
        work_transactions,
        pipeline,
        deliverer,
        metrics,
        bus,
        count=settings.workers,
        lease_seconds=settings.lease_seconds,
        poll_interval=settings.poll_interval,
    )
    services = Services(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        transactions=work_transactions,
        intake=GroupCommit(work_transactions),
        kb=kb,
        responses=responses,
        policy=policy,
        nlu=nlu,
        bus=bus,
        metrics=metrics,
        adapters=adapters,
        workers=workers,
        webchat_tokens=TokenSigner(secret, "govchat.webchat", settings.webchat_session_days * 86400),
        officer_tokens=TokenSigner(secret, "govchat.officer", settings.officer_token_hours * 3600),
        config_errors=config_errors,
        training=training,
    )
    app.state.services = services
    app.state.webchat_limits = WebchatLimits(settings)
    from app.officers.bootstrap import ensure_first_admin

    await ensure_first_admin(services)
    resumed = await resume_after_restart(work_transactions, single_process=is_sqlite(database_url))
    if resumed:
        log.warning("resumed_unfinished_work", extra={"count": resumed})
    await kb.start()
    training.start()
    freeze_startup_objects()
    workers.start()
    from app.insights.retention import start_retention_job

    retention = start_retention_job(services)
    log.info("hub_started", extra={"database": engine.dialect.name, "nlu": nlu.name})
    try:
        yield
    finally:
        await retention.stop()
        await workers.stop()
        await training.stop()
        await kb.stop()
        for adapter in adapters.values():
            await adapter.aclose()
        await nlu.aclose()
        await bus.aclose()
        await work_transactions.aclose()
        await engine.dispose()
        gc.unfreeze()
        log.info("hub_stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # FastAPI's own docs pages load their scripts from a CDN: off, and ours only when asked for.
    app = FastAPI(
        title="govchat", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.settings = settings
    # The last added runs first: headers on every answer, then who the client is (the origin check
    # needs the scheme a trusted proxy saw), then other origins refused before any body is read.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, exempt=streams_its_own_body)
    app.add_middleware(WidgetOrigins, allowed=settings.allowed_widget_origins())
    if settings.trusted_proxies:
        # Only the agency's own proxies may say who the client is (login and web-chat limits).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.add_middleware(SecurityHeaders)
    if settings.api_docs:
        install_api_docs(app)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        # 422 with a readable reason; the input itself is not echoed back (it may hold personal data).
        reasons = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in error.errors()
        ]
        return JSONResponse({"detail": reasons}, status_code=422)

    install_database_error_handler(app)
    app.include_router(health_router)
    app.include_router(webchat_router)
    app.include_router(officer_typing_router)
    from app.routers import include_feature_routers

    include_feature_routers(app)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
