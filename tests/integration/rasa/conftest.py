"""A really trained and served Rasa model for the integration tests (once per session).

The model is trained with our production pipeline (``nlu/rasa_project/config.yml``: Thai
tokenizer, n-gram featurizers, linear classifiers) on the knowledge base and core intents,
and cached by fingerprint like ``govchat nlu train`` does: the first run on a machine
trains (about a minute), later runs with unchanged data reuse the model. It is served on a
free loopback port. Only a machine without Python 3.10 skips these tests, saying so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from knowledge_base.loader import load_knowledge_base
from nlu.commands import build_govchat_project
from nlu.examples import Example, load_training_examples
from nlu.rasa_env import PythonNotFoundError, RasaEnv, ensure
from nlu.rasa_http import RasaHttpNlu
from nlu.rasa_runner import RasaServer, train_model


@pytest.fixture(scope="session")
def rasa_env() -> RasaEnv:
    try:
        return ensure()
    except PythonNotFoundError as exc:
        pytest.skip(f"Rasa integration tests need Python 3.10: {exc}")


@pytest.fixture(scope="session")
def rasa_model(rasa_env: RasaEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = build_govchat_project(build_root=tmp_path_factory.mktemp("rasa-data"))
    model, _trained = train_model(
        project, rasa_env, log_file=tmp_path_factory.mktemp("rasa-log") / "train.log"
    )
    return model


@pytest.fixture(scope="session")
def rasa_server(
    rasa_env: RasaEnv, rasa_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RasaServer]:
    log = tmp_path_factory.mktemp("rasa-server") / "rasa.log"
    with RasaServer(rasa_env, rasa_model, log_file=log) as server:
        yield server


@pytest.fixture
def ensure_serving(rasa_server: RasaServer) -> RasaServer:
    """The session's server, restarted if an earlier test stopped it."""
    if rasa_server.process is None or rasa_server.process.poll() is not None:
        rasa_server.start()
    return rasa_server


@pytest.fixture
async def rasa_client(ensure_serving: RasaServer) -> AsyncIterator[RasaHttpNlu]:
    client = RasaHttpNlu(ensure_serving.url, auth_token=ensure_serving.auth_token)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def faq_ids() -> set[str]:
    return set(load_knowledge_base().entries)


@pytest.fixture(scope="session")
def training_examples() -> list[Example]:
    return load_training_examples(load_knowledge_base())
