"""Shared fixtures: settings per database, the app with its lifespan, HTTP clients, a live server.

Databases: ``database_url`` runs a test on SQLite *and* PostgreSQL, for what the database decides
(intake, work queue, outbox, migrations, concurrency, numbering, SQL that differs between the
two). ``sqlite_database_url`` is SQLite only. The hub that ``settings``/``app``/``client``/
``live_server`` start uses ``hub_database_url``: both databases, unless a module overrides it
with ``sqlite_database_url`` where the database cannot change the outcome (an API's rules).

Start-up costs: a test process starts hundreds of hubs in-process, and each start parses the same
knowledge base and training files, hashes the admin password at argon2's full cost and collects
and freezes the heap. ``_cheap_hub_start`` shares the parsed files across the session (keyed by
the files' contents, so a test that edits them gets a fresh parse), hashes with argon2's lowest
cost, keeps every embedded engine it trains (not only the last) and shares their pickles with the
other test process and the hub processes (``HUB_VAR_DIR``), and skips ``gc.freeze`` (except for
the test of it, marked ``gc_freeze``).
Hubs started as processes, and production, do all of it at full cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import func, select

import app.main as composition
from app.conversations.models import DeliveryStatus, Message, WorkItem, WorkStatus
from app.db.migrate import run_migrations
from app.main import create_app
from app.officers import passwords
from app.services import Services
from app.settings import Settings
from knowledge_base import conversation as conversation_files
from knowledge_base import loader
from nlu.examples import CORE_INTENTS_FILE
from nlu.rasa_env import cache_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("GOVCHAT_SHARED_DIR", REPO_ROOT.parent / "shared"))
POSTGRES_ADMIN_DSN = os.environ.get("GOVCHAT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_PASSWORD = "admin-test-password"


def _contents_digest(paths: Iterable[Path], names_from: Path | None = None) -> str:
    """sha256 of the files' names (relative to ``names_from`` when given) and contents, in order."""
    digest = hashlib.sha256()
    for path in paths:
        name = path.relative_to(names_from) if names_from else path
        digest.update(name.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _engine_code_digest() -> str:
    """Names the code that trains an embedded engine: the NLU package and the locked libraries."""
    sources = [REPO_ROOT / "requirements.lock", *sorted((REPO_ROOT / "nlu").rglob("*.py"))]
    return _contents_digest(sources, REPO_ROOT)[:12]


# The var folder of the tests' `govchat serve` processes (tests/integration/processes.py). Its cache
# keeps the trained embedded engines for them and for the hubs started in-process, between runs and
# clones, as the Rasa model is kept: in the user's cache, keyed by the training data (the pickle's
# name) and by the code that trains (this folder's name), so changed code trains anew.
TEST_HUBS_ROOT = cache_dir() / "test-hubs"
HUB_VAR_DIR = TEST_HUBS_ROOT / _engine_code_digest()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``make test`` runs three test processes (pytest-xdist, ``--dist loadgroup``); tests that share
    a server across processes stay in one of them: the session's Rasa server (started once), and
    Redis, whose pub/sub would carry one process's hub events to the other's hubs. Modules are not
    kept together otherwise: setting their module fixtures up once did not pay for the coarser
    spread (benchmarks/RESULTS.md)."""
    for item in items:
        for marker in ("rasa", "redis"):
            if item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.xdist_group(marker))
                break


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


POSTGRES_AVAILABLE = _postgres_reachable()


async def _admin_execute(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


MIGRATIONS_DIR = REPO_ROOT / "app" / "migrations"
TEMPLATE_LOCK_ID = 7_406_222


def _migrations_digest() -> str:
    return _contents_digest(sorted(MIGRATIONS_DIR.rglob("*.py")), REPO_ROOT)[:12]


def _async_url(database: str) -> str:
    return (
        POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        + f"/{database}"
    )


async def _postgres_template() -> str:
    """A database migrated once per schema version; each test's database is a fast copy of it."""
    import asyncpg

    name = f"govchat_template_{_migrations_digest()}"
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", TEMPLATE_LOCK_ID)  # parallel test runs
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            building = f"{name}_building"
            await connection.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{building}"')
            await asyncio.to_thread(run_migrations, _async_url(building))
            await connection.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", TEMPLATE_LOCK_ID)
        await connection.close()
    return name


@contextlib.asynccontextmanager
async def fresh_postgres_database(migrated: bool = True) -> AsyncIterator[str]:
    """A new PostgreSQL database for one test (a copy of the migrated template, or empty); dropped after."""
    name = f"govchat_test_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{await _postgres_template()}"' if migrated else ""
    await _admin_execute(f'CREATE DATABASE "{name}"{template}')
    try:
        yield _async_url(name)
    finally:
        await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_sqlite_templates: dict[str, Path] = {}


def _sqlite_template(directory: Path) -> Path:
    """A migrated SQLite file per test session, copied for each test."""
    digest = _migrations_digest()
    if digest not in _sqlite_templates:
        path = directory / f"template-{digest}.db"
        run_migrations(f"sqlite+aiosqlite:///{path}")
        _sqlite_templates[digest] = path
    return _sqlite_templates[digest]


async def _migrated_sqlite(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    template = await asyncio.to_thread(_sqlite_template, tmp_path_factory.getbasetemp())
    shutil.copyfile(template, tmp_path / "govchat.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'govchat.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Each test using this runs on the embedded SQLite and on the PostgreSQL server, already migrated."""
    if request.param == "sqlite":
        yield await _migrated_sqlite(tmp_path, tmp_path_factory)
        return
    if not POSTGRES_AVAILABLE:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def sqlite_database_url(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database, for tests whose outcome the database cannot change."""
    return await _migrated_sqlite(tmp_path, tmp_path_factory)


@pytest.fixture
def hub_database_url(database_url: str) -> str:
    """The database of the hub that ``settings`` configures: both, unless a module overrides this
    fixture to return ``sqlite_database_url``."""
    return database_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An SQLite file that does not exist yet (not migrated)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'govchat.db'}"


T = TypeVar("T")


def _memoised_by_files(
    load: Callable[..., T], files: Callable[..., list[Path]], key: Callable[..., Any] = lambda *args: args
) -> Callable[..., T]:
    """``load`` once per ``key(*args)`` and distinct contents of the ``files(*args)`` it reads."""
    results: dict[tuple[Any, str], T] = {}

    def memoised(*args: Any) -> T:
        memo_key = (key(*args), _contents_digest(files(*args)))
        if memo_key not in results:
            results[memo_key] = load(*args)
        return results[memo_key]

    return memoised


def _yaml_under(root: Path = loader.DEFAULT_ROOT) -> list[Path]:
    return sorted(Path(root).rglob("*.yml"))


def _file_under(root: Path = conversation_files.HERE, *, name: str) -> list[Path]:
    return [Path(root) / name]


def _core_intents(_kb: loader.KnowledgeBase, core_path: Path = CORE_INTENTS_FILE) -> list[Path]:
    return [core_path]


def _forget_old_engines(keep: Path, days: float = 2.0) -> None:
    """Engines trained by other versions of the code and unused for ``days`` (each is ~60 MB).
    By age, not by version: a run of another checkout may be using its own right now."""
    if not TEST_HUBS_ROOT.is_dir():
        return
    for folder in TEST_HUBS_ROOT.iterdir():
        if folder != keep and time.time() - folder.stat().st_mtime > days * 86400:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _cheap_hub_start() -> Iterator[None]:
    HUB_VAR_DIR.mkdir(parents=True, exist_ok=True)
    os.utime(HUB_VAR_DIR)  # in use: see _forget_old_engines
    _forget_old_engines(HUB_VAR_DIR)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            loader, "load_knowledge_base", _memoised_by_files(loader.load_knowledge_base, _yaml_under)
        )
        for name, file in (("load_responses", "responses.yml"), ("load_routing_rules", "routing.yml")):
            files = functools.partial(_file_under, name=file)
            patch.setattr(composition, name, _memoised_by_files(getattr(composition, name), files))
        # the embedded NLU is trained once per process already (app.main); this is its training text
        examples = _memoised_by_files(
            composition.load_training_examples, _core_intents, key=lambda kb, *rest: (kb.fingerprint, *rest)
        )
        patch.setattr(composition, "load_training_examples", lambda *args: list(examples(*args)))
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        # tests go back and forth between the shipped knowledge base and edited ones (~15 s a training)
        patch.setattr(composition, "EMBEDDED_ENGINES_KEPT", 16)
        # and every test process shares one pickle cache with the hub processes the tests start:
        # one trains an engine, the others load it
        train, engines = composition.train_embedded_for, composition.embedded_cache_dir(HUB_VAR_DIR)

        async def shared_cache(kb: Any, cache_dir: Path | None = None, digest: str | None = None) -> Any:
            return await train(kb, engines, digest)

        patch.setattr(composition, "train_embedded_for", shared_cache)
        yield


@pytest.fixture(autouse=True)
def _no_gc_freeze(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("gc_freeze") is None:
        monkeypatch.setattr(composition, "freeze_startup_objects", lambda: None)


def make_settings(database_url: str, var_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "GOVCHAT_VAR_DIR": var_dir,
        "GOVCHAT_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "GOVCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GOVCHAT_POLL_INTERVAL": 0.05,
        "GOVCHAT_WORKERS": 2,
        "GOVCHAT_DELIVERY_BASE_BACKOFF": 0.05,
        "GOVCHAT_LEASE_SECONDS": 5,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(hub_database_url: str, tmp_path: Path) -> Settings:
    return make_settings(hub_database_url, tmp_path)


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(settings) as app:
        yield app


@pytest.fixture
def services(app: FastAPI) -> Services:
    result: Services = app.state.services
    return result


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
        yield http


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The hub served by uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.port = port or free_port()  # a given port: the same hub again after a restart
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        # as `govchat serve` runs it: the app, not uvicorn, decides whom X-Forwarded-For is believed from
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on", proxy_headers=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("hub did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    @property
    def services(self) -> Services:
        result: Services = self.app.state.services
        return result


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll an async or sync predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def queue_drained(services: Services, timeout: float = 15.0) -> None:
    """Wait until the hub has nothing left to do: every queued event handled, every reply sent
    or given up. A test that checks something did *not* happen (a second answer) checks after this."""

    async def drained() -> bool:
        async with services.sessionmaker() as session:
            work = await session.scalar(
                select(func.count())
                .select_from(WorkItem)
                .where(WorkItem.status.in_([WorkStatus.PENDING, WorkStatus.PROCESSING]))
            )
            outbox = await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.delivery_status == DeliveryStatus.PENDING)
            )
        return work == 0 and outbox == 0

    await wait_for(drained, timeout=timeout)
