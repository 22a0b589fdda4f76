"""Provenance: simulated and real pools never mix unless asked; answers say what they rest on."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from selector import (
    PoolIndex,
    PoolRecord,
    Ranking,
    RequirementsError,
    estimate_hazard,
    parse_requirements,
    rank,
)
from selector.hazard import signal_kind
from tests.selector.factories import NOW, make_pool

REAL_ZONES = ("use1-az1", "use1-az2")
SIM_ZONES = ("use1-az4", "use1-az5", "use1-az6")


def _real(zone: str, **overrides: Any) -> PoolRecord:
    return make_pool(zone_id=zone, **({"sources": ("aws", "aws-advisor")} | overrides))


def _sim(zone: str, **overrides: Any) -> PoolRecord:
    # Cheaper than the real pools, so a mixing bug would put them on top.
    fields = {"spot_price": 0.05, "sources": ("sim",), "simulated": True} | overrides
    return make_pool(zone_id=zone, interruption_source="sim", **fields)


def _rank(pools: list[PoolRecord], **req: Any) -> Ranking:
    request = parse_requirements({"min_instance_types": 1, "min_zones": 1, **req})
    return rank(PoolIndex.build(pools, built_at=NOW), request, now=NOW)


MIXED = [_real(z) for z in REAL_ZONES] + [_sim(z) for z in SIM_ZONES]
ONLY_SIM = [_sim(z) for z in SIM_ZONES]
ONLY_REAL = [_real(z) for z in REAL_ZONES]


def _zones(ranking: Ranking) -> set[str]:
    return {p.key.zone_id for p in ranking.pools}


def _counts(ranking: Ranking) -> dict[str, int]:
    return {e.code: e.count for e in ranking.exclusions}


# (pools, data, zones in the answer, exclusions, labelled simulated, why)
CASES = [
    pytest.param(MIXED, None, set(REAL_ZONES), {"simulated": 3}, False,
                 id="default over a mixed store: real only, simulated left out with a reason"),
    pytest.param(ONLY_SIM, None, set(SIM_ZONES), {}, True,
                 id="default over a simulated store: the simulated pools, labelled"),
    pytest.param(ONLY_REAL, None, set(REAL_ZONES), {}, False,
                 id="default over a real store: nothing left out"),
    pytest.param(MIXED, "real", set(REAL_ZONES), {"simulated": 3}, False,
                 id="real: simulated left out"),
    pytest.param(ONLY_SIM, "real", set(), {"simulated": 3}, False,
                 id="real over a simulated store: an empty answer that says why"),
    pytest.param(MIXED, "simulated", set(SIM_ZONES), {"real": 2}, True,
                 id="simulated: real left out"),
    pytest.param(MIXED, "any", set(REAL_ZONES + SIM_ZONES), {}, True,
                 id="any: mixed on request, and labelled"),
]  # fmt: skip


@pytest.mark.parametrize(("pools", "data", "zones", "excluded", "simulated"), CASES)
def test_data_choice(
    pools: list[PoolRecord],
    data: str | None,
    zones: set[str],
    excluded: dict[str, int],
    simulated: bool,
) -> None:
    ranking = _rank(pools, top=10, data=data, capacity_types=["spot"])
    assert _zones(ranking) == zones
    assert _counts(ranking) == excluded
    assert ranking.simulated is simulated
    assert ("sim" in ranking.sources) is simulated
    assert ranking.simulated_excluded == excluded.get("simulated", 0)
    assert sum(excluded.values()) + ranking.candidates == len(pools)
    body = ranking.to_dict()
    assert list(body)[:3] == ["simulated", "sources", "simulated_excluded"], "said at the top"


def test_the_simulated_exclusion_explains_how_to_opt_in() -> None:
    [exclusion] = _rank(MIXED).exclusions
    assert exclusion.code == "simulated"
    assert "real data" in exclusion.reason
    assert "data: any" in exclusion.reason


def test_the_data_filter_counts_only_pools_that_matched_everything_else() -> None:
    pools = [*MIXED, _sim("use1-az3", arch="arm64")]
    counts = _counts(_rank(pools, arch="x86_64"))
    assert counts == {"arch": 1, "simulated": 3}


def test_the_verdict_rests_on_real_pools_only() -> None:
    ranking = _rank(MIXED)
    best = ranking.verdict.best_spot_pool
    assert best is not None
    assert best.zone_id in REAL_ZONES, "the cheap simulated pool is not used"


def test_a_pool_with_one_simulated_signal_is_simulated() -> None:
    mixed_pool = _real("use1-az3", sources=("aws", "sim"), simulated=True)
    ranking = _rank([*ONLY_REAL, mixed_pool])
    assert _zones(ranking) == set(REAL_ZONES)
    assert ranking.simulated_excluded == 1


def test_unknown_data_choice_is_refused() -> None:
    with pytest.raises(RequirementsError, match="data"):
        parse_requirements({"data": "mixed"})


def test_data_choice_is_case_insensitive_and_defaults_to_auto() -> None:
    assert parse_requirements({}).data == "auto"
    assert parse_requirements({"data": "ANY"}).data == "any"


# (source, label, value, kind, why)
KINDS = [
    pytest.param("aws-advisor", "<5%", None, "aws-advisor", id="a source naming a kind"),
    pytest.param("sim", ">20%", None, "aws-advisor", id="simulated AWS bucket"),
    pytest.param("sim", "5-10", None, "azure-eviction", id="simulated Azure bucket"),
    pytest.param("sim", None, 0.12, "gcp-capacity-history", id="simulated GCP fraction"),
    pytest.param("sim", "weird", None, None, id="unknown label: no kind"),
    pytest.param(None, None, None, None, id="no signal"),
]


@pytest.mark.parametrize(("source", "label", "value", "kind"), KINDS)
def test_signal_kind(
    source: str | None, label: str | None, value: float | None, kind: str | None
) -> None:
    assert signal_kind(source, label, value) == kind


def test_hazard_keeps_provenance_and_kind_apart() -> None:
    simulated = estimate_hazard("sim", "15-20%")
    real = estimate_hazard("aws-advisor", "15-20%")
    assert (simulated.source, simulated.kind) == ("sim", "aws-advisor")
    assert (real.source, real.kind) == ("aws-advisor", "aws-advisor")
    assert simulated.rate == real.rate
    assert simulated.to_dict()["source"] == "sim"


def test_ranked_simulated_pool_hazard_says_sim() -> None:
    [pool] = _rank([_sim("use1-az4", interruption_label=">20%")], capacity_types=["spot"]).pools
    hazard = pool.hazard
    assert (hazard.source, hazard.kind, hazard.label) == ("sim", "aws-advisor", ">20%")
    assert pool.simulated
    assert pool.sources == ("sim",)


def test_on_demand_and_default_hazards_name_themselves() -> None:
    no_signal = replace(_real("use1-az1"), interruption_source=None, interruption_label=None)
    ranking = _rank([no_signal], top=2)
    kinds = {p.capacity_type: (p.hazard.source, p.hazard.kind) for p in ranking.pools}
    assert kinds == {"spot": ("default", "default"), "on-demand": ("on-demand", "on-demand")}
