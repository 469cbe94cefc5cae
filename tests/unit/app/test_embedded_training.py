"""Start-up's embedded engine: its training digest read once, the engine memoised per digest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import app.main as composition
from app.settings import Settings
from knowledge_base.loader import DEFAULT_ROOT, KnowledgeBase, KnowledgeBaseStore


class _Engine:
    name = "fake-embedded"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts digests and trainings; training returns a stand-in instead of fitting the model."""
    counts = {"digests": 0, "trainings": 0}
    digest = composition.embedded_training_digest

    def counting_digest(kb: KnowledgeBase) -> str:
        counts["digests"] += 1
        return digest(kb)

    def fake_train(kb: KnowledgeBase, path: Path | None) -> Any:
        counts["trainings"] += 1
        return _Engine()

    monkeypatch.setattr(composition, "embedded_training_digest", counting_digest)
    monkeypatch.setattr(composition, "_load_or_train", fake_train)
    monkeypatch.setattr(composition, "_embedded_engines", {})
    return counts


async def test_the_start_reads_the_training_digest_once_and_labels_the_engine_with_it(
    counted: dict[str, int], tmp_path: Path
) -> None:
    store = KnowledgeBaseStore(DEFAULT_ROOT)
    settings = Settings(_env_file=None, GOVCHAT_VAR_DIR=str(tmp_path))  # type: ignore[call-arg]
    nlu, embedded = await composition.build_swappable_nlu(settings, store)
    assert nlu is embedded
    assert counted == {"digests": 1, "trainings": 1}
    assert list(composition._embedded_engines) == [embedded.model]  # the engine memoised under its label


async def test_the_same_training_data_is_trained_once_per_process(counted: dict[str, int]) -> None:
    kb = KnowledgeBaseStore(DEFAULT_ROOT).current
    first = await composition.train_embedded_for(kb)
    again = await composition.train_embedded_for(kb)
    assert again is first
    assert counted == {"digests": 2, "trainings": 1}
