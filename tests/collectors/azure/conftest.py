"""Keep Azure credentials local: no managed-identity endpoint, no environment credentials.

``DefaultAzureCredential`` reads ``AZURE_*`` variables (service principal, workload identity,
tenant) and probes the instance metadata service; every such variable is cleared and the
managed-identity endpoints point at a closed loopback port (9, discard), so a probe that slips
through fails at once, locally.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.collectors.azure.fakes import FakeArm, running

_CLOSED = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _offline_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AZURE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IDENTITY_ENDPOINT", _CLOSED)
    monkeypatch.setenv("IDENTITY_HEADER", "offline")
    monkeypatch.setenv("MSI_ENDPOINT", _CLOSED)
    monkeypatch.setenv("IMDS_ENDPOINT", _CLOSED)


@pytest.fixture
def fake_arm() -> Iterator[FakeArm]:
    yield from running(FakeArm())
