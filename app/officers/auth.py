"""Officer login (argon2, rate limited per username and address) and the token dependency."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import math
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status

from app.db import utcnow
from app.deps import ServicesDep
from app.officers import repository
from app.officers.errors import OfficerActionError
from app.officers.models import Officer
from app.officers.passwords import hash_password, verify_password
from app.services import Services

MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=5)


class InvalidCredentials(OfficerActionError):
    status_code = status.HTTP_401_UNAUTHORIZED


class TooManyAttempts(OfficerActionError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed logins; try again later")
        self.retry_after = retry_after


@functools.cache
def _decoy_hash() -> str:
    """Checked when the username is unknown, so both cases take as long (no username probing)."""
    return hash_password("govchat-decoy-password")


async def login(services: Services, username: str, password: str, address: str) -> str:
    """A signed token for the officer; raises ``InvalidCredentials`` or ``TooManyAttempts``."""
    now = utcnow()
    async with services.sessionmaker() as session:
        failures = await repository.recent_failures(session, username, address, now - FAILURE_WINDOW)
        officer = await repository.officer_by_username(session, username)
    if len(failures) >= MAX_FAILURES:
        # the window slides: the oldest counted failure leaves it first
        wait = failures[-MAX_FAILURES] + FAILURE_WINDOW - now
        raise TooManyAttempts(max(1, math.ceil(wait.total_seconds())))
    known = officer is not None and officer.active
    password_hash = officer.password_hash if officer is not None and known else _decoy_hash()
    # argon2 is deliberately slow: keep it off the event loop
    accepted = await asyncio.to_thread(verify_password, password_hash, password) and known
    async with services.sessionmaker() as session, session.begin():
        if accepted and officer is not None:
            await repository.clear_failures(session, username, address)
            repository.add_audit(session, officer.id, "login", officer.id, {"address": address})
        else:
            await repository.forget_failures_before(session, now - FAILURE_WINDOW)
            await repository.add_failure(session, username, address, now)
            detail = {"username": username[:64], "address": address}
            repository.add_audit(session, officer.id if officer else None, "login_failed", None, detail)
    if not accepted or officer is None:
        raise InvalidCredentials("wrong username or password")
    return services.officer_tokens.sign(officer.id)


async def officer_for_token(services: Services, token: str | None) -> Officer | None:
    officer_id = services.officer_tokens.verify(token) if token else None
    if officer_id is None:
        return None
    async with services.sessionmaker() as session:
        officer = await repository.officer_by_id(session, officer_id)
    return officer if officer is not None and officer.active else None


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


async def current_officer(
    services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> Officer:
    officer = await officer_for_token(services, bearer(authorization))
    if officer is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing, invalid or expired token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return officer


CurrentOfficer = Annotated[Officer, Depends(current_officer)]
