"""CRD validation: upstream examples, generated manifests, the CEL rules JSON Schema misses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from core.errors import ConfigError
from outputs.cel import check_rules, compile_rule
from outputs.crds import (
    BUILTIN,
    CrdSchemas,
    builtin_schemas,
    load_crds,
    manifest_errors,
    validate_manifests,
)
from outputs.errors import InvalidOutputError
from tests.outputs.helpers import CRDS, fixed_documents

INVALID_UPSTREAM = "windows-custom-userdata.yaml"  # nodeClassRef.group has a version (SOURCE.md)


@pytest.fixture(scope="module")
def crds() -> CrdSchemas:
    return load_crds(CRDS)


def _examples() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((CRDS / "examples-v1").glob("*.yaml")):
        out += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return out


def test_all_upstream_examples_but_the_broken_one_pass(crds: CrdSchemas) -> None:
    docs = _examples()
    assert len(docs) == 45
    failing = {(name, d["kind"]): manifest_errors(d, crds) for name, d in docs}
    failing = {k: v for k, v in failing.items() if v}
    assert list(failing) == [(INVALID_UPSTREAM, "NodePool")]
    [error] = failing[(INVALID_UPSTREAM, "NodePool")]
    assert "nodeClassRef.group" in error
    assert "karpenter.k8s.aws/v1" in error


@pytest.mark.parametrize("simulated", [False, True], ids=["real", "simulated: annotated"])
@pytest.mark.parametrize("fallback", ["always", "never"])
def test_generated_manifests_pass_the_crds_with_every_rule_evaluated(
    crds: CrdSchemas, simulated: bool, fallback: str
) -> None:
    docs = fixed_documents(simulated=simulated, on_demand_fallback=fallback)
    assert len(docs.overlays) > 0
    assert docs.simulated is simulated
    for doc in docs.manifests:
        assert manifest_errors(doc, crds) == [], doc["metadata"]["name"]
        report = check_rules(crds.schemas[(doc["apiVersion"], doc["kind"])], doc)
        assert report.unevaluated == [], "a CEL rule on our paths was not evaluated"
    validate_manifests(docs.manifests, crds)
    validate_manifests(docs.manifests, builtin_schemas())


def _pool() -> dict[str, Any]:
    return copy.deepcopy(fixed_documents().nodepools[0])


def _overlay() -> dict[str, Any]:
    return copy.deepcopy(fixed_documents().overlays[0])


def _reqs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["spec"]["template"]["spec"]["requirements"]  # type: ignore[no-any-return]


def _set_min_values(doc: dict[str, Any]) -> None:
    _reqs(doc)[1]["minValues"] = len(_reqs(doc)[1]["values"]) + 1


def _empty_in(doc: dict[str, Any]) -> None:
    _reqs(doc)[0]["values"] = []


def _restricted_label(doc: dict[str, Any]) -> None:
    doc["spec"]["template"]["metadata"]["labels"]["karpenter.sh/custom"] = "x"


def _hostname_key(doc: dict[str, Any]) -> None:
    _reqs(doc).append({"key": "kubernetes.io/hostname", "operator": "Exists"})


def _bad_gt(doc: dict[str, Any]) -> None:
    _reqs(doc).append({"key": "karpenter.k8s.aws/instance-cpu", "operator": "Gt", "values": ["x"]})


def _schedule_without_duration(doc: dict[str, Any]) -> None:
    doc["spec"]["disruption"]["budgets"] = [{"nodes": "1", "schedule": "@daily"}]


def _bogus_operator(doc: dict[str, Any]) -> None:
    _reqs(doc)[0]["operator"] = "Bogus"


def _weight_too_high(doc: dict[str, Any]) -> None:
    doc["spec"]["weight"] = 101


def _group_with_version(doc: dict[str, Any]) -> None:
    doc["spec"]["template"]["spec"]["nodeClassRef"]["group"] = "karpenter.k8s.aws/v1"


def _price_and_adjustment(doc: dict[str, Any]) -> None:
    doc["spec"]["price"] = "1.5"


def _bad_adjustment(doc: dict[str, Any]) -> None:
    doc["spec"]["priceAdjustment"] = "0.5"  # unsigned: the CRD wants +0.5 / -0.5 / +10%


Breaker = Callable[[dict[str, Any]], None]


@pytest.mark.parametrize("use_builtin", [False, True], ids=["crds", "builtin"])
@pytest.mark.parametrize(
    ("make", "breaker", "message"),
    [
        pytest.param(_pool, _set_min_values, "minValues", id="minValues above values (CEL)"),
        pytest.param(_pool, _empty_in, "must have a value", id="In without values (CEL)"),
        pytest.param(_pool, _bad_gt, "integer", id="Gt needs an integer (CEL)"),
        pytest.param(_pool, _schedule_without_duration, "duration", id="budget schedule (CEL)"),
        pytest.param(_pool, _bogus_operator, "Bogus", id="operator enum"),
        pytest.param(_pool, _weight_too_high, "101", id="weight bound"),
        pytest.param(_pool, _group_with_version, "karpenter.k8s.aws/v1", id="group pattern"),
        pytest.param(_pool, _hostname_key, "hostname", id="restricted key (CEL)"),
        pytest.param(_overlay, _price_and_adjustment, "both", id="price xor adjustment (CEL)"),
        pytest.param(_overlay, _bad_adjustment, "0.5", id="priceAdjustment format"),
    ],
)
def test_violations_are_caught(
    crds: CrdSchemas,
    use_builtin: bool,
    make: Callable[[], dict[str, Any]],
    breaker: Breaker,
    message: str,
) -> None:
    schemas = builtin_schemas() if use_builtin else crds
    doc = make()
    assert manifest_errors(doc, schemas) == []
    breaker(doc)
    errors = manifest_errors(doc, schemas)
    assert any(message in e for e in errors), errors
    with pytest.raises(InvalidOutputError, match=doc["metadata"]["name"]):
        validate_manifests([doc], schemas)


def test_restricted_label_domain_from_the_crd_rule(crds: CrdSchemas) -> None:
    doc = _pool()
    _restricted_label(doc)
    assert any('label domain "karpenter.sh" is restricted' in e for e in manifest_errors(doc, crds))


@pytest.mark.parametrize(
    ("rule", "value", "ok"),
    [
        ('self != "kubernetes.io/hostname"', "kubernetes.io/hostname", False),
        ("self != ''", "x", True),
        ("self != ''", "", False),
        ('self.all(x, x != "karpenter.sh/nodepool")', {"karpenter.sh/nodepool": "a"}, False),
        ("self.all(x, !(x in ['cpu', 'memory', 'ephemeral-storage', 'pods']))", {"cpu": 1}, False),
        ("self.all(x, !(x in ['cpu', 'memory', 'ephemeral-storage', 'pods']))", {"gpu": 1}, True),
        ("!has(self.replicas) || !has(self.weight)", {"replicas": 1, "weight": 5}, False),
    ],
)  # fmt: skip
def test_cel_rule_shapes(rule: str, value: object, ok: bool) -> None:
    check = compile_rule(rule)
    assert check is not None
    assert check(value) is ok


def test_unknown_rule_shapes_are_reported_not_guessed() -> None:
    assert compile_rule("self.matches('^[a-z]+$')") is None
    report = check_rules({"x-kubernetes-validations": [{"rule": "self.size() != 0"}]}, [])
    assert report.errors == []
    assert report.unevaluated == [".: self.size() != 0"]


def test_missing_crd_for_a_kind(crds: CrdSchemas) -> None:
    assert manifest_errors({"apiVersion": "karpenter.sh/v9", "kind": "NodePool"}, crds) == [
        f"no CRD for karpenter.sh/v9 NodePool in {CRDS}"
    ]


def test_crd_directory_errors(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_crds(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no CustomResourceDefinition"):
        load_crds(tmp_path)
    assert builtin_schemas().source == BUILTIN
