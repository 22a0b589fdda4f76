"""Keep Application Default Credentials local: no metadata server, no user's gcloud config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collectors.gcp.fakes import FakeGoogle, running

# Port 9 (discard) on loopback: a metadata probe that slips through fails at once, locally.
_NO_METADATA = "127.0.0.1:9"


@pytest.fixture(autouse=True)
def _offline_adc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("GCE_METADATA_HOST", _NO_METADATA)
    monkeypatch.setenv("GCE_METADATA_IP", _NO_METADATA)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)


@pytest.fixture
def fake_google() -> Iterator[FakeGoogle]:
    yield from running(FakeGoogle())
