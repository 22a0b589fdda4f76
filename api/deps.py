"""Dependency aliases for routes: ``SessionDep``, ``SnapshotDep``, ``ReadAuth``, ...

Routes declare what they need as annotated parameters; nothing here is module-level state,
everything comes from the app instance (`app.state.services`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth import ANONYMOUS, Principal
from api.errors import ForbiddenError, UnauthorizedError
from api.services import Services
from selector import Snapshot

__all__ = [
    "NowDep",
    "ReadAuth",
    "ServicesDep",
    "SessionDep",
    "SnapshotDep",
    "WriteAuth",
]

# Cheap dependencies are `async def` so they run on the event loop, not in the threadpool.
# auto_error=False: a missing header is answered by our 401 with the stable body.
_bearer = HTTPBearer(
    auto_error=False,
    description="API key: `Authorization: Bearer <key>` (`spotsel api-key create`).",
)


async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


def _session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine) as session:
        yield session


def _snapshot(services: ServicesDep) -> Snapshot:
    return services.snapshots.get()


async def _now(services: ServicesDep) -> datetime:
    return services.clock()


SessionDep = Annotated[Session, Depends(_session)]
SnapshotDep = Annotated[Snapshot, Depends(_snapshot)]
NowDep = Annotated[datetime, Depends(_now)]


def _authenticate(
    services: Services, credentials: HTTPAuthorizationCredentials | None, scope: str
) -> Principal:
    if not services.auth_enabled:
        return ANONYMOUS
    if credentials is None or not credentials.credentials:
        raise UnauthorizedError("missing API key: send `Authorization: Bearer <key>`")
    principal = services.keyring.identify(credentials.credentials)
    if principal is None:
        raise UnauthorizedError("invalid API key")
    if not principal.allows(scope):
        raise ForbiddenError(
            f"key {principal.name!r} has scope {principal.scope!r}; this needs {scope!r}"
        )
    return principal


async def require_read(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return _authenticate(services, credentials, "read")


async def _write(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return _authenticate(services, credentials, "write")


ReadAuth = Annotated[Principal, Depends(require_read)]
WriteAuth = Annotated[Principal, Depends(_write)]
