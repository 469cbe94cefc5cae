import pytest
from tests.integration.line.conftest import LineHub

@pytest.fixture
def line_overrides():
    return {"GOVCHAT_PROCESSING_HINT_SECONDS": 0}

async def test_dbg(line: LineHub) -> None:
    print("HINT", line.services.settings.processing_hint_seconds, line.services.workers.pipeline.processing_hint_seconds, line.services.workers.pipeline.adapters)
