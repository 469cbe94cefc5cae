"""Officer login (argon2, rate limited per username and per address), tokens and their revocation.

Login limits (INTERFACES.md, "Officer login"): ``MAX_FAILURES`` failed attempts for one username
within ``FAILURE_WINDOW``, from any address, and ``MAX_ADDRESS_FAILURES`` from one address over
any usernames (password spraying); beyond them → 429 with ``Retry-After``. An attempt is counted
as a failure *before* its password is checked, under a lock on its username and address, and
uncounted once it succeeds: concurrent attempts cannot all pass a check made before any of them
was recorded. The counts live in the database, so every hub process shares them.

A token carries the officer's id and ``token_generation``; moving the generation on (password,
role or department change, deactivation, logout) revokes every token signed before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import math
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, status
from sqlalchemy.orm import Session

from app.db.schema import utcnow
from app.db.transactions import Transactions
from app.deps import ServicesDep
from app.events import EventBus
from app.officers import repository
from app.officers.errors import OfficerActionError
from app.officers.models import Officer
from app.officers.passwords import hash_password, verify_password
from app.services import Services
from app.webchat.tokens import TokenSigner

MAX_FAILURES = 5
MAX_ADDRESS_FAILURES = 20
FAILURE_WINDOW = dt.timedelta(minutes=15)


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


def _retry_after(failures: Sequence[dt.datetime], limit: int, now: dt.datetime) -> int | None:
    """Seconds until fewer than ``limit`` of ``failures`` (oldest first) are in the window, if they are not."""
    if len(failures) < limit:
        return None
    # the window slides: the oldest counted failure leaves it first
    wait = failures[-limit] + FAILURE_WINDOW - now
    return max(1, math.ceil(wait.total_seconds()))


def _count_attempt(session: Session, username: str, address: str, now: dt.datetime) -> str:
    """Record the attempt as a failure (its id), or raise ``TooManyAttempts``; atomic per username and address."""
    repository.lock_login(session, username, address)
    repository.forget_failures_before(session, now - FAILURE_WINDOW)
    since = now - FAILURE_WINDOW
    waits = [
        _retry_after(repository.failure_times(session, since, username=username), MAX_FAILURES, now),
        _retry_after(repository.failure_times(session, since, address=address), MAX_ADDRESS_FAILURES, now),
    ]
    if any(w is not None for w in waits):
        raise TooManyAttempts(max(w for w in waits if w is not None))
    return repository.add_failure(session, username, address, now)


async def login(
    transactions: Transactions, tokens: TokenSigner, username: str, password: str, address: str
) -> str:
    """A signed token for the officer; raises ``InvalidCredentials`` or ``TooManyAttempts``."""
    now = utcnow()

    def count_attempt(session: Session) -> tuple[str, Officer | None]:
        return _count_attempt(session, username, address, now), repository.officer_by_username(
            session, username
        )

    attempt, officer = await transactions.run(count_attempt)
    known = officer is not None and officer.active
    password_hash = officer.password_hash if officer is not None and known else _decoy_hash()
    # argon2 is deliberately slow: keep it off the event loop (and outside any lock)
    accepted = await asyncio.to_thread(verify_password, password_hash, password) and known

    def record_outcome(session: Session) -> None:
        if accepted and officer is not None:
            repository.clear_failures(session, username, address, attempt)
            repository.add_audit(session, officer.id, "login", officer.id, {"address": address})
        else:
            detail = {"username": username[:64], "address": address}
            repository.add_audit(session, officer.id if officer else None, "login_failed", None, detail)

    await transactions.run(record_outcome)
    if not accepted or officer is None:
        raise InvalidCredentials("wrong username or password")
    return issue_token(tokens, officer)


def issue_token(tokens: TokenSigner, officer: Officer) -> str:
    return tokens.sign(f"{officer.id}.{officer.token_generation or 0}")


async def officer_for_token(services: Services, token: str | None) -> Officer | None:
    """The officer a token names, if it is still valid (signed, unexpired, not revoked, active)."""
    subject = services.officer_tokens.verify(token) if token else None
    officer_id, _, generation = (subject or "").partition(".")
    if not officer_id or not generation.isdigit():
        return None
    async with services.sessionmaker() as session:
        officer = await repository.officer_by_id(session, officer_id)
    if officer is None or not officer.active or officer.token_generation != int(generation):
        return None
    return officer


def officer_topic(officer_id: str) -> str:
    """Bus topic told when an officer's tokens are revoked (their console sockets listen)."""
    return f"officer:{officer_id}"


def revoke_tokens(officer: Officer) -> None:
    """Every token signed so far stops working once the session that loaded ``officer`` commits."""
    officer.token_generation = (officer.token_generation or 0) + 1


async def announce_revocation(bus: EventBus, officer_id: str) -> None:
    await bus.publish(officer_topic(officer_id), {"type": "tokens_revoked"})


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
router = APIRouter(prefix="/api/officer", tags=["officer"])


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(officer: CurrentOfficer, services: ServicesDep) -> None:
    """Revoke the officer's tokens (every console they have open signs out)."""

    def revoke(session: Session) -> None:
        row = session.get(Officer, officer.id)
        if row is not None:
            revoke_tokens(row)
            repository.add_audit(session, officer.id, "logout", officer.id)

    await services.transactions.run(revoke)
    await announce_revocation(services.bus, officer.id)
