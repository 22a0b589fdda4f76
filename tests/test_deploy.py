"""deploy/: valid YAML, and the fields that make the CronJob, API and scheduler work."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from core.cron import parse_cron
from core.settings import Settings
from core.weeks import IsoWeek
from outputs.profiles import parse_profiles
from spotsel.commands.report import resolve_week
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


def _arg(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_report_cronjob_reports_last_week_like_the_scheduler() -> None:
    objects = _objects()
    cron = objects[("CronJob", "spotsel-report")]
    container = _container(cron)
    args = container["args"]
    assert args[0] == "report"
    # The week the CLI resolves is the one that ended before the firing, as the scheduler's.
    monday = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert resolve_week(_arg(args, "--week"), now=monday) == IsoWeek.parse("2026-W48")
    assert cron["spec"]["schedule"] == Settings.model_fields["report_schedule"].default
    assert parse_cron(cron["spec"]["schedule"]).trigger_fields()["day_of_week"] == "mon"
    assert cron["spec"]["timeZone"] == "Etc/UTC", "ISO weeks are UTC weeks"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert _db_env(container) == {"name": "spotsel-db", "key": "database-url"}
    assert container["envFrom"] == _container(objects[("CronJob", "spotsel-nodepools")])["envFrom"]
    # --profiles and --out are on volumes the pod mounts; the reports volume is a claim
    # deploy/ creates.
    pod = _pod_spec(cron)
    assert pod is not None
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    profiles_dir, _, profiles_file = _arg(args, "--profiles").rpartition("/")
    assert volumes[mounts[profiles_dir]]["configMap"]["name"] == "spotsel-profiles"
    assert profiles_file in objects[("ConfigMap", "spotsel-profiles")]["data"]
    claim = volumes[mounts[_arg(args, "--out")]]["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in objects


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


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    if "template" in spec:
        return spec["template"]["spec"]  # type: ignore[no-any-return]
    return None


def _all_containers() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for (kind, name), obj in _objects().items():
        pod = _pod_spec(obj)
        for container in [] if pod is None else pod.get("initContainers", []) + pod["containers"]:
            found.append((f"{kind}/{name}/{container['name']}", container))
    return found


def test_applying_the_directory_never_overwrites_a_secret() -> None:
    """`kubectl apply -f deploy/` (or -R) must not replace the user's Secrets with examples."""
    for path in DEPLOY.rglob("*"):
        if path.suffix in {".yaml", ".yml", ".json"}:
            kinds = {doc.get("kind") for doc in yaml.safe_load_all(path.read_text()) if doc}
            assert "Secret" not in kinds, f"{path.relative_to(DEPLOY)} holds a Secret"


def test_every_secret_the_pods_read_is_created_as_the_readme_says() -> None:
    readme = (DEPLOY / "README.md").read_text()
    refs = {
        (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"]): e
        for _, container in _all_containers()
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert ("spotsel-api-keys", "keys") in refs
    for (name, key), env in refs.items():
        assert f"create secret generic {name}" in readme, name
        assert f"--from-literal={key}=" in readme, (name, key)
        # An optional key Secret would start the API without keys: it refuses, and crash-loops.
        assert not env["valueFrom"]["secretKeyRef"].get("optional"), name


def test_containers_name_the_program_the_image_does_not_set() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "ENTRYPOINT" not in dockerfile, "then `command` below would run spotsel twice"
    spotsel = [(where, c) for where, c in _all_containers() if "spotsel:" in c["image"]]
    assert len(spotsel) >= 5
    for where, container in spotsel:
        assert container.get("command") == ["spotsel"], where


def test_api_and_scheduler_migrate_before_they_start() -> None:
    objects = _objects()
    for name in ("spotsel-api", "spotsel-scheduler"):
        pod = _pod_spec(objects[("Deployment", name)])
        assert pod is not None
        [init] = pod["initContainers"]
        assert init["args"] == ["db", "upgrade"], name
        assert _db_env(init) == {"name": "spotsel-db", "key": "database-url"}


def test_the_scheduler_mounts_the_optional_gcp_key_as_adc() -> None:
    """GCP credentials: an optional Secret (AWS-only pods still start), read through ADC."""
    scheduler = _objects()[("Deployment", "spotsel-scheduler")]
    pod = _pod_spec(scheduler)
    assert pod is not None
    container = _container(scheduler)
    [volume] = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "spotsel-gcp"]
    assert volume["secret"]["optional"] is True
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True
    [adc] = [e for e in container["env"] if e["name"] == "GOOGLE_APPLICATION_CREDENTIALS"]
    directory, _, key = adc["value"].rpartition("/")
    assert directory == mount["mountPath"]
    readme = (DEPLOY / "README.md").read_text()
    assert "create secret generic spotsel-gcp" in readme
    assert f"--from-file={key}=" in readme, "the README creates the key ADC reads"
