"""Karpenter builders: field-level assertions plus golden files of the fixed market."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from selector import PoolIndex
from selector.outputs import (
    OVERLAY_POOL_WEIGHT,
    OVERLAY_TYPE_WEIGHT,
    SIMULATED_KEY,
    SOURCES_KEY,
    SPOT_TAINT,
    ZONE_ID_KEY,
    OutputError,
    karpenter_documents,
    node_overlays,
    on_demand_nodepool,
    profile_taint,
    spot_nodepool,
    wants_fallback,
    zone_requirement,
)
from tests.selector.factories import NOW, make_pool
from tests.selector.outputs.fixtures import (
    MARKET_ZONES,
    REGION_ZONES,
    as_json,
    assert_golden,
    market,
    profile,
    ranking,
)
from tests.selector.outputs.scheduling import schedules_on, tolerates, tolerates_all

ZONE_KEYS = ("topology.kubernetes.io/zone", ZONE_ID_KEY)


def _req(pool: dict[str, Any], key: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        r for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == key
    ]
    assert len(found) == 1
    return found[0]


def _zone_reqs(pool: dict[str, Any]) -> list[dict[str, Any]]:
    reqs = pool["spec"]["template"]["spec"]["requirements"]
    return [r for r in reqs if r["key"] in ZONE_KEYS]


def test_spot_nodepool_fields() -> None:
    p = profile()
    spot = ranking(p, "spot")
    pool = spot_nodepool(p, spot, region_zones=REGION_ZONES)
    assert pool["apiVersion"] == "karpenter.sh/v1"
    assert pool["kind"] == "NodePool"
    assert pool["metadata"]["name"] == "gpu-trainer-spot"
    assert _req(pool, "karpenter.sh/capacity-type")["values"] == ["spot"]
    types = _req(pool, "node.kubernetes.io/instance-type")
    assert types["operator"] == "In"
    assert types["values"] == list(spot.instance_types), "ranked order, best first"
    assert types["minValues"] == 3 <= len(types["values"])
    assert _zone_reqs(pool) == [
        {"key": ZONE_ID_KEY, "operator": "In", "values": list(MARKET_ZONES)}
    ], "zone IDs, never account-specific zone names"
    assert _req(pool, "kubernetes.io/arch")["values"] == ["amd64"]
    template = pool["spec"]["template"]
    assert template["spec"]["taints"] == [SPOT_TAINT, profile_taint("gpu-trainer")]
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
    pool = spot_nodepool(p, ranking(p, "spot"))
    types = _req(pool, "node.kubernetes.io/instance-type")
    assert types["minValues"] == len(types["values"]) == 4


def test_single_type_needs_no_min_values() -> None:
    p = profile(requirements=replace(profile().requirements, min_instance_types=1, top=1))
    pool = spot_nodepool(p, ranking(p, "spot"))
    assert "minValues" not in _req(pool, "node.kubernetes.io/instance-type")


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        pytest.param((), ["use1-az1", "use1-az2"], id="region unknown: kept"),
        pytest.param({"use1-az1", "use1-az2", "use1-az3"}, ["use1-az1", "use1-az2"],
                     id="a zone of the region left out: kept"),
        pytest.param({"use1-az1", "use1-az2"}, None, id="every zone of the region: left out"),
    ],
)  # fmt: skip
def test_zone_requirement(region: set[str], expected: list[str] | None) -> None:
    answer = zone_requirement(["use1-az2", "use1-az1", "use1-az1"], region)
    if expected is None:
        assert answer is None
    else:
        assert answer == {"key": ZONE_ID_KEY, "operator": "In", "values": expected}


def test_nodepool_over_every_zone_of_the_region_has_no_zone_requirement() -> None:
    p = profile()
    pool = spot_nodepool(p, ranking(p, "spot"), region_zones=MARKET_ZONES)
    assert _zone_reqs(pool) == []


def test_regional_only_pools_are_an_error() -> None:
    with pytest.raises(OutputError, match="no zone"):
        zone_requirement([""], REGION_ZONES)


def test_on_demand_fallback_has_lower_weight_and_the_spot_pools_taints() -> None:
    p = profile()
    pool = on_demand_nodepool(p, ranking(p, "on-demand"), region_zones=REGION_ZONES)
    assert _req(pool, "karpenter.sh/capacity-type")["values"] == ["on-demand"]
    assert pool["spec"]["weight"] < p.spot_weight
    assert pool["spec"]["template"]["spec"]["taints"] == [SPOT_TAINT, profile_taint(p.name)]
    assert pool["spec"]["template"]["metadata"]["labels"]["lifecycle"] == "on-demand"
    assert all(r["key"] != "topology.kubernetes.io/zone" for r in _zone_reqs(pool))


# --- scheduling: who can land on the generated NodePools ----------------------------------------

PLAIN_POD: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx"}]}
# A pod of the seed scenario that tolerates the spot node group's taint but is not spotsel's.
SPOT_TOLERANT_POD: dict[str, Any] = {
    **PLAIN_POD,
    "tolerations": [{"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
}


@pytest.mark.parametrize(
    ("toleration", "taint", "ok"),
    [
        ({"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
         SPOT_TAINT, True),
        ({"key": "spot", "value": "true"}, SPOT_TAINT, True),  # Equal by default, any effect
        ({"key": "spot", "operator": "Equal", "value": "false"}, SPOT_TAINT, False),
        ({"key": "spot", "operator": "Exists"}, SPOT_TAINT, True),
        ({"operator": "Exists"}, SPOT_TAINT, True),  # empty key + Exists tolerates everything
        ({"key": "spot", "operator": "Exists", "effect": "NoExecute"}, SPOT_TAINT, False),
        ({"key": "other", "operator": "Exists"}, SPOT_TAINT, False),
    ],
)  # fmt: skip
def test_the_toleration_model_follows_kubernetes(
    toleration: dict[str, str], taint: dict[str, str], ok: bool
) -> None:
    """Why: the scheduling checks below are only as good as this model (it can fail)."""
    assert tolerates(toleration, taint) is ok


def test_prefer_no_schedule_is_not_a_guard() -> None:
    assert tolerates_all([], [{"key": "x", "value": "y", "effect": "PreferNoSchedule"}])
    assert not tolerates_all([], [{"key": "x", "value": "y", "effect": "NoSchedule"}])


@pytest.mark.parametrize("fallback", ["always", "auto", "never"])
def test_unrelated_pods_schedule_on_no_generated_nodepool(fallback: str) -> None:
    """Why: an untainted on-demand fallback with weight 20 outranks a cluster's default
    NodePool and would attract every pending pod onto expensive GPU on-demand nodes."""
    p = profile(on_demand_fallback=fallback)
    docs = karpenter_documents(
        p, spot=ranking(p, "spot"), on_demand=ranking(p, "on-demand"), region_zones=REGION_ZONES
    )
    assert len(docs.nodepools) >= 2
    for pool in docs.nodepools:
        name = pool["metadata"]["name"]
        assert not schedules_on(PLAIN_POD, pool), f"a plain pod schedules on {name}"
        assert not schedules_on(SPOT_TOLERANT_POD, pool), f"a spot-tolerant pod lands on {name}"


def test_the_profiles_own_pods_reach_spot_then_fallback_only() -> None:
    """Weights only order the profile's own pools: its pods fit spot and fallback, nothing else."""
    p = profile()
    other = profile(name="other", nodepool="other", critical_addons=False)
    mine = karpenter_documents(
        p, spot=ranking(p, "spot"), on_demand=ranking(p, "on-demand"), region_zones=REGION_ZONES
    )
    theirs = karpenter_documents(
        other,
        spot=ranking(other, "spot"),
        on_demand=ranking(other, "on-demand"),
        region_zones=REGION_ZONES,
    )
    pod = mine.workload["template"]["spec"]
    reachable = [
        (d["metadata"]["name"], d["spec"]["weight"])
        for d in (*mine.nodepools, *theirs.nodepools)
        if schedules_on(pod, d)
    ]
    assert reachable == [("gpu-trainer-spot", 80), ("gpu-trainer-on-demand", 20)]


# --- overlays -----------------------------------------------------------------------------------


def _allowed_offerings(pool: dict[str, Any], region_zones: frozenset[str]) -> set[tuple[str, str]]:
    types = _req(pool, "node.kubernetes.io/instance-type")["values"]
    zones = _zone_reqs(pool)
    allowed_zones = zones[0]["values"] if zones else sorted(region_zones)
    return {(t, z) for t in types for z in allowed_zones}


def _winning_overlay(
    overlays: list[dict[str, Any]], labels: dict[str, str]
) -> dict[str, Any] | None:
    matching = [
        o
        for o in overlays
        if all(labels.get(r["key"]) in r["values"] for r in o["spec"]["requirements"])
    ]
    return max(matching, key=lambda o: o["spec"]["weight"], default=None)


@pytest.mark.parametrize(
    ("top", "region_zones"),
    [
        pytest.param(12, REGION_ZONES, id="every ranked pool, zone requirement kept"),
        pytest.param(5, REGION_ZONES, id="fewer pools than types x zones"),
        pytest.param(5, frozenset(MARKET_ZONES), id="every zone: no zone requirement"),
    ],
)
def test_overlays_cover_every_offering_the_nodepool_allows(
    top: int, region_zones: frozenset[str]
) -> None:
    """Why: an allowed offering without an overlay keeps its bare spot price and looks cheaper
    to Karpenter than the risk-adjusted ranked ones."""
    p = profile(requirements=replace(profile().requirements, top=top))
    spot = ranking(p, "spot")
    pool = spot_nodepool(p, spot, region_zones=region_zones)
    overlays = node_overlays(p, spot)
    ranked = {(rp.key.instance_type, rp.key.zone_id): rp for rp in spot.pools}
    offerings = _allowed_offerings(pool, region_zones)
    assert len(offerings) > len(ranked) or top == 12
    for itype, zone in sorted(offerings):
        labels = {
            "karpenter.sh/nodepool": pool["metadata"]["name"],
            "karpenter.sh/capacity-type": "spot",
            "node.kubernetes.io/instance-type": itype,
            ZONE_ID_KEY: zone,
        }
        winner = _winning_overlay(overlays, labels)
        assert winner is not None, f"{itype} in {zone} is allowed but no overlay prices it"
        adjustment = float(winner["spec"]["priceAdjustment"])
        if (itype, zone) in ranked:
            rp = ranked[(itype, zone)]
            assert winner["spec"]["weight"] == OVERLAY_POOL_WEIGHT
            assert adjustment == pytest.approx(rp.effective_cost - rp.price, abs=1e-6)
        else:
            same_type = [r for (t, _), r in ranked.items() if t == itype]
            assert winner["spec"]["weight"] == OVERLAY_TYPE_WEIGHT
            worst = max(r.effective_cost - r.price for r in same_type)
            assert adjustment == pytest.approx(worst, abs=1e-6), "unranked: the type's worst"


def test_overlay_price_adjustment_is_effective_cost_minus_price() -> None:
    p = profile()
    spot = ranking(p, "spot")
    overlays = [o for o in node_overlays(p, spot) if o["spec"]["weight"] == OVERLAY_POOL_WEIGHT]
    assert len(overlays) == len(spot.pools)
    for overlay, pool in zip(overlays, spot.pools, strict=True):
        assert overlay["apiVersion"] == "karpenter.sh/v1alpha1"
        adjustment = overlay["spec"]["priceAdjustment"]
        assert adjustment.startswith("+")
        assert float(adjustment) == pytest.approx(pool.effective_cost - pool.price, abs=1e-6)
        keys = {r["key"]: r["values"] for r in overlay["spec"]["requirements"]}
        assert keys["karpenter.sh/nodepool"] == ["gpu-trainer-spot"], "scoped to our pool"
        assert keys["node.kubernetes.io/instance-type"] == [pool.key.instance_type]
        assert keys[ZONE_ID_KEY] == [pool.key.zone_id]
    riskier = max(overlays, key=lambda o: float(o["spec"]["priceAdjustment"]))
    assert "p3.2xlarge" in riskier["metadata"]["name"], "the 10-15% bucket carries most risk"


# --- fallback policy ----------------------------------------------------------------------------


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
    docs = karpenter_documents(p, spot=spot, on_demand=ranking(p, "on-demand", snapshot))
    assert [d["metadata"]["name"] for d in docs.nodepools] == ["gpu-trainer-on-demand"]


def test_no_spot_pool_and_no_fallback_is_a_clear_error() -> None:
    snapshot = PoolIndex.build([make_pool(spot_offered=False)], built_at=NOW)
    p = profile(on_demand_fallback="never")
    with pytest.raises(OutputError, match=r"no spot pool.*'never'"):
        karpenter_documents(p, spot=ranking(p, "spot", snapshot), on_demand=None)


# --- the simulated label ------------------------------------------------------------------------


def _every_annotated(docs: Any) -> list[dict[str, str]]:
    objects = [*docs.nodepools, *docs.overlays]
    return [o["metadata"]["annotations"] for o in objects] + [
        docs.workload["template"]["metadata"].get("annotations", {})
    ]


def test_simulated_data_labels_every_document() -> None:
    p = profile()
    snapshot = market(simulated=True)
    docs = karpenter_documents(
        p, spot=ranking(p, "spot", snapshot), on_demand=ranking(p, "on-demand", snapshot)
    )
    assert docs.simulated
    annotations = _every_annotated(docs)
    assert len(annotations) == len(docs.nodepools) + len(docs.overlays) + 1
    for a in annotations:
        assert a[SIMULATED_KEY] == "true"
        assert a[SOURCES_KEY] == "sim"


def test_real_data_carries_no_label() -> None:
    p = profile()
    docs = karpenter_documents(p, spot=ranking(p, "spot"), on_demand=ranking(p, "on-demand"))
    assert not docs.simulated
    for a in _every_annotated(docs):
        assert SIMULATED_KEY not in a
        assert SOURCES_KEY not in a


# --- golden -------------------------------------------------------------------------------------


def test_documents_golden() -> None:
    p = profile()
    docs = karpenter_documents(
        p, spot=ranking(p, "spot"), on_demand=ranking(p, "on-demand"), region_zones=REGION_ZONES
    )
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
    first = spot_nodepool(p, ranking(p, "spot", market()), region_zones=REGION_ZONES)
    assert first == spot_nodepool(p, ranking(p, "spot", market()), region_zones=REGION_ZONES)
