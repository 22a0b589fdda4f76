"""`spotsel serve` refuses unsafe configurations; `spotsel api-key create` makes usable keys."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from api.auth import Keyring
from core.errors import ConfigError, SchemaNotReadyError
from core.settings import Settings
from spotsel.cli import app
from spotsel.serve_cmd import curl_example
from spotsel.state import AppState

runner = CliRunner()


def test_serve_without_keys_refuses_with_one_clear_line(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"set SPOTSEL_API_KEYS .* or pass --no-auth"):
        runner.invoke(app, ["serve"], obj=AppState(settings=settings), catch_exceptions=False)


def test_serve_checks_the_schema_before_binding(settings: Settings) -> None:
    with pytest.raises(SchemaNotReadyError):
        runner.invoke(
            app, ["serve", "--no-auth"], obj=AppState(settings=settings), catch_exceptions=False
        )


def test_api_key_create_prints_a_key_and_its_settings_entry() -> None:
    result = runner.invoke(app, ["api-key", "create", "ci", "--scope", "write"])
    assert result.exit_code == 0, result.output
    key = re.search(r"key \(shown once.*\): (\S+)", result.output)
    entry = re.search(r"settings entry .*: (\S+)", result.output)
    assert key is not None
    assert entry is not None
    principal = Keyring([entry.group(1)]).identify(key.group(1))
    assert principal is not None
    assert (principal.name, principal.scope) == ("ci", "write")
    assert Settings(api_keys=[entry.group(1)]).api_keys == [entry.group(1)]


def test_curl_example_is_ready_to_paste() -> None:
    assert curl_example("http://127.0.0.1:8080", auth=False) == (
        "curl -s -X POST http://127.0.0.1:8080/v1/recommendations "
        "-H 'Content-Type: application/json' "
        """-d '{"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"]}'"""
    )
    assert "Authorization: Bearer $SPOTSEL_API_KEY" in curl_example("http://h:1", auth=True)


def test_serve_refuses_a_taken_port_before_loading_anything(settings: Settings) -> None:
    import socket

    from core import migrate
    from core.db import make_engine

    migrate.upgrade(make_engine(settings.database_url))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            runner.invoke(
                app,
                ["serve", "--no-auth", "--port", str(port)],
                obj=AppState(settings=settings),
                catch_exceptions=False,
            )
