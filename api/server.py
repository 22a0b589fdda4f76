"""Run the API with uvicorn: one in-process app, or N worker processes via the env factory.

Workers are separate processes that build their own app with `create_app_from_env`, so the
settings the parent validated (database URL, --no-auth, keys, request limits, ...) reach them
as ``SPOTSEL_*`` environment variables (`worker_environment`), which settings read with the
highest precedence after overrides.

The server itself bounds what arrives before the app sees a request: its httptools protocol
(`api.http_protocol`) buffers at most `MAX_HEAD_BYTES` of an unfinished request head (measured:
with uvicorn's own httptools protocol, 200 MB of headers on one connection were buffered whole
and lifted the process by as much; this one answers 400 and closes at the limit), and past
`Settings.api_max_connections` open connections it answers 503 at once (measured: 300
connections each sending a 1 MiB body slowly lifted a process by 300 MB; capped at 100, by
100 MB). Bodies are bounded by the app (`api.guard`).
"""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Any, Final

import uvicorn

from api.app import NO_KEYS_ERROR, create_app
from api.http_protocol import MAX_HEAD_BYTES, BoundedHttpToolsProtocol
from api.workers import own_sockets_supported, run_workers
from core.errors import ConfigError
from core.settings import ENV_PREFIX, Settings

__all__ = [
    "MAX_HEAD_BYTES",
    "PUBLIC_NO_AUTH_FLAG",
    "check_startup",
    "is_loopback",
    "serve",
    "uvicorn_options",
    "worker_environment",
]

APP_FACTORY: Final = "api.app:create_app_from_env"
# The flag that lets --no-auth listen beyond loopback (spotsel serve).
PUBLIC_NO_AUTH_FLAG: Final = "--allow-public-no-auth"
# uvicorn's supervisor pings every worker and replaces one that does not answer within this
# many seconds ("Child process [...] died"). A worker answers once its process has started: a
# spawned worker imports the entry point again, which took about 6 s on a loaded 2-core machine
# (issue 17) against uvicorn's default of 5 s, so one of two workers was killed at every start.
# A hung worker is still replaced, half a minute later.
WORKER_HEALTHCHECK_TIMEOUT_S: Final = 30
# Settings a worker's app is built from besides these prefixes: everything `create_app` reads.
_WORKER_FIELDS: Final = ("database_url", "sqlite_busy_timeout_ms", "log_level")
_WORKER_PREFIXES: Final = ("api_", "karpenter_", "outputs_")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_startup(settings: Settings, *, host: str, allow_public_no_auth: bool = False) -> None:
    """Refuse unsafe or broken configurations before binding any port."""
    if not settings.api_auth and not is_loopback(host) and not allow_public_no_auth:
        raise ConfigError(
            f"authentication is off (--no-auth or SPOTSEL_API_AUTH=false) and {host} is "
            "reachable from the network: "
            f"bind a loopback --host, configure API keys, or add {PUBLIC_NO_AUTH_FLAG}"
        )
    if settings.api_auth and not settings.api_keys:
        raise ConfigError(NO_KEYS_ERROR)


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def worker_environment(settings: Settings) -> dict[str, str]:
    """``SPOTSEL_*`` variables that rebuild `settings`' API configuration in a worker."""
    env = {}
    for name in Settings.model_fields:
        if name not in _WORKER_FIELDS and not name.startswith(_WORKER_PREFIXES):
            continue
        value = getattr(settings, name)
        if value is not None:
            env[f"{ENV_PREFIX}{name.upper()}"] = _env_value(value)
    return env


def uvicorn_options(settings: Settings, *, host: str, port: int, log_level: str) -> dict[str, Any]:
    """What every server process runs with, one worker or many."""
    return {
        "host": host,
        "port": port,
        "log_level": log_level,
        "http": BoundedHttpToolsProtocol,
        "limit_concurrency": settings.api_max_connections,
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_TIMEOUT_S,
    }


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
    allow_public_no_auth: bool = False,
) -> None:
    """Serve until interrupted. `settings.api_auth` False means --no-auth."""
    check_startup(settings, host=host, allow_public_no_auth=allow_public_no_auth)
    options = uvicorn_options(settings, host=host, port=port, log_level=log_level)
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    os.environ.update(worker_environment(settings))
    if own_sockets_supported():  # balanced over the workers (api.workers)
        run_workers(APP_FACTORY, workers=workers, **options)
        return
    uvicorn.run(APP_FACTORY, factory=True, workers=workers, **options)
