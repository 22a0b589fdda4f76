"""GKE spot node pools: one pool per ranked GCP type, REST body checked against the documented
shape of `projects.locations.clusters.nodePools.create`, the gcloud arguments equal to it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from outputs.errors import OutputUnavailableError, ProfileError
from outputs.generate import build_fleet_output, generate_gke, generate_karpenter
from outputs.profiles import parse_profile
from selector import PoolIndex, PoolRecord, Ranking, parse_requirements, rank
from selector.outputs import (
    SIMULATED_KEY,
    FleetOptions,
    OutputError,
    OutputProfile,
    gke_node_pools,
    parse_launch_templates,
)
from selector.outputs.gke import GKE_SPOT_TAINT, MAX_NODE_POOL_NAME, pool_name
from tests.outputs.helpers import CRDS
from tests.selector.factories import NOW, cpu_pool, make_pool

# NodePool / NodeConfig / NodeTaint / AcceleratorConfig / NodePoolAutoscaling as the GKE REST
# reference (container v1) documents them, restricted to the fields spotsel emits; no other
# field is allowed, so a misspelt key fails. int64 fields (acceleratorCount) are JSON strings.
_TAINT = {
    "type": "object",
    "required": ["key", "value", "effect"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string", "minLength": 1},
        "value": {"type": "string"},
        "effect": {"enum": ["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"]},
    },
}
_ACCELERATOR = {
    "type": "object",
    "required": ["acceleratorCount", "acceleratorType"],
    "additionalProperties": False,
    "properties": {
        "acceleratorCount": {"type": "string", "pattern": "^[1-9][0-9]*$"},
        "acceleratorType": {"type": "string", "pattern": "^nvidia-[a-z0-9-]+$"},
    },
}
NODE_POOL_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["nodePool"],
    "additionalProperties": False,
    "properties": {
        "nodePool": {
            "type": "object",
            "required": ["name", "config", "autoscaling"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$"},
                "initialNodeCount": {"type": "integer", "minimum": 0},
                "locations": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "pattern": "^[a-z]+-[a-z]+[0-9]+-[a-z]$"},
                },
                "config": {
                    "type": "object",
                    "required": ["machineType", "spot"],
                    "additionalProperties": False,
                    "properties": {
                        "machineType": {"type": "string", "pattern": "^[a-z0-9]+-[a-z0-9-]+$"},
                        "spot": {"const": True},
                        "labels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                        "taints": {"type": "array", "items": _TAINT},
                        "accelerators": {"type": "array", "minItems": 1, "items": _ACCELERATOR},
                    },
                },
                "autoscaling": {
                    "type": "object",
                    "required": ["enabled", "totalMinNodeCount", "totalMaxNodeCount"],
                    "additionalProperties": False,
                    "properties": {
                        "enabled": {"type": "boolean"},
                        "totalMinNodeCount": {"type": "integer", "minimum": 0},
                        "totalMaxNodeCount": {"type": "integer", "minimum": 1},
                        "locationPolicy": {"enum": ["BALANCED", "ANY"]},
                    },
                },
            },
        }
    },
}
REGION = "us-central1"
ZONES = ("us-central1-a", "us-central1-b", "us-central1-c")
# (type, family, GPU model, GPU memory, spot price, zones offered)
_GCP_GPU = [
    ("g2-standard-4", "g2-standard", "L4", 24.0, 0.28, ZONES),
    ("n1-standard-8+nvidia-tesla-t4", "n1-standard+t4", "T4", 16.0, 0.22, ZONES[:2]),
    ("a2-highgpu-1g", "a2-highgpu", "A100", 40.0, 1.10, ZONES[:1]),
]


def gcp_market(*, simulated: bool = False) -> PoolIndex:
    """GCP GPU and CPU pools in us-central1, plus an AWS pool that must never reach GKE."""
    records: list[PoolRecord] = []
    for name, family, model, memory, price, zones in _GCP_GPU:
        for z, zone in enumerate(zones):
            records.append(
                make_pool(
                    cloud="gcp",
                    region=REGION,
                    zone_id=zone,
                    instance_type=name,
                    family=family,
                    gpu_model=model,
                    gpu_memory_gib=memory,
                    spot_price=round(price * (1 + 0.02 * z), 4),
                    on_demand_price=price * 3,
                    interruption_source="gcp-capacity-history",
                    interruption_label=None,
                    interruption_value=0.05 + 0.01 * z,
                    capacity_score=0.8,
                    capacity_raw="0.8",
                )
            )
    for zone in ZONES:
        records.append(
            cpu_pool(
                cloud="gcp",
                region=REGION,
                zone_id=zone,
                instance_type="n2-standard-4",
                family="n2-standard",
                interruption_source="gcp-capacity-history",
                interruption_label=None,
                interruption_value=0.05,
            )
        )
    records.append(make_pool())  # AWS g4dn.xlarge
    if simulated:
        records = [replace(r, sources=("sim",), simulated=True) for r in records]
    else:
        records = [replace(r, sources=("gcp",)) for r in records]
    return PoolIndex.build(records, built_at=NOW)


def gcp_profile(**requirements: Any) -> OutputProfile:
    """A GCP profile; a requirement given as None is left out."""
    req = {"gpus": 1, "gpu_memory_gib": 16, "clouds": ["gcp"], "regions": [REGION], "nodes": 6}
    merged = {k: v for k, v in {**req, **requirements}.items() if v is not None}
    return parse_profile({"name": "gke-gpu", "nodepool": "gke-gpu", "requirements": merged})


def spot_ranking(profile: OutputProfile, snapshot: PoolIndex) -> Ranking:
    return rank(snapshot, replace(profile.requirements, capacity_types=("spot",)), now=NOW)


def _gcloud_flags(args: tuple[str, ...]) -> dict[str, str]:
    flags = {}
    for arg in args[5:]:
        key, _, value = arg.partition("=")
        flags[key] = value
    return flags


def test_one_pool_per_ranked_type_with_its_ranked_zones() -> None:
    profile = gcp_profile()
    ranking = spot_ranking(profile, gcp_market())
    built = gke_node_pools(profile, ranking)
    gpu_types = [t for t, *_ in _GCP_GPU]
    assert set(ranking.instance_types) == set(gpu_types), "precondition: all GPU types ranked"
    assert [p.body["nodePool"]["config"]["machineType"] for p in built.pools] == [
        t.split("+")[0] for t in ranking.instance_types
    ], "one pool per type, best ranked first (GKE: one machine type per pool)"
    for pool, itype in zip(built.pools, ranking.instance_types, strict=True):
        ranked_zones = [p.key.zone_id for p in ranking.pools if p.key.instance_type == itype]
        node_pool = pool.body["nodePool"]
        assert node_pool["locations"] == ranked_zones, "node locations = the type's ranked zones"
        assert node_pool["config"]["spot"] is True
        assert node_pool["autoscaling"]["totalMaxNodeCount"] == profile.requirements.nodes
        assert node_pool["autoscaling"]["totalMinNodeCount"] == 0
        assert node_pool["config"]["labels"]["lifecycle"] == "spot"
        taints = node_pool["config"]["taints"]
        assert {"key": GKE_SPOT_TAINT["key"], "value": "true", "effect": "NO_SCHEDULE"} in taints
        assert {"key": "spotsel.io/profile", "value": "gke-gpu", "effect": "NO_SCHEDULE"} in taints
        jsonschema.validate(pool.body, NODE_POOL_REQUEST_SCHEMA)
    assert built.parent == f"projects/PROJECT/locations/{REGION}/clusters/CLUSTER"


@pytest.mark.parametrize(
    ("itype", "machine", "accelerator"),
    [
        # why: N1 takes an attached GPU, named after the '+' of the catalog's pairing
        ("n1-standard-8+nvidia-tesla-t4", "n1-standard-8", "nvidia-tesla-t4"),
        # why: G2 bundles L4s; GKE still wants the accelerator stated
        ("g2-standard-4", "g2-standard-4", "nvidia-l4"),
        # why: A2 highgpu bundles 40 GB A100s (nvidia-tesla-a100, not the 80 GB type)
        ("a2-highgpu-1g", "a2-highgpu-1g", "nvidia-tesla-a100"),
    ],
)
def test_accelerators_of_gpu_types(itype: str, machine: str, accelerator: str) -> None:
    profile = gcp_profile()
    built = gke_node_pools(profile, spot_ranking(profile, gcp_market()))
    [pool] = [p for p in built.pools if p.name == pool_name("gke-gpu", itype)]
    config = pool.body["nodePool"]["config"]
    assert config["machineType"] == machine
    assert config["accelerators"] == [{"acceleratorCount": "1", "acceleratorType": accelerator}]
    assert f"--accelerator=type={accelerator},count=1" in pool.gcloud


def test_cpu_types_carry_no_accelerator() -> None:
    profile = gcp_profile(gpus=0, gpu_memory_gib=None, vcpus="4:4")
    built = gke_node_pools(profile, spot_ranking(profile, gcp_market()))
    [pool] = built.pools
    assert pool.machine_type == "n2-standard-4"
    assert "accelerators" not in pool.body["nodePool"]["config"]
    assert not any(a.startswith("--accelerator") for a in pool.gcloud)


def test_gcloud_arguments_state_the_rest_body() -> None:
    """Both forms of one pool must ask GKE for the same thing."""
    profile = gcp_profile()
    for pool in gke_node_pools(profile, spot_ranking(profile, gcp_market())).pools:
        node_pool = pool.body["nodePool"]
        config = node_pool["config"]
        assert pool.gcloud[:5] == ("gcloud", "container", "node-pools", "create", node_pool["name"])
        flags = _gcloud_flags(pool.gcloud)
        assert "--spot" in flags
        assert flags["--location"] == REGION
        assert flags["--machine-type"] == config["machineType"]
        assert flags["--node-locations"].split(",") == node_pool["locations"]
        assert flags["--num-nodes"] == str(node_pool["initialNodeCount"])
        assert int(flags["--total-max-nodes"]) == node_pool["autoscaling"]["totalMaxNodeCount"]
        assert int(flags["--total-min-nodes"]) == node_pool["autoscaling"]["totalMinNodeCount"]
        assert flags["--location-policy"] == node_pool["autoscaling"]["locationPolicy"]
        labels = dict(kv.split("=", 1) for kv in flags["--node-labels"].split(","))
        assert labels == config["labels"]
        effects = {"NO_SCHEDULE": "NoSchedule"}
        assert flags["--node-taints"].split(",") == [
            f"{t['key']}={t['value']}:{effects[t['effect']]}" for t in config["taints"]
        ]
        [accelerator] = config["accelerators"]
        assert flags["--accelerator"] == (
            f"type={accelerator['acceleratorType']},count={accelerator['acceleratorCount']}"
        )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("config", "taints", 0, "effect"), "NoSchedule"),  # why: REST spells the enum
        (("config", "accelerators", 0, "acceleratorCount"), 1),  # why: int64 is a JSON string
        (("config", "machine_type"), "g2-standard-4"),  # why: camelCase field names only
        (("autoscaling", "totalMaxNodeCount"), 0),  # why: a pool that can never scale up
    ],
)
def test_schema_refuses_bad_bodies(path: tuple[str | int, ...], value: object) -> None:
    """The schema is a guard that can fail: each broken body is refused."""
    profile = gcp_profile()
    [pool] = [
        p
        for p in gke_node_pools(profile, spot_ranking(profile, gcp_market())).pools
        if p.machine_type == "g2-standard-4"
    ]
    body: Any = {"nodePool": {**pool.body["nodePool"]}}
    body["nodePool"]["config"] = {**body["nodePool"]["config"]}
    body["nodePool"]["config"]["taints"] = [dict(t) for t in body["nodePool"]["config"]["taints"]]
    body["nodePool"]["config"]["accelerators"] = [
        dict(a) for a in body["nodePool"]["config"]["accelerators"]
    ]
    jsonschema.validate(body, NODE_POOL_REQUEST_SCHEMA)
    target = body["nodePool"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, NODE_POOL_REQUEST_SCHEMA)


def test_simulated_data_is_labelled_and_real_data_is_not() -> None:
    profile = gcp_profile()
    simulated = gke_node_pools(profile, spot_ranking(profile, gcp_market(simulated=True)))
    real = gke_node_pools(profile, spot_ranking(profile, gcp_market()))
    assert simulated.simulated
    assert simulated.to_dict()["sources"] == ["sim"]
    assert simulated.to_dict()["simulated"] is True
    for pool in simulated.pools:
        assert pool.body["nodePool"]["config"]["labels"][SIMULATED_KEY] == "true"
        assert f"{SIMULATED_KEY}=true" in _gcloud_flags(pool.gcloud)["--node-labels"]
    assert not real.simulated
    assert "simulated" not in real.to_dict()
    for pool in real.pools:
        assert SIMULATED_KEY not in pool.body["nodePool"]["config"]["labels"]


def test_long_names_are_shortened_uniquely() -> None:
    base = "a-long-nodepool-base-name"
    names = {pool_name(base, t) for t in ("n1-standard-8+nvidia-tesla-t4", "n1-standard-8+x")}
    assert len(names) == 2, "distinct types keep distinct pool names"
    assert all(len(n) <= MAX_NODE_POOL_NAME for n in names)
    assert pool_name(base, "n1-standard-8+nvidia-tesla-t4") == pool_name(
        base, "n1-standard-8+nvidia-tesla-t4"
    ), "deterministic"
    assert pool_name("gke", "g2-standard-4") == "gke-g2-standard-4", "short names stay readable"


def test_regional_pools_leave_locations_to_the_cluster() -> None:
    snapshot = PoolIndex.build(
        [
            replace(r, key=replace(r.key, zone_id=""))
            for r in gcp_market().records
            if r.key.instance_type == "g2-standard-4" and r.key.zone_id == ZONES[0]
        ],
        built_at=NOW,
    )
    profile = gcp_profile()
    [pool] = gke_node_pools(profile, spot_ranking(profile, snapshot)).pools
    assert "locations" not in pool.body["nodePool"]
    assert not any(a.startswith("--node-locations") for a in pool.gcloud)


def test_unknown_gpu_series_is_refused() -> None:
    records = [
        replace(r, key=replace(r.key, instance_type="z9-gpu-1g"), family="z9-gpu")
        for r in gcp_market().records
        if r.key.instance_type == "g2-standard-4"
    ]
    profile = gcp_profile()
    ranking = spot_ranking(profile, PoolIndex.build(records, built_at=NOW))
    with pytest.raises(OutputError, match="no GKE accelerator type known"):
        gke_node_pools(profile, ranking)


def test_no_gcp_pool_is_refused() -> None:
    profile = gcp_profile(gpus=8, gpu_memory_gib=80)
    with pytest.raises(OutputUnavailableError, match="no GCP spot pool"):
        generate_gke(gcp_market(), [profile], now=NOW)


def test_each_output_keeps_to_its_cloud() -> None:
    gcp = gcp_profile()
    aws = replace(gcp, requirements=parse_requirements({"regions": ["us-east-1"]}))
    assert (gcp.cloud, aws.cloud) == ("gcp", "aws")
    with pytest.raises(OutputUnavailableError, match="GKE node pools are GCP outputs"):
        generate_gke(gcp_market(), [aws], now=NOW)
    from outputs.crds import load_crds

    with pytest.raises(OutputUnavailableError, match="Karpenter NodePools are AWS outputs"):
        generate_karpenter(gcp_market(), [gcp], now=NOW, crds=load_crds(CRDS))
    options = FleetOptions(
        launch_templates=parse_launch_templates(["lt-0123456789abcdef0"]),
        subnets=("subnet-1",),
        target_capacity=1,
    )
    with pytest.raises(OutputUnavailableError, match="EC2 Fleet and ASG requests are AWS"):
        build_fleet_output(gcp_market(), gcp, options, now=NOW)


@pytest.mark.parametrize(
    "clouds",
    [
        ["oci"],  # why: no output exists for that cloud
        ["gcp", "azure"],  # why: GKE and AKS are two clusters
        ["aws", "gcp"],  # why: one profile serves one cluster on one cloud
    ],
)
def test_profiles_name_one_supported_cloud(clouds: list[str]) -> None:
    with pytest.raises(ProfileError, match=r"requirements\.clouds"):
        parse_profile({"name": "x", "requirements": {"clouds": clouds, "regions": [REGION]}})
