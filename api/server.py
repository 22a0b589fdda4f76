"""Run the API with uvicorn: one in-process app, or N worker processes via the env factory.

Workers are separate processes that build their own app with `create_app_from_env`, so the
choices made on the command line (database URL, --no-auth) reach them as ``SPOTSEL_*``
environment variables, which settings read with the highest precedence after overrides.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Final

import uvicorn

from api.app import NO_KEYS_ERROR, create_app
from core.errors import ConfigError
from core.settings import ENV_PREFIX, Settings

__all__ = ["is_loopback", "serve"]

APP_FACTORY: Final = "api.app:create_app_from_env"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_startup(settings: Settings) -> None:
    """Refuse to start with auth on and no keys, before binding any port."""
    if settings.api_auth and not settings.api_keys:
        raise ConfigError(NO_KEYS_ERROR)


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
) -> None:
    """Serve until interrupted. `settings.api_auth` False means --no-auth."""
    check_startup(settings)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
        return
    os.environ[f"{ENV_PREFIX}DATABASE_URL"] = settings.database_url
    os.environ[f"{ENV_PREFIX}API_AUTH"] = "true" if settings.api_auth else "false"
    if settings.api_keys:
        os.environ[f"{ENV_PREFIX}API_KEYS"] = ",".join(settings.api_keys)
    uvicorn.run(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level=log_level
    )
