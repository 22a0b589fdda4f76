"""Keep Azure credentials local: no managed-identity endpoint, no environment credentials.

``DefaultAzureCredential`` reads ``AZURE_*`` variables (service principal, workload identity,
tenant) and asks a managed-identity endpoint; every such variable is cleared, and managed
identity is left to IMDS with its authority at a closed loopback port (9, discard), so a request
that slips through fails locally (after the SDK's retries, seconds of back-off). A test that means
to reach managed identity uses ``imds_without_identity``, whose answer ends it at once.
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
    # Variables that select another managed-identity flavour (App Service, Arc, Cloud Shell, ML).
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IMDS_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", _CLOSED)


@pytest.fixture
def fake_arm() -> Iterator[FakeArm]:
    yield from running(FakeArm())


@pytest.fixture
def imds_without_identity(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArm]:
    """A loopback instance metadata service that answers as on a machine with no identity
    assigned (400: IMDS's own answer, which the credential takes as "unavailable" at once)."""
    imds = FakeArm()
    imds.route_json(
        "GET",
        "/metadata/identity/oauth2/token",
        {"error": "invalid_request", "error_description": "Identity not found"},
        status=400,
    )
    for served in running(imds):
        monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", served.url)
        yield served
