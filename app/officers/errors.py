"""What an officer action can fail with; routes turn these into HTTP answers with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, status


class OfficerActionError(Exception):
    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(OfficerActionError):
    """Unknown, or of a department the officer does not belong to (the same answer for both)."""

    status_code = status.HTTP_404_NOT_FOUND


class Conflict(OfficerActionError):
    """Another officer holds the conversation, or its state does not allow the action."""

    status_code = status.HTTP_409_CONFLICT


class Forbidden(OfficerActionError):
    status_code = status.HTTP_403_FORBIDDEN


class Invalid(OfficerActionError):
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT


@contextmanager
def as_http() -> Iterator[None]:
    try:
        yield
    except OfficerActionError as error:
        raise HTTPException(error.status_code, error.reason) from error
