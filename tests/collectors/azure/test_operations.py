"""Operating the ``azure`` source: the CLI runs it and `spotsel status` lists it (both engines),
compose passes the Azure credentials through, deploy/ reads them from an optional Secret."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from typer.testing import CliRunner

from core.settings import Settings
from spotsel.cli import app
from spotsel.state import AppState
from tests.collectors.azure.builders import FakeRetail, azure_source, prices_for, serve_skus
from tests.collectors.azure.builders import sku_record as sku
from tests.collectors.azure.fakes import SUBSCRIPTION, FakeArm
from tests.test_compose import _resolved

ROOT = Path(__file__).resolve().parents[3]
CREDENTIALS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_SUBSCRIPTION_ID")
T4 = "Standard_NC4as_T4_v3"
runner = CliRunner()


def test_status_lists_the_azure_source_after_a_run(
    engine: Engine, settings: Settings, now: datetime, fake_arm: FakeArm
) -> None:
    from collectors import get_source
    from collectors.base import CollectContext
    from collectors.runner import run_source

    serve_skus(fake_arm, {"eastus": [sku(T4, "eastus", 4, 28, gpus=1)]})
    retail = FakeRetail({"eastus": prices_for("eastus", {T4: (0.526, 0.0789)})})
    assert get_source("azure").name == "azure"  # registered
    ctx = CollectContext(
        settings, now, options={"subscription": SUBSCRIPTION, "regions": ["eastus"]}
    )
    assert run_source(engine, azure_source(fake_arm, retail), ctx).status == "ok"
    result = runner.invoke(
        app, ["status", "--output", "json"], obj=AppState(settings=settings), catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    sources = {s["source"]: s for s in json.loads(result.stdout)["sources"]}
    azure = sources["azure"]
    assert azure["last_run"]["status"] == "ok"
    assert azure["last_run"]["failed_regions"] == []
    assert azure["data_as_of"] == now.isoformat()
    assert not azure["simulated"]


def _scheduler_env(tmp_path: Path, dotenv: str) -> dict[str, Any]:
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    (tmp_path / ".env").write_text(dotenv)
    env: dict[str, Any] = _resolved(tmp_path / "docker-compose.yml")["services"]["scheduler"][
        "environment"
    ]
    return env


def test_compose_passes_azure_credentials_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_TENANT_ID", "from-the-shell")
    env = _scheduler_env(tmp_path, f"AZURE_CLIENT_ID=app\nAZURE_SUBSCRIPTION_ID={SUBSCRIPTION}\n")
    assert env["AZURE_CLIENT_ID"] == "app"
    assert env["AZURE_TENANT_ID"] == "from-the-shell"
    assert env["AZURE_SUBSCRIPTION_ID"] == SUBSCRIPTION
    # Unset stays unset (Compose's null value: the container gets no such variable) ...
    assert env["AZURE_CLIENT_SECRET"] is None


def test_unset_azure_credentials_stay_unset_because_empty_ones_break_the_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.identity import DefaultAzureCredential

    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    env = _scheduler_env(tmp_path, "")
    assert all(env[name] is None for name in CREDENTIALS)
    # ... because an *empty* AZURE_CLIENT_ID (what `${AZURE_CLIENT_ID:-}` would give) stops
    # DefaultAzureCredential before it tries managed identity or `az login`.
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.setenv(name, "")
    with pytest.raises(ValueError, match="client_id"):
        DefaultAzureCredential()


def test_deploy_reads_azure_credentials_from_an_optional_secret() -> None:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "scheduler.yaml").read_text()))
    [scheduler] = [d for d in docs if d and d["kind"] == "Deployment"]
    [container] = scheduler["spec"]["template"]["spec"]["containers"]
    [ref] = [e["secretRef"] for e in container["envFrom"] if "secretRef" in e]
    assert ref == {"name": "spotsel-azure", "optional": True}
    readme = (ROOT / "deploy" / "README.md").read_text()
    assert "create secret generic spotsel-azure" in readme
    for name in CREDENTIALS:
        assert f"--from-literal={name}=" in readme, name
