"""The first administrator, created at start-up when no officer exists."""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.officers.access import ALL_DEPARTMENTS
from app.officers.models import Officer, Role
from app.officers.passwords import hash_password
from app.services import Services

log = logging.getLogger(__name__)
__all__ = ["ALL_DEPARTMENTS", "ensure_first_admin"]


async def ensure_first_admin(services: Services) -> str | None:
    """Create the admin of ``GOVCHAT_ADMIN_*`` if there is no officer; returns a generated password."""
    settings = services.settings
    try:
        async with services.sessionmaker() as session, session.begin():
            if await session.scalar(select(func.count()).select_from(Officer)):
                return None
            generated = settings.admin_password is None
            password = secrets.token_urlsafe(12) if generated else settings.admin_password.get_secret_value()  # type: ignore[union-attr]
            session.add(
                Officer(
                    username=settings.admin_username,
                    password_hash=hash_password(password),
                    role=Role.ADMIN,
                    departments=[ALL_DEPARTMENTS],
                )
            )
    except IntegrityError:
        # Hub processes starting together: another one created the administrator first.
        log.info("first_admin_created_by_another_process")
        return None
    if generated:
        # Printed once, on the console only (not the log): the operator must change it.
        print(f"govchat: first administrator '{settings.admin_username}' password: {password}", flush=True)
        return password
    return None
