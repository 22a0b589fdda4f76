"""Kubernetes edge: check the workload snippet against the client's models, server-side apply.

`--apply` uses the kubernetes client's dynamic client: in-cluster configuration when running as
a pod (the CronJob), else the kubeconfig (`KUBECONFIG` or ~/.kube/config). Dry-run (`All`) is
the default; the cluster validates and admits but stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol

from outputs.errors import InvalidOutputError, KubernetesError

__all__ = [
    "FIELD_MANAGER",
    "ApplyClient",
    "apply_manifests",
    "default_apply_client",
    "validate_workload",
    "workload_errors",
]

FIELD_MANAGER: Final = "spotsel"


class ApplyClient(Protocol):
    """What `apply_manifests` needs: server-side apply of one object."""

    def apply(self, manifest: Mapping[str, Any], *, dry_run: bool) -> None: ...


def _first_difference(a: object, b: object, path: str = "") -> str | None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b)):
            if key not in b:
                return f"{path}.{key}: unknown field"
            if key not in a:
                return f"{path}.{key}: added by the model"
            found = _first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path or '.'}: {a!r} is read back as {b!r}"


def workload_errors(snippet: Mapping[str, Any]) -> list[str]:
    """Deserialise `template` as a `V1PodTemplateSpec` and read it back: a missing required
    field (a matchExpression without `key`) raises, an unknown field (`important:`) is dropped
    by the model and shows up as a difference."""
    from kubernetes.client import ApiClient

    template = snippet.get("template")
    if not isinstance(template, Mapping):
        return [".template: missing"]
    client: Any = ApiClient()
    try:
        model = client.deserialize(json.dumps(template), "V1PodTemplateSpec", "application/json")
    except (ValueError, TypeError) as exc:
        return [f".template: {exc}"]
    difference = _first_difference(template, client.sanitize_for_serialization(model))
    return [f".template{difference}"] if difference else []


def validate_workload(snippet: Mapping[str, Any], *, profile: str) -> None:
    errors = workload_errors(snippet)
    if errors:
        raise InvalidOutputError(f"workload snippet of profile {profile}: {'; '.join(errors)}")


class _DynamicApplyClient:
    def __init__(self, dynamic: Any) -> None:
        self._dynamic = dynamic

    def apply(self, manifest: Mapping[str, Any], *, dry_run: bool) -> None:
        resource = self._dynamic.resources.get(
            api_version=manifest["apiVersion"], kind=manifest["kind"]
        )
        self._dynamic.server_side_apply(
            resource,
            body=dict(manifest),
            name=manifest["metadata"]["name"],
            field_manager=FIELD_MANAGER,
            force_conflicts=True,  # spotsel owns these objects; take back drifted fields
            dry_run="All" if dry_run else None,
        )


def default_apply_client() -> ApplyClient:
    """A dynamic client from the in-cluster config or the kubeconfig; one-line error if none."""
    from kubernetes import config as _config
    from kubernetes import dynamic as _dynamic
    from kubernetes.client import ApiClient
    from kubernetes.config.config_exception import ConfigException

    config: Any = _config
    dynamic: Any = _dynamic
    try:
        config.load_incluster_config()
    except ConfigException:
        try:
            config.load_kube_config()
        except (ConfigException, OSError) as exc:
            raise KubernetesError(
                "--apply needs a cluster: no kubeconfig found (set KUBECONFIG or run in a pod) "
                f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
            ) from None
    try:
        return _DynamicApplyClient(dynamic.DynamicClient(ApiClient()))
    except Exception as exc:  # discovery talks to the API server: any failure is one line
        raise KubernetesError(f"cannot reach the Kubernetes API: {exc}".splitlines()[0]) from exc


def apply_manifests(
    manifests: Iterable[Mapping[str, Any]],
    *,
    dry_run: bool = True,
    client_factory: Callable[[], ApplyClient] = default_apply_client,
) -> list[str]:
    """Server-side apply every manifest; returns "Kind/name" of each, in order."""
    client = client_factory()
    applied = []
    for manifest in manifests:
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        try:
            client.apply(manifest, dry_run=dry_run)
        except KubernetesError:
            raise
        except Exception as exc:  # ApiException and friends: name the object, one line
            message = str(getattr(exc, "reason", None) or exc).splitlines()[0]
            raise KubernetesError(f"apply of {name} failed: {message}") from exc
        applied.append(name)
    return applied
