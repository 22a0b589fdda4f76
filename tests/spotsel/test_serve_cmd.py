"""`spotsel serve` refuses unsafe configurations; `spotsel api-key create` makes usable keys."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from api.auth import Keyring, key_entry
from api.server import PUBLIC_NO_AUTH_FLAG, check_startup
from core.errors import ConfigError, SchemaNotReadyError
from core.settings import Settings
from spotsel.cli import app
from spotsel.commands import serve as serve_module
from spotsel.commands.serve import FIRST_KEY_NAME, curl_example, serve_command
from spotsel.state import AppState

runner = CliRunner()
SPOTSEL = Path(sys.executable).with_name("spotsel")
KEYS = [key_entry(name="ci", scope="read", key="spk_test-key")]


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


EXPOSURE = [
    # (why, auth on, host, allowed by the second flag, refused)
    ("no auth on loopback", False, "127.0.0.1", False, False),
    ("no auth on IPv6 loopback", False, "::1", False, False),
    ("no auth on localhost", False, "localhost", False, False),
    ("no auth on all interfaces", False, "0.0.0.0", False, True),
    ("no auth on all IPv6 interfaces", False, "::", False, True),
    ("no auth on a LAN address", False, "192.168.1.5", False, True),
    ("no auth on a host name", False, "api.internal", False, True),
    ("no auth, public, explicitly allowed", False, "0.0.0.0", True, False),
    ("auth on, public", True, "0.0.0.0", False, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "auth_on", "host", "allowed", "refused"), EXPOSURE, ids=[e[0] for e in EXPOSURE]
)
def test_no_auth_beyond_loopback_needs_the_second_flag(
    why: str, auth_on: bool, host: str, allowed: bool, refused: bool
) -> None:
    settings = Settings(api_auth=auth_on, api_keys=KEYS)
    if refused:
        with pytest.raises(ConfigError, match=PUBLIC_NO_AUTH_FLAG):
            check_startup(settings, host=host, allow_public_no_auth=allowed)
    else:
        check_startup(settings, host=host, allow_public_no_auth=allowed)


def test_public_no_auth_exits_1_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "spotsel.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTSEL_")}
    env |= {"SPOTSEL_CONFIG": str(config), "SPOTSEL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run(
        [str(SPOTSEL), "serve", "--no-auth", "--host", "0.0.0.0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("spotsel: error: authentication is off (--no-auth")
    assert PUBLIC_NO_AUTH_FLAG in line
    assert result.stdout == ""


def test_the_second_flag_serves_publicly_and_warns(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import migrate
    from core.db import make_engine

    migrate.upgrade(make_engine(settings.database_url))
    served: dict[str, object] = {}
    monkeypatch.setattr("api.server.serve", lambda settings, **options: served.update(options))
    command = typer.Typer()
    command.command()(serve_command)
    result = runner.invoke(
        command,
        ["--no-auth", "--host", "0.0.0.0", "--port", str(_free_port()), PUBLIC_NO_AUTH_FLAG],
        obj=AppState(settings=settings),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert served["allow_public_no_auth"] is True
    assert served["host"] == "0.0.0.0"
    assert "REACHABLE FROM THE NETWORK" in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_cli_flag_is_the_one_the_server_names() -> None:
    """The CLI spells the flag itself (declaring it must not load the server): same spelling."""
    assert serve_module.PUBLIC_NO_AUTH_FLAG == PUBLIC_NO_AUTH_FLAG


def _serve_with_first_key(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    from core import migrate
    from core.db import make_engine

    migrate.upgrade(make_engine(settings.database_url))
    served: dict[str, Any] = {}

    def fake_serve(settings: Settings, **options: Any) -> None:
        served.update(options, settings=settings)

    monkeypatch.setattr("api.server.serve", fake_serve)
    command = typer.Typer()
    command.command()(serve_command)
    result = CliRunner().invoke(
        command,
        ["--host", "0.0.0.0", "--port", str(_free_port())],
        obj=AppState(settings=settings),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result, served.get("settings")


def test_a_fresh_deployment_generates_the_first_key_once_and_serves(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_file = tmp_path / "state" / "api-keys"
    fresh = settings.model_copy(
        update={"api_keys_file": keys_file, "api_generate_first_key": True, "api_keys": []}
    )
    first, served = _serve_with_first_key(fresh, monkeypatch)
    [key] = re.findall(r"generated the first API key .*: (spk_\S+)", first.output)
    principal = Keyring(served.api_keys).identify(key)
    assert principal is not None
    assert (principal.name, principal.scope) == (FIRST_KEY_NAME, "write")
    assert key not in keys_file.read_text(), "the file keeps the hash, never the key"
    assert Settings(api_keys_file=keys_file).api_keys == served.api_keys, "workers read it too"

    again, served_again = _serve_with_first_key(fresh, monkeypatch)
    assert "generated" not in again.output, "the key is printed once, on the first start only"
    assert key not in again.output
    assert served_again.api_keys == served.api_keys


def test_configured_keys_mean_no_generated_key(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_file = tmp_path / "api-keys"
    configured = settings.model_copy(
        update={"api_keys_file": keys_file, "api_generate_first_key": True, "api_keys": KEYS}
    )
    result, served = _serve_with_first_key(configured, monkeypatch)
    assert "generated" not in result.output
    assert not keys_file.exists()
    assert served.api_keys == KEYS


def test_an_unwritable_keys_file_is_one_line_and_serves_nothing(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import migrate
    from core.db import make_engine

    migrate.upgrade(make_engine(settings.database_url))
    (tmp_path / "a-file").write_text("")
    broken = settings.model_copy(
        update={
            "api_keys_file": tmp_path / "a-file" / "api-keys",
            "api_generate_first_key": True,
            "api_keys": [],
        }
    )
    monkeypatch.setattr("api.server.serve", lambda *a, **k: pytest.fail("must not serve"))
    with pytest.raises(ConfigError, match=r"^cannot create the first API key in .*/api-keys: "):
        CliRunner().invoke(
            app,
            ["serve", "--port", str(_free_port())],
            obj=AppState(settings=broken),
            catch_exceptions=False,
        )


def test_generating_a_key_needs_a_file_to_keep_it() -> None:
    with pytest.raises(ValueError, match="GENERATE_FIRST_KEY needs SPOTSEL_API_KEYS_FILE"):
        Settings(api_generate_first_key=True)
