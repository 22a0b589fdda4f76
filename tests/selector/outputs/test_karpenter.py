"""Karpenter builders: field-level assertions plus golden files of the fixed market."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from selector import PoolIndex
from selector.outputs import (
    SPOT_TAINT,
    ZONE_ID_KEY,
    ZONE_NAME_KEY,
    OutputError,
    karpenter_documents,
    node_overlays,
    on_demand_nodepool,
    spot_nodepool,
    wants_fallback,
    workload_snippet,
    zone_requirement,
)
from tests.selector.factories import NOW, make_pool
from tests.selector.outputs.fixtures import (
    ZONE_NAMES,
    as_json,
    assert_golden,
    market,
    profile,
    ranking,
)


def _req(pool: dict[str, Any], key: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        r for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == key
    ]
    assert len(found) == 1
    return found[0]


def test_spot_nodepool_fields() -> None:
    p = profile()
    spot = ranking(p, "spot")
    pool = spot_nodepool(p, spot, zone_names=ZONE_NAMES)
    assert pool["apiVersion"] == "karpenter.sh/v1"
    assert pool["kind"] == "NodePool"
    assert pool["metadata"]["name"] == "gpu-trainer-spot"
    assert _req(pool, "karpenter.sh/capacity-type")["values"] == ["spot"]
    types = _req(pool, "node.kubernetes.io/instance-type")
    assert types["operator"] == "In"
    assert types["values"] == list(spot.instance_types), "ranked order, best first"
    assert types["minValues"] == 3 <= len(types["values"])
    assert _req(pool, ZONE_NAME_KEY)["values"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert _req(pool, "kubernetes.io/arch")["values"] == ["amd64"]
    template = pool["spec"]["template"]
    assert template["spec"]["taints"] == [SPOT_TAINT]
    assert template["metadata"]["labels"]["lifecycle"] == "spot"
    assert template["spec"]["nodeClassRef"] == {
        "group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"
    }  # fmt: skip
    assert pool["spec"]["weight"] == p.spot_weight
    assert pool["spec"]["limits"] == {"cpu": "256", "nvidia.com/gpu": "16"}
    assert pool["spec"]["disruption"]["budgets"][1] == {
        "nodes": "0", "schedule": "0 9 * * 1-5", "duration": "8h"
    }  # fmt: skip


def test_min_values_never_exceeds_the_types_offered() -> None:
    """Why: the CRD rejects minValues above the number of values."""
    p = profile(requirements=replace(profile().requirements, min_instance_types=9))
    pool = spot_nodepool(p, ranking(p, "spot"), zone_names=ZONE_NAMES)
    types = _req(pool, "node.kubernetes.io/instance-type")
    assert types["minValues"] == len(types["values"]) == 4


def test_single_type_needs_no_min_values() -> None:
    p = profile(requirements=replace(profile().requirements, min_instance_types=1, top=1))
    pool = spot_nodepool(p, ranking(p, "spot"), zone_names=ZONE_NAMES)
    assert "minValues" not in _req(pool, "node.kubernetes.io/instance-type")


@pytest.mark.parametrize(
    ("names", "key", "values"),
    [
        pytest.param(ZONE_NAMES, ZONE_NAME_KEY, ["us-east-1a", "us-east-1c"], id="all named"),
        pytest.param({"use1-az1": "us-east-1c"}, ZONE_ID_KEY, ["use1-az1", "use1-az2"],
                     id="one unnamed: zone IDs for the whole pool, never a mix"),
        pytest.param({}, ZONE_ID_KEY, ["use1-az1", "use1-az2"], id="no account map"),
    ],
)  # fmt: skip
def test_zone_requirement(names: dict[str, str], key: str, values: list[str]) -> None:
    assert zone_requirement(["use1-az2", "use1-az1", "use1-az1"], names) == {
        "key": key, "operator": "In", "values": values
    }  # fmt: skip


def test_regional_only_pools_are_an_error() -> None:
    with pytest.raises(OutputError, match="no zone"):
        zone_requirement([""], ZONE_NAMES)


def test_on_demand_fallback_has_lower_weight_and_no_taint() -> None:
    p = profile()
    pool = on_demand_nodepool(p, ranking(p, "on-demand"), zone_names=ZONE_NAMES)
    assert _req(pool, "karpenter.sh/capacity-type")["values"] == ["on-demand"]
    assert pool["spec"]["weight"] < p.spot_weight
    assert "taints" not in pool["spec"]["template"]["spec"]
    assert pool["spec"]["template"]["metadata"]["labels"]["lifecycle"] == "on-demand"


def test_overlay_price_adjustment_is_effective_cost_minus_price() -> None:
    p = profile()
    spot = ranking(p, "spot")
    overlays = node_overlays(p, spot, zone_names=ZONE_NAMES)
    assert len(overlays) == len(spot.pools)
    for overlay, pool in zip(overlays, spot.pools, strict=True):
        assert overlay["apiVersion"] == "karpenter.sh/v1alpha1"
        adjustment = overlay["spec"]["priceAdjustment"]
        assert adjustment.startswith("+")
        assert float(adjustment) == pytest.approx(pool.effective_cost - pool.price, abs=1e-6)
        keys = {r["key"]: r["values"] for r in overlay["spec"]["requirements"]}
        assert keys["karpenter.sh/nodepool"] == ["gpu-trainer-spot"], "scoped to our pool"
        assert keys["node.kubernetes.io/instance-type"] == [pool.key.instance_type]
        assert keys[ZONE_NAME_KEY] == [ZONE_NAMES[pool.key.zone_id]]
    riskier = max(overlays, key=lambda o: float(o["spec"]["priceAdjustment"]))
    assert "p3.2xlarge" in riskier["metadata"]["name"], "the 10-15% bucket carries most risk"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("always", True), ("never", False), ("auto", False)],
)
def test_fallback_policy_when_spot_pays_off(policy: str, expected: bool) -> None:
    p = profile(on_demand_fallback=policy)
    assert wants_fallback(p, ranking(p, "spot")) is expected


def test_auto_fallback_when_no_spot_pool() -> None:
    snapshot = PoolIndex.build([make_pool(spot_offered=False)], built_at=NOW)
    p = profile(on_demand_fallback="auto", critical_addons=False, node_overlays=False)
    spot = ranking(p, "spot", snapshot)
    assert wants_fallback(p, spot)
    docs = karpenter_documents(
        p, spot=spot, on_demand=ranking(p, "on-demand", snapshot), zone_names=ZONE_NAMES,
        workload=workload_snippet(p),
    )  # fmt: skip
    assert [d["metadata"]["name"] for d in docs.nodepools] == ["gpu-trainer-on-demand"]


def test_no_spot_pool_and_no_fallback_is_a_clear_error() -> None:
    snapshot = PoolIndex.build([make_pool(spot_offered=False)], built_at=NOW)
    p = profile(on_demand_fallback="never")
    with pytest.raises(OutputError, match=r"no spot pool.*'never'"):
        karpenter_documents(
            p, spot=ranking(p, "spot", snapshot), on_demand=None, zone_names={},
            workload=workload_snippet(p),
        )  # fmt: skip


def test_documents_golden() -> None:
    p = profile()
    docs = karpenter_documents(
        p, spot=ranking(p, "spot"), on_demand=ranking(p, "on-demand"), zone_names=ZONE_NAMES,
        workload=workload_snippet(p),
    )  # fmt: skip
    names = [d["metadata"]["name"] for d in docs.nodepools]
    assert names == ["gpu-trainer-spot", "gpu-trainer-on-demand", "gpu-trainer-critical-addons"]
    critical = docs.nodepools[2]["spec"]["template"]["spec"]
    assert critical["taints"] == [
        {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}
    ]
    assert_golden("karpenter-documents.json", as_json(
        {"nodepools": docs.nodepools, "overlays": docs.overlays, "workload": docs.workload}
    ))  # fmt: skip


def test_builders_are_deterministic() -> None:
    p = profile()
    first = spot_nodepool(p, ranking(p, "spot", market()), zone_names=ZONE_NAMES)
    assert first == spot_nodepool(p, ranking(p, "spot", market()), zone_names=ZONE_NAMES)
