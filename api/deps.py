"""Dependency aliases for routes: ``SessionDep``, ``PoolIndexDep``, ``ReadAuth``, ...

Routes declare what they need as annotated parameters; nothing here is module-level state,
everything comes from the app instance (`app.state.services`). The auth dependencies are also
what `required_scope` reads: `api.guard` checks the key before any body is read, and the
OpenAPI document names the security scheme, from the same declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session

from api.auth import ANONYMOUS, Principal
from api.errors import ForbiddenError, UnauthorizedError
from api.services import Services
from selector import PoolIndex

__all__ = [
    "NowDep",
    "PoolIndexDep",
    "ReadAuth",
    "ServicesDep",
    "SessionDep",
    "WriteAuth",
    "authenticate",
    "bearer_token",
    "require_read",
    "require_write",
    "required_scope",
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


def _snapshot(services: ServicesDep) -> PoolIndex:
    return services.snapshots.get()


async def _now(services: ServicesDep) -> datetime:
    return services.clock()


SessionDep = Annotated[Session, Depends(_session)]
PoolIndexDep = Annotated[PoolIndex, Depends(_snapshot)]
NowDep = Annotated[datetime, Depends(_now)]


def bearer_token(authorization: str | None) -> str | None:
    """The key in an ``Authorization: Bearer <key>`` header value, read as `HTTPBearer` does."""
    scheme, token = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and token) or scheme.lower() != "bearer":
        return None
    return token


def authenticate(services: Services, token: str | None, scope: str) -> Principal:
    """Who presents `token`; raises 401 without a known key, 403 when it lacks `scope`."""
    if not services.auth_enabled:
        return ANONYMOUS
    if not token:
        raise UnauthorizedError("missing API key: send `Authorization: Bearer <key>`")
    principal = services.keyring.identify(token)
    if principal is None:
        raise UnauthorizedError("invalid API key")
    if not principal.allows(scope):
        raise ForbiddenError(
            f"key {principal.name!r} has scope {principal.scope!r}; this needs {scope!r}"
        )
    return principal


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return None if credentials is None else credentials.credentials


async def require_read(services: ServicesDep, credentials: Credentials) -> Principal:
    return authenticate(services, _token(credentials), "read")


async def require_write(services: ServicesDep, credentials: Credentials) -> Principal:
    return authenticate(services, _token(credentials), "write")


ReadAuth = Annotated[Principal, Depends(require_read)]
WriteAuth = Annotated[Principal, Depends(require_write)]

# The scope each auth dependency demands; a route needs the widest it declares.
_SCOPES: dict[Callable[..., Any], str] = {require_read: "read", require_write: "write"}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def required_scope(dependant: Dependant | None) -> str | None:
    """The key scope a route's dependencies demand (``"read"``, ``"write"``), or None: open."""
    if dependant is None:
        return None
    needed = {_SCOPES[call] for call in _calls(dependant) if call in _SCOPES}
    return "write" if "write" in needed else next(iter(needed), None)
