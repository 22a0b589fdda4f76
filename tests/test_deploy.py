"""deploy/: valid YAML, and the fields that make the CronJob, API and scheduler work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.settings import Settings
from outputs.profiles import parse_profiles
from tests.outputs.helpers import REPO

DEPLOY = REPO / "deploy"


def _objects() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                assert {"apiVersion", "kind", "metadata"} <= set(doc), path.name
                found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    pod = spec["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob" else spec["template"]
    [container] = pod["spec"]["containers"]
    return container  # type: ignore[no-any-return]


def _db_env(container: dict[str, Any]) -> dict[str, Any]:
    [env] = [e for e in container["env"] if e["name"] == "SPOTSEL_DATABASE_URL"]
    return env["valueFrom"]["secretKeyRef"]  # type: ignore[no-any-return]


def test_manifests() -> None:
    objects = _objects()
    cron = objects[("CronJob", "spotsel-nodepools")]
    args = _container(cron)["args"]
    assert args[:2] == ["nodepools", "generate"]
    assert {"--diff", "--apply", "--crds", "--profiles", "--out"} <= set(args)
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0

    api = objects[("Deployment", "spotsel-api")]
    assert _container(api)["args"][0] == "serve"
    assert _container(api)["readinessProbe"]["httpGet"]["path"] == "/readyz"
    service = objects[("Service", "spotsel-api")]
    assert service["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]

    scheduler = objects[("Deployment", "spotsel-scheduler")]
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"]["type"] == "Recreate"
    assert _container(scheduler)["args"] == ["scheduler"]

    for obj in (cron, api, scheduler):
        assert _db_env(_container(obj)) == {"name": "spotsel-db", "key": "database-url"}
    role = objects[("ClusterRole", "spotsel-nodepools")]
    assert {"nodepools", "nodeoverlays"} <= set(role["rules"][0]["resources"])


def test_profiles_configmap_is_a_valid_profiles_file() -> None:
    config = _objects()[("ConfigMap", "spotsel-profiles")]
    profiles = parse_profiles(yaml.safe_load(config["data"]["profiles.yaml"]), source="cm")
    assert profiles[0].name == "gpu-trainer"


def test_deploy_readme_lists_every_file() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for path in DEPLOY.glob("*.yaml"):
        assert f"`{Path(path).name}`" in readme


# Kubernetes binary quantity suffixes (the manifests use these for memory).
QUANTITY = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
LIMIT_ENV = (
    "SPOTSEL_API_MAX_BODY_BYTES",
    "SPOTSEL_API_BODY_READ_TIMEOUT_SECONDS",
    "SPOTSEL_API_MAX_CONNECTIONS",
)


def test_api_deployment_sets_the_request_limits_within_its_memory() -> None:
    container = _container(_objects()[("Deployment", "spotsel-api")])
    env = {e["name"]: e.get("value") for e in container["env"]}
    limits = Settings(
        **{name.removeprefix("SPOTSEL_").lower(): env[name] for name in LIMIT_ENV}
    )  # valid values, or this raises
    memory = container["resources"]["limits"]["memory"]
    memory_bytes = int(memory[:-2]) * QUANTITY[memory[-2:]]
    # Every connection buffering a body at the limit still fits in the pod.
    assert limits.api_max_connections * limits.api_max_body_bytes < memory_bytes
