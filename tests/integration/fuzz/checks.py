"""The properties every answer must have, whatever was sent."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, settings

from tests.integration.fuzz.hub import Stored

# One app serves every example of a test (a function-scoped fixture, on purpose: it is costly to
# start); examples are few enough that the folder runs in about a minute and a half.
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"


def assert_rejected_with_reason(response: httpx.Response) -> None:
    """A 4xx whose JSON body says why (a string, or FastAPI's list of validation problems)."""
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str | list) and detail, detail


def assert_rejected_and_nothing_stored(response: httpx.Response, before: Stored, after: Stored) -> None:
    assert_rejected_with_reason(response)
    assert after == before, f"a rejected request ({response.status_code}) stored {after} (was {before})"
