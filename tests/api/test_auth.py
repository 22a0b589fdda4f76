"""API keys: the auth matrix, hashing at rest, and refusing to start without keys."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.auth import Keyring, hash_key, key_entry
from core.errors import ConfigError
from core.settings import Settings, load_settings
from tests.api.conftest import KEYS, READ_KEY, WRITE_KEY, Market, auth, build_app

READ_ROUTE = ("GET", "/v1/snapshot")
WRITE_ROUTE = ("POST", "/v1/snapshot/refresh")

MATRIX = [
    # (why, route, headers, status, error code)
    ("no key on a read route", READ_ROUTE, {}, 401, "unauthorized"),
    ("unknown key", READ_ROUTE, auth("spk_wrong"), 401, "unauthorized"),
    ("hash given as the key", READ_ROUTE, auth(hash_key(READ_KEY)), 401, "unauthorized"),
    ("basic auth, not bearer", READ_ROUTE, {"Authorization": f"Basic {READ_KEY}"}, 401,
     "unauthorized"),
    ("read key reads", READ_ROUTE, auth(READ_KEY), 200, None),
    ("write key reads (write implies read)", READ_ROUTE, auth(WRITE_KEY), 200, None),
    ("read key on a write route", WRITE_ROUTE, auth(READ_KEY), 403, "forbidden"),
    ("write key writes", WRITE_ROUTE, auth(WRITE_KEY), 200, None),
    ("no key on a write route", WRITE_ROUTE, {}, 401, "unauthorized"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "route", "headers", "status", "code"), MATRIX, ids=[m[0] for m in MATRIX]
)
def test_auth_matrix(
    client: TestClient,
    why: str,
    route: tuple[str, str],
    headers: dict[str, str],
    status: int,
    code: str | None,
) -> None:
    response = client.request(*route, headers=headers)
    assert response.status_code == status, why
    if code is not None:
        assert response.json()["error"] == code
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "route",
    [("POST", "/v1/recommendations"), ("GET", "/v1/pools"), ("GET", "/v1/instance-types"),
     ("GET", "/v1/collectors"), ("GET", "/v1/pools/aws/us-east-1/use1-az1/g5.xlarge/history")],
)  # fmt: skip
def test_every_v1_route_needs_a_key(client: TestClient, route: tuple[str, str]) -> None:
    response = client.request(*route, json={"gpus": 1} if route[0] == "POST" else None)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"])
def test_health_and_docs_are_open(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_no_auth_mode_opens_everything_and_warns(
    market: Market, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING),
        TestClient(build_app(market.engine, market.settings, api_auth=False)) as c,
    ):
        assert c.post("/v1/snapshot/refresh").status_code == 200
        assert c.get("/v1/pools", params={"limit": 1}).status_code == 200
    assert "AUTHENTICATION IS DISABLED" in caplog.text


def test_keys_never_reach_the_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        client.get("/v1/snapshot", headers=auth(READ_KEY))
        client.get("/v1/snapshot", headers=auth("spk_wrong-secret"))
    assert READ_KEY not in caplog.text
    assert "spk_wrong-secret" not in caplog.text


def test_auth_on_without_keys_refuses_to_start(engine: Engine, settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"SPOTSEL_API_KEYS.*--no-auth"):
        create_app(settings.model_copy(update={"api_keys": []}), engine=engine)


def test_keyring_identifies_by_hash() -> None:
    ring = Keyring(KEYS)
    reader = ring.identify(READ_KEY)
    assert reader is not None
    assert (reader.name, reader.scope) == ("reader", "read")
    assert not reader.allows("write")
    assert ring.identify(READ_KEY + "x") is None
    assert ring.identify("") is None


def test_settings_entries_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = key_entry(name="ci", scope="write", key="spk_abc")
    assert entry == f"ci:write:{hash_key('spk_abc')}"
    monkeypatch.setenv("SPOTSEL_API_KEYS", f"{entry}, {KEYS[0]}")
    assert load_settings().api_keys == [entry, KEYS[0]]
    monkeypatch.setenv("SPOTSEL_API_KEYS", "ci:admin:" + "0" * 64)
    with pytest.raises(ConfigError, match="SPOTSEL_API_KEYS"):
        load_settings()
    monkeypatch.setenv("SPOTSEL_API_KEYS", "ci:read:spk_plaintext-key")
    with pytest.raises(ConfigError, match="sha256"):
        load_settings()
