"""``Annotated`` dependencies: each route's needs are visible in its signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.services import Services


async def get_services(request: Request) -> Services:
    # async: FastAPI would run a plain ``def`` dependency in its thread pool on every request.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """A read session; writes open their own transaction (``session.begin()``) in the service."""
    async with services.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
