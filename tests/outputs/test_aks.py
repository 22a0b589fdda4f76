"""AKS spot node pools: one agent pool per ranked Azure VM size, the ARM body checked against the
documented shape of an `agentPools` PUT, the `az aks nodepool add` arguments equal to it, names
valid and unique, the node pool limit kept, zones as AKS takes them, the script parseable."""

from __future__ import annotations

import shlex
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from collectors.sim.catalog import by_cloud
from outputs.aks_files import AKS_JSON_SUFFIX, AKS_SCRIPT_SUFFIX, SCRIPT_SHEBANG, render_aks
from outputs.errors import OutputUnavailableError
from outputs.generate import generate_aks, generate_gke, generate_karpenter
from outputs.grammar import LABEL_KEY, LABEL_VALUE, matches
from outputs.profiles import parse_profile
from selector import PoolIndex, PoolRecord, Ranking, parse_requirements, rank
from selector.outputs import SIMULATED_KEY, OutputError, OutputProfile, aks_node_pools
from selector.outputs.aks import (
    AKS_SPOT_TAINT,
    check_one_cluster,
    check_pool_name,
    logical_zone,
    pool_name,
)
from tests.outputs.helpers import CRDS
from tests.selector.factories import NOW, cpu_pool, make_pool

# ManagedClusterAgentPoolProfileProperties as the AKS REST reference (agentPools Create Or
# Update) documents it, restricted to the fields spotsel emits; no other field is allowed, so a
# misspelt key fails. Enums as documented; spotMaxPrice is -1 or a positive price; taints are
# "key=value:Effect" strings; zones are the logical zone numbers.
_TAINT = r"^[^=:\s]+=[^=:\s]*:(NoSchedule|PreferNoSchedule|NoExecute)$"
AGENT_POOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["properties"],
    "additionalProperties": False,
    "properties": {
        "properties": {
            "type": "object",
            "required": ["vmSize", "scaleSetPriority", "mode", "osType"],
            "additionalProperties": False,
            "properties": {
                "vmSize": {"type": "string", "pattern": "^[A-Za-z]+_[A-Za-z0-9_]+$"},
                "osType": {"enum": ["Linux", "Windows"]},
                "mode": {"enum": ["System", "User"]},
                "scaleSetPriority": {"enum": ["Regular", "Spot"]},
                "scaleSetEvictionPolicy": {"enum": ["Delete", "Deallocate"]},
                "spotMaxPrice": {
                    "oneOf": [{"const": -1}, {"type": "number", "exclusiveMinimum": 0}]
                },
                "nodeTaints": {"type": "array", "items": {"type": "string", "pattern": _TAINT}},
                "nodeLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                "availabilityZones": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "pattern": "^[1-9]$"},
                },
                "enableAutoScaling": {"type": "boolean"},
                "minCount": {"type": "integer", "minimum": 0, "maximum": 1000},
                "maxCount": {"type": "integer", "minimum": 1, "maximum": 1000},
                "count": {"type": "integer", "minimum": 0, "maximum": 1000},
            },
        }
    },
}
REGION = "eastus"
# Kubernetes label names (after the prefix) and values: at most 63 characters.
MAX_LABEL_NAME = 63
ZONES = ("eastus-1", "eastus-2", "eastus-3")
# (size, family, GPU model, GPU memory, spot price, zones offered)
_AZURE_GPU = [
    ("Standard_NC4as_T4_v3", "NCasT4_v3", "T4", 16.0, 0.16, ZONES),
    ("Standard_NV36ads_A10_v5", "NVadsA10_v5", "A10", 24.0, 1.10, ZONES[1:]),
    ("Standard_NC24ads_A100_v4", "NC_A100_v4", "A100", 80.0, 1.40, ZONES[:1]),
]
_AZURE = {"interruption_source": "azure-eviction", "interruption_label": "0-5"}


def _azure(**overrides: Any) -> PoolRecord:
    return make_pool(
        **{"cloud": "azure", "region": REGION, "capacity_raw": "High", **_AZURE, **overrides}
    )


def azure_market(*, simulated: bool = False) -> PoolIndex:
    """Azure GPU and CPU pools in eastus, plus an AWS and a GCP pool that must never reach AKS."""
    records: list[PoolRecord] = []
    for name, family, model, memory, price, zones in _AZURE_GPU:
        for z, zone in enumerate(zones):
            records.append(
                _azure(
                    zone_id=zone,
                    instance_type=name,
                    family=family,
                    gpu_model=model,
                    gpu_memory_gib=memory,
                    spot_price=round(price * (1 + 0.02 * z), 4),
                    on_demand_price=price * 3,
                )
            )
    for zone in ZONES:
        records.append(
            cpu_pool(
                cloud="azure",
                region=REGION,
                zone_id=zone,
                instance_type="Standard_D4s_v5",
                family="Dsv5",
                capacity_raw="High",
                **_AZURE,
            )
        )
    records.append(make_pool())  # AWS g4dn.xlarge
    records.append(
        make_pool(
            cloud="gcp",
            region="us-central1",
            zone_id="us-central1-a",
            instance_type="g2-standard-4",
            family="g2-standard",
            interruption_source="gcp-capacity-history",
            interruption_label=None,
            interruption_value=0.05,
        )
    )
    sources = ("sim",) if simulated else ("azure",)
    return PoolIndex.build(
        [replace(r, sources=sources, simulated=simulated) for r in records], built_at=NOW
    )


def azure_profile(name: str = "aks-gpu", **requirements: Any) -> OutputProfile:
    """An Azure profile; a requirement given as None is left out."""
    req = {"gpus": 1, "gpu_memory_gib": 16, "clouds": ["azure"], "regions": [REGION], "nodes": 6}
    merged = {k: v for k, v in {**req, **requirements}.items() if v is not None}
    return parse_profile({"name": name, "nodepool": name, "requirements": merged})


def spot_ranking(profile: OutputProfile, snapshot: PoolIndex) -> Ranking:
    return rank(snapshot, replace(profile.requirements, capacity_types=("spot",)), now=NOW)


def az_flags(args: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """`--flag v1 v2 …` → {flag: [v1, v2, …]} (a bare switch gets []); `-1` is a value."""
    assert list(args[:4]) == ["az", "aks", "nodepool", "add"]
    flags: dict[str, list[str]] = {}
    current = ""
    for arg in args[4:]:
        if arg.startswith("--"):
            assert arg not in flags, f"{arg} given twice"
            current = arg
            flags[current] = []
        else:
            flags[current].append(arg)
    return flags


def test_one_pool_per_ranked_size_with_its_ranked_zones() -> None:
    profile = azure_profile()
    ranking = spot_ranking(profile, azure_market())
    built = aks_node_pools(profile, ranking)
    gpu_sizes = [s for s, *_ in _AZURE_GPU]
    assert set(ranking.instance_types) == set(gpu_sizes), "precondition: all GPU sizes ranked"
    sizes = [p.body["properties"]["vmSize"] for p in built.pools]
    assert sizes == list(ranking.instance_types), "one pool per size, best ranked first"
    assert len(set(sizes)) == len(sizes), "one VM size per pool (AKS: one size per node pool)"
    for pool, size in zip(built.pools, ranking.instance_types, strict=True):
        ranked = sorted(p.key.zone_id for p in ranking.pools if p.key.instance_type == size)
        props = pool.body["properties"]
        assert props["availabilityZones"] == [z.removeprefix("eastus-") for z in ranked]
        assert props["scaleSetPriority"] == "Spot"
        assert props["scaleSetEvictionPolicy"] == "Delete"
        assert props["spotMaxPrice"] == -1
        assert props["mode"] == "User"
        assert props["osType"] == "Linux"
        assert (props["enableAutoScaling"], props["minCount"], props["count"]) == (True, 0, 0)
        assert props["maxCount"] == profile.requirements.nodes
        assert props["nodeLabels"]["lifecycle"] == "spot"
        assert props["nodeLabels"]["spotsel.io/profile"] == "aks-gpu"
        assert "kubernetes.azure.com/scalesetpriority=spot:NoSchedule" in props["nodeTaints"]
        assert "spotsel.io/profile=aks-gpu:NoSchedule" in props["nodeTaints"]
        assert pool.path.endswith(
            f"/managedClusters/CLUSTER/agentPools/{pool.name}?api-version=2025-10-01"
        )
        assert "/resourceGroups/RESOURCE_GROUP/" in pool.path
        jsonschema.validate(pool.body, AGENT_POOL_SCHEMA)
    assert AKS_SPOT_TAINT["key"] == "kubernetes.azure.com/scalesetpriority"


def test_bodies_match_the_sdk_model() -> None:
    """The AKS SDK's generated models (azure-mgmt-containerservice) know every field we write,
    read each one back as the value meant, and spell the enums as we do."""
    from azure.mgmt.containerservice import models as acs

    profile = azure_profile()
    built = aks_node_pools(profile, spot_ranking(profile, azure_market(simulated=True)))
    # The generated model's field table (no public accessor): REST name and visibility per field.
    fields = acs.ManagedClusterAgentPoolProfileProperties()._attr_to_rest_field
    writable = {rf._rest_name for rf in fields.values() if "create" in (rf._visibility or ())}
    assert "evictionPolicy" not in writable, "the check can fail: the az flag is no ARM field"
    spelt = {  # exact spelling: the SDK's enums look values up ignoring case
        "scaleSetPriority": [e.value for e in acs.ScaleSetPriority],
        "scaleSetEvictionPolicy": [e.value for e in acs.ScaleSetEvictionPolicy],
        "mode": [e.value for e in acs.AgentPoolMode],
        "osType": [e.value for e in acs.OSType],
    }
    for pool in built.pools:
        props = pool.body["properties"]
        assert set(props) <= writable, set(props) - writable
        for name, values in spelt.items():
            assert props[name] in values, name
        parsed = acs.AgentPool(pool.body).properties
        assert parsed is not None
        assert parsed.vm_size == props["vmSize"]
        assert (parsed.scale_set_priority, parsed.scale_set_eviction_policy) == ("Spot", "Delete")
        assert parsed.spot_max_price == -1.0
        assert (parsed.mode, parsed.os_type) == ("User", "Linux")
        assert parsed.node_taints == props["nodeTaints"]
        assert parsed.node_labels == props["nodeLabels"]
        assert parsed.availability_zones == props["availabilityZones"]
        assert (parsed.enable_auto_scaling, parsed.min_count, parsed.count) == (True, 0, 0)
        assert parsed.max_count == profile.requirements.nodes


def test_az_arguments_state_the_rest_body() -> None:
    """Both forms of one pool must ask AKS for the same thing."""
    profile = azure_profile()
    built = aks_node_pools(
        profile, spot_ranking(profile, azure_market()), resource_group="rg-ml", cluster="train"
    )
    for pool in built.pools:
        props = pool.body["properties"]
        flags = az_flags(pool.az)
        assert flags["--resource-group"] == ["rg-ml"]
        assert flags["--cluster-name"] == ["train"]
        assert flags["--name"] == [pool.name]
        assert flags["--node-vm-size"] == [props["vmSize"]]
        assert flags["--os-type"] == [props["osType"]]
        assert flags["--mode"] == [props["mode"]]
        assert flags["--priority"] == [props["scaleSetPriority"]]
        assert flags["--eviction-policy"] == [props["scaleSetEvictionPolicy"]]
        assert float(flags["--spot-max-price"][0]) == props["spotMaxPrice"]
        assert flags["--node-taints"][0].split(",") == props["nodeTaints"]
        assert dict(kv.split("=", 1) for kv in flags["--labels"]) == props["nodeLabels"]
        assert flags["--zones"] == props["availabilityZones"]
        assert flags["--enable-cluster-autoscaler"] == []
        assert int(flags["--min-count"][0]) == props["minCount"]
        assert int(flags["--max-count"][0]) == props["maxCount"]
        assert int(flags["--node-count"][0]) == props["count"]
        assert "/resourceGroups/rg-ml/" in pool.path
        assert "/managedClusters/train/" in pool.path


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scaleSetPriority", "spot"),  # why: the enum is case-sensitive as documented
        ("spotMaxPrice", 0),  # why: -1 or a positive price only
        ("nodeTaints", ["kubernetes.azure.com/scalesetpriority=spot"]),  # why: no effect
        ("availabilityZones", ["eastus-1"]),  # why: AKS takes logical zone numbers
        ("count", -1),  # why: a negative pool
        ("evictionPolicy", "Delete"),  # why: the az flag name, not the ARM field
    ],
)
def test_schema_refuses_bad_bodies(field: str, value: object) -> None:
    """The schema is a guard that can fail: each broken body is refused."""
    profile = azure_profile()
    [pool, *_] = aks_node_pools(profile, spot_ranking(profile, azure_market())).pools
    body = {"properties": {**pool.body["properties"]}}
    jsonschema.validate(body, AGENT_POOL_SCHEMA)
    body["properties"][field] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, AGENT_POOL_SCHEMA)


def test_names_are_valid_unique_and_stable() -> None:
    sizes = [t.name for t in by_cloud("azure")]
    names = [pool_name("aks-gpu", s) for s in sizes]
    assert all(check_pool_name(n) == n for n in names), "every catalog size gets a valid name"
    assert len(set(names)) == len(names), "distinct sizes keep distinct names"
    assert names == [pool_name("aks-gpu", s) for s in sizes], "deterministic across runs"
    other = {pool_name("aks-batch", s) for s in sizes}
    assert not other & set(names), "two profiles in one cluster never share a pool name"
    assert pool_name("p", "Standard_D4s_v5").startswith("d4sv5"), "the size stays readable"


@pytest.mark.parametrize(
    "name",
    [
        "",  # why: empty
        "1nc4as",  # why: must start with a letter
        "Nc4as",  # why: lowercase only
        "nc4-as",  # why: alphanumeric only
        "nc4ast4v3abcd",  # why: 13 characters, Linux pools take 12
    ],
)
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(OutputError, match="AKS node pool name"):
        check_pool_name(name)


def _many_sizes(count: int) -> PoolIndex:
    return PoolIndex.build(
        [
            cpu_pool(
                cloud="azure",
                region=REGION,
                zone_id=ZONES[i % 3],
                family="Dsv5",
                instance_type=f"Standard_D{i + 2}s_v5",
                capacity_raw="High",
                spot_price=0.07 + 0.001 * i,
                **_AZURE,
            )
            for i in range(count)
        ],
        built_at=NOW,
    )


# Stated here, not read from the module: "Maximum node pools per cluster: 100"
# (learn.microsoft.com/azure/aks/quotas-skus-regions), one of them the cluster's system pool.
SPOT_POOLS_ALLOWED = 100 - 1


@pytest.mark.parametrize(
    ("sizes", "kept"),
    [
        (SPOT_POOLS_ALLOWED, SPOT_POOLS_ALLOWED),  # why: exactly at the limit, nothing left out
        (SPOT_POOLS_ALLOWED + 21, SPOT_POOLS_ALLOWED),  # why: past it, the worst ranked sizes go
    ],
)
def test_node_pool_limit(sizes: int, kept: int) -> None:
    profile = azure_profile("aks-many", gpus=0, gpu_memory_gib=None, top=200)
    ranking = spot_ranking(profile, _many_sizes(sizes))
    assert len(ranking.instance_types) == sizes, "precondition: every size ranked"
    built = aks_node_pools(profile, ranking)
    assert len(built.pools) == kept
    assert [p.vm_size for p in built.pools] == list(ranking.instance_types[:kept])
    assert built.omitted == ranking.instance_types[kept:], "the rest, best first"
    assert len({p.name for p in built.pools}) == kept, "names unique across the whole profile"
    doc = built.to_dict()
    if built.omitted:
        assert doc["omitted"] == list(built.omitted)
        assert any("left out" in n and "100 node pools" in n for n in built.notes())
    else:
        assert "omitted" not in doc


@pytest.mark.parametrize(
    ("cluster", "refused"),
    [
        (None, False),  # why: placeholders may stand for two clusters: each profile fits its own
        ("gpu", True),  # why: one named cluster: 2 × 60 pools pass AKS's 99 beside the system pool
    ],
)
def test_profiles_sharing_a_cluster_share_its_limit(cluster: str | None, refused: bool) -> None:
    snapshot = _many_sizes(60)
    profiles = [
        azure_profile(name, gpus=0, gpu_memory_gib=None, top=200) for name in ("aks-a", "aks-b")
    ]
    if refused:
        with pytest.raises(OutputUnavailableError, match="120 spot node pools for profiles aks-a"):
            generate_aks(snapshot, profiles, now=NOW, cluster=cluster)
        return
    built = generate_aks(snapshot, profiles, now=NOW, cluster=cluster)
    assert [len(g.pools) for g in built] == [60, 60]
    names = [p.name for g in built for p in g.pools]
    assert len(set(names)) == len(names), "one size in two profiles: two pool names"


def test_a_pool_name_twice_across_profiles_is_refused() -> None:
    profile = azure_profile()
    built = aks_node_pools(profile, spot_ranking(profile, azure_market()))
    check_one_cluster([built])
    with pytest.raises(OutputError, match="named alike in profiles aks-gpu and twin"):
        check_one_cluster([built, replace(built, profile="twin")])


def test_regional_pools_leave_zones_to_azure() -> None:
    snapshot = PoolIndex.build(
        [
            replace(r, key=replace(r.key, zone_id=""))
            for r in azure_market().records
            if r.key.instance_type == "Standard_NC4as_T4_v3" and r.key.zone_id == ZONES[0]
        ],
        built_at=NOW,
    )
    profile = azure_profile()
    [pool] = aks_node_pools(profile, spot_ranking(profile, snapshot)).pools
    assert "availabilityZones" not in pool.body["properties"]
    assert "--zones" not in pool.az
    assert pool.zones == ()


@pytest.mark.parametrize(
    ("zone_id", "zone"),
    [
        ("eastus-2", "2"),  # why: the store's form (collectors.azure.skus.zone_id, the sim)
        ("3", "3"),  # why: a bare logical zone is taken as it is
    ],
)
def test_logical_zones(zone_id: str, zone: str) -> None:
    assert logical_zone(zone_id, REGION) == zone


@pytest.mark.parametrize(
    "zone_id",
    [
        "westus2-1",  # why: another region's zone
        "eastus-az1",  # why: a physical zone name; the subscription's mapping is unknown here
        "us-central1-a",  # why: a GCP zone
    ],
)
def test_foreign_zones_are_refused(zone_id: str) -> None:
    with pytest.raises(OutputError, match="not an Azure logical zone"):
        logical_zone(zone_id, REGION)


def test_labels_are_legal_and_simulated_data_is_labelled() -> None:
    profile = azure_profile()
    simulated = aks_node_pools(profile, spot_ranking(profile, azure_market(simulated=True)))
    real = aks_node_pools(profile, spot_ranking(profile, azure_market()))
    assert simulated.simulated
    assert not real.simulated
    assert simulated.to_dict()["simulated"] is True
    assert simulated.to_dict()["sources"] == ["sim"]
    assert "simulated" not in real.to_dict()
    for pool in simulated.pools:
        labels = pool.body["properties"]["nodeLabels"]
        assert labels[SIMULATED_KEY] == "true"
        assert f"{SIMULATED_KEY}=true" in az_flags(pool.az)["--labels"]
        for key, value in labels.items():
            assert matches(LABEL_KEY, key), key
            assert len(key.rpartition("/")[2]) <= MAX_LABEL_NAME, key
            assert matches(LABEL_VALUE, value), value
            assert len(value) <= MAX_LABEL_NAME, value
            assert not key.startswith("kubernetes.azure.com/"), "a prefix AKS reserves"
    for pool in real.pools:
        assert SIMULATED_KEY not in pool.body["properties"]["nodeLabels"]
    [script] = [t for n, t in render_aks([simulated]).items() if n.endswith(AKS_SCRIPT_SUFFIX)]
    assert "# built from SIMULATED data (sources: sim); not for a real cluster" in script
    [clean] = [t for n, t in render_aks([real]).items() if n.endswith(AKS_SCRIPT_SUFFIX)]
    assert "SIMULATED" not in clean


@pytest.mark.parametrize(
    ("resource_group", "cluster"),
    [
        ("RESOURCE_GROUP", "CLUSTER"),  # why: the placeholders
        ("rg.ml-(prod)_1", "train_gpu-2"),  # why: every character Azure allows, shell-special ones
    ],
)
def test_script_parses_and_holds_only_nodepool_adds(resource_group: str, cluster: str) -> None:
    profile = azure_profile()
    built = aks_node_pools(
        profile,
        spot_ranking(profile, azure_market(simulated=True)),
        resource_group=resource_group,
        cluster=cluster,
    )
    files = render_aks([built])
    assert sorted(files) == [f"aks-gpu{AKS_JSON_SUFFIX}", f"aks-gpu{AKS_SCRIPT_SUFFIX}"]
    lines = files[f"aks-gpu{AKS_SCRIPT_SUFFIX}"].splitlines()
    assert lines[0] == SCRIPT_SHEBANG
    commands = [line for line in lines if not line.startswith("#")]
    assert all(line.startswith("az aks nodepool add ") for line in commands)
    assert [shlex.split(line) for line in commands] == [list(p.az) for p in built.pools]
    assert len(commands) == len(built.pools) >= 3


@pytest.mark.parametrize(
    ("resource_group", "cluster", "subject"),
    [
        ("rg;rm -rf /", "c", "resource group"),  # why: not an Azure resource group name
        ("rg.", "c", "resource group"),  # why: may not end in a period
        ("rg", "-c", "AKS cluster"),  # why: must start with a letter or digit
        ("rg", "c" * 64, "AKS cluster"),  # why: at most 63 characters
    ],
)
def test_bad_cluster_targets_are_refused(resource_group: str, cluster: str, subject: str) -> None:
    profile = azure_profile()
    ranking = spot_ranking(profile, azure_market())
    with pytest.raises(OutputError, match=subject):
        aks_node_pools(profile, ranking, resource_group=resource_group, cluster=cluster)


def test_max_count_keeps_to_the_pool_limit() -> None:
    profile = azure_profile(nodes=5000)
    built = aks_node_pools(profile, spot_ranking(profile, azure_market()))
    # "Maximum nodes per node pool (Virtual Machine Scale Sets node pools): 1000" (AKS quotas).
    assert {p.body["properties"]["maxCount"] for p in built.pools} == {1000}


def test_no_azure_pool_is_refused() -> None:
    profile = azure_profile(gpus=8, gpu_memory_gib=80)
    with pytest.raises(OutputUnavailableError, match="no Azure spot pool"):
        generate_aks(azure_market(), [profile], now=NOW)


def test_each_output_keeps_to_its_cloud() -> None:
    azure = azure_profile()
    aws = replace(azure, requirements=parse_requirements({"regions": ["us-east-1"]}))
    gcp = replace(azure, requirements=parse_requirements({"clouds": "gcp", "regions": ["x"]}))
    assert (azure.cloud, aws.cloud, gcp.cloud) == ("azure", "aws", "gcp")
    for other in (aws, gcp):
        with pytest.raises(OutputUnavailableError, match="AKS node pools are AZURE outputs"):
            generate_aks(azure_market(), [other], now=NOW)
    with pytest.raises(OutputUnavailableError, match="GKE node pools are GCP outputs"):
        generate_gke(azure_market(), [azure], now=NOW)
    from outputs.crds import load_crds

    with pytest.raises(OutputUnavailableError, match="Karpenter NodePools are AWS outputs"):
        generate_karpenter(azure_market(), [azure], now=NOW, crds=load_crds(CRDS))
