"""`spotsel serve` and `spotsel api-key create`: presentation and checks around `api.server`.

The only module of the CLI that imports `api` (tests/test_import_rules.py): `spotsel demo` serves
through `run_serve` here. The server (FastAPI, uvicorn) is imported when a command serves, not
when the CLI starts.

`--no-auth` serves every route to anyone who can connect; beyond a loopback ``--host`` it
also needs `--allow-public-no-auth`, so a network-wide open API is never one flag away.

With ``SPOTSEL_API_GENERATE_FIRST_KEY`` and ``SPOTSEL_API_KEYS_FILE`` (docker-compose.yml sets
both) and no key configured anywhere, the first start generates one write key, keeps its hash in
the file and prints the key once, so a fresh deployment serves instead of refusing to start.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from api.auth import SCOPES, generate_key, key_entry
from core.errors import ConfigError
from spotsel.consoles import err, out
from spotsel.state import app_state

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = [
    "FIRST_KEY_NAME",
    "PUBLIC_NO_AUTH_FLAG",
    "api_key_app",
    "curl_example",
    "first_key_due",
    "generate_first_key",
    "run_serve",
    "serve_command",
]

# api.server.PUBLIC_NO_AUTH_FLAG names this flag in its refusal; spelled here so that declaring
# the option does not load the server (tests/spotsel/test_serve_cmd.py asserts they are equal).
PUBLIC_NO_AUTH_FLAG = "--allow-public-no-auth"

api_key_app = typer.Typer(help="API keys for `spotsel serve` (hashed at rest).")
# The key generated on a fresh deployment: write scope, so its holder can do everything the API
# offers (and refresh the snapshot); narrower keys come from `spotsel api-key create`.
FIRST_KEY_NAME = "admin"
FIRST_KEY_SCOPE = "write"


def run_serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    no_auth: bool,
    out: Console,
    err: Console,
    allow_public_no_auth: bool = False,
) -> None:
    """Check the configuration and the store, say how to reach the API, then serve."""
    from api.app import NO_AUTH_WARNING
    from api.server import check_startup, is_loopback, serve
    from core.db import make_engine, redact_url, require_schema

    if no_auth:
        settings = settings.model_copy(update={"api_auth": False})
    generate = first_key_due(settings)
    if not generate:  # else the key is made once every other check has passed
        check_startup(settings, host=host, allow_public_no_auth=allow_public_no_auth)
    engine = make_engine(
        settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    try:
        require_schema(engine)
    finally:
        engine.dispose()
    ensure_port_free(host, port)
    if generate:
        settings = generate_first_key(settings, err=err)
    if not settings.api_auth:
        exposure = "" if is_loopback(host) else f" ON {host}, REACHABLE FROM THE NETWORK"
        err.print(f"[bold red]WARNING: {NO_AUTH_WARNING}{exposure}.[/]")
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    out.print(
        f"spotsel API on {base} (database {redact_url(settings.database_url)}, "
        f"{workers} worker{'s' if workers != 1 else ''}); docs at {base}/docs"
    )
    out.print(f"try: {curl_example(base, auth=settings.api_auth)}", soft_wrap=True)
    serve(
        settings,
        host=host,
        port=port,
        workers=workers,
        allow_public_no_auth=allow_public_no_auth,
    )


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Disable API keys (local use only; warns loudly).")
    ] = False,
    allow_public_no_auth: Annotated[
        bool,
        typer.Option(
            PUBLIC_NO_AUTH_FLAG,
            help="Let --no-auth listen on a non-loopback --host: anyone on the network can "
            "use every route.",
        ),
    ] = False,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs)."""
    run_serve(
        app_state(ctx).get_settings(),
        host=host,
        port=port,
        workers=workers,
        no_auth=no_auth,
        allow_public_no_auth=allow_public_no_auth,
        out=out,
        err=err,
    )


def first_key_due(settings: Settings) -> bool:
    """Whether serving starts by generating the first API key (see the module docstring)."""
    return (
        settings.api_auth
        and settings.api_generate_first_key
        and settings.api_keys_file is not None
        and not settings.api_keys
    )


def generate_first_key(settings: Settings, *, err: Console) -> Settings:
    """Create the keys file with one new write key, print the key once; ``settings`` with it.

    When another process created the file first, its keys stand and nothing is printed.
    """
    from core.settings import create_api_keys_file, read_api_keys_file

    path = settings.api_keys_file
    assert path is not None
    key = generate_key()
    try:
        created = create_api_keys_file(
            path, key_entry(name=FIRST_KEY_NAME, scope=FIRST_KEY_SCOPE, key=key)
        )
        keys = read_api_keys_file(path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot create the first API key in {path}: {reason}") from None
    if created:
        err.print(
            f"generated the first API key ({FIRST_KEY_NAME!r}, {FIRST_KEY_SCOPE} scope), shown "
            f"once, keep it: {key}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        err.print(
            f"its hash is kept in {path}; add keys there with `spotsel api-key create NAME`, "
            "delete a line to revoke one",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return settings.model_copy(update={"api_keys": keys})


def ensure_port_free(host: str, port: int) -> None:
    """Fail in one line before loading anything when the address is taken or invalid."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Same option uvicorn sets, so a port in TIME_WAIT is not reported as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another --port)"
            ) from None


def curl_example(base: str, *, auth: bool) -> str:
    """A ready-to-paste request for one GPU with at least 16 GiB in us-east-1."""
    header = ' -H "Authorization: Bearer $SPOTSEL_API_KEY"' if auth else ""
    body = '{"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"]}'
    return (
        f"curl -s -X POST {base}/v1/recommendations{header} "
        f"-H 'Content-Type: application/json' -d '{body}'"
    )


@api_key_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A label for the key, e.g. the client's name.")],
    scope: Annotated[str, typer.Option(help=f"One of {', '.join(SCOPES)}.")] = "read",
) -> None:
    """Create a key: prints the key once and the settings entry (its hash) to configure."""
    if scope not in SCOPES:
        raise ConfigError(f"--scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    key = generate_key()
    entry = key_entry(name=name, scope=scope, key=key)
    out.print(f"key (shown once, give it to the client): {key}", soft_wrap=True)
    out.print(f"settings entry (hash only, safe to store): {entry}", soft_wrap=True)
    out.print(
        f"add it to SPOTSEL_API_KEYS (comma-separated), e.g. export SPOTSEL_API_KEYS={entry}, "
        "or as a line of SPOTSEL_API_KEYS_FILE",
        soft_wrap=True,
    )
