"""Workload snippet checked by the kubernetes models; apply through an injected client."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from outputs.errors import KubernetesError
from outputs.kube import apply_manifests, default_apply_client, workload_errors
from tests.outputs.helpers import fixed_documents


def test_generated_snippet_is_a_valid_pod_template() -> None:
    assert workload_errors(fixed_documents().workload) == []


def _broken_like_the_classic_example() -> dict[str, Any]:
    snippet = copy.deepcopy(fixed_documents().workload)
    terms = snippet["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    expression = terms[0]["matchExpressions"][0]
    expression["important"] = expression.pop("key")
    return snippet


def test_important_instead_of_key_is_caught() -> None:
    errors = workload_errors(_broken_like_the_classic_example())
    assert len(errors) == 1
    assert "key" in errors[0]


def test_unknown_field_is_caught() -> None:
    snippet = copy.deepcopy(fixed_documents().workload)
    snippet["template"]["spec"]["tolerations"][0]["important"] = "spot"
    assert workload_errors(snippet) == [".template.spec.tolerations[0].important: unknown field"]


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def apply(self, manifest: Mapping[str, Any], *, dry_run: bool) -> None:
        self.calls.append((manifest["metadata"]["name"], dry_run))


def test_apply_is_dry_run_by_default() -> None:
    client = FakeClient()
    manifests = fixed_documents().manifests
    applied = apply_manifests(manifests, client_factory=lambda: client)
    assert applied[0] == "NodePool/gpu-trainer-spot"
    assert len(applied) == len(manifests)
    assert all(dry for _, dry in client.calls)
    apply_manifests(manifests[:1], dry_run=False, client_factory=lambda: client)
    assert client.calls[-1] == ("gpu-trainer-spot", False)


def test_apply_failure_names_the_object() -> None:
    class Refusing(FakeClient):
        def apply(self, manifest: Mapping[str, Any], *, dry_run: bool) -> None:
            raise RuntimeError("admission webhook denied\nmore")

    with pytest.raises(KubernetesError, match="apply of NodePool/gpu-trainer-spot failed: "):
        apply_manifests(fixed_documents().manifests, client_factory=Refusing)


def test_no_kubeconfig_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubernetesError, match="no kubeconfig found") as caught:
        default_apply_client()
    assert "\n" not in str(caught.value)
