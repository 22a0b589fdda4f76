"""On-demand discounts: the rule vocabulary, its precedence, and what a discount does to a ranking.

A Savings Plan makes on-demand cheaper than its list price, so spot that beats list can lose to
the discounted price: the ranking, `max_price`, savings and the verdict all use list × (1 − d).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from selector import PoolIndex, Requirements, RequirementsError, parse_requirements, rank
from selector.discounts import (
    NO_DISCOUNTS,
    OnDemandDiscounts,
    on_demand_discount_by_row,
    parse_discounts,
)
from selector.requirements import with_default_discounts
from tests.selector import realdata
from tests.selector.factories import NOW, cpu_pool, make_pool

RULES = {"aws": 0.2, "aws/p5": 0.45, "aws/us-east-1/g5": 0.3, "aws/eu-west-1/*": 0.1}


# --- the vocabulary ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(RULES, id="mapping (JSON, YAML)"),
        pytest.param("aws=0.2, aws/p5=0.45,aws/us-east-1/g5=0.3,aws/eu-west-1/*=0.1", id="text"),
        pytest.param(
            {"AWS": 0.2, "aws/*/P5": 0.45, "aws/US-EAST-1/g5": 0.3, "aws/eu-west-1/*": 0.1},
            id="case and * spelled out: the same rules",
        ),
    ],
)
def test_every_form_parses_to_the_same_canonical_rules(value: object) -> None:
    parsed = parse_requirements({"on_demand_discounts": value}).on_demand_discounts
    assert parsed.to_dict() == RULES
    # The canonical form goes back in unchanged (a ranking's requirements round-trip).
    assert parse_discounts(parsed.to_dict()) == parsed


# (cloud, region, family, expected discount, why)
PRECEDENCE = [
    ("aws", "us-east-1", "g5", 0.3, "region + family beats family, region and cloud"),
    ("aws", "us-west-2", "g5", 0.2, "g5 is discounted in us-east-1 only: the cloud rule"),
    ("aws", "us-east-1", "p5", 0.45, "family beats cloud"),
    ("aws", "eu-west-1", "p5", 0.45, "family beats region"),
    ("aws", "eu-west-1", "m5", 0.1, "region beats cloud"),
    ("aws", "us-east-1", "G5", 0.3, "families match case-insensitively"),
    ("gcp", "us-central1", "a2-highgpu", 0.0, "no rule for the cloud: list price"),
]


@pytest.mark.parametrize(("cloud", "region", "family", "expected", "why"), PRECEDENCE)
def test_the_most_specific_rule_wins(
    cloud: str, region: str, family: str, expected: float, why: str
) -> None:
    assert parse_discounts(RULES).discount_for(cloud, region, family) == expected, why


def test_the_vectorised_lookup_agrees_with_the_rule_precedence() -> None:
    """Why: ranking uses the array form, the explanation the scalar one; they must not drift."""
    pools = [
        make_pool(region=region, zone_id=f"{region}-az1", instance_type=itype)
        for region in ("us-east-1", "us-west-2", "eu-west-1")
        for itype in ("g5.xlarge", "p5.48xlarge", "m5.large", "G5.2xlarge")
    ] + [make_pool(cloud="gcp", region="us-central1", zone_id="us-central1-a")]
    snap = PoolIndex.build(pools, built_at=NOW)
    rules = parse_discounts(RULES)
    rows = np.arange(snap.size, dtype=np.int64)
    by_row = on_demand_discount_by_row(snap, rows, rules)
    expected = [rules.discount_for(r.key.cloud, r.key.region, r.family) for r in snap.records]
    assert by_row.tolist() == expected
    assert set(expected) == {0.0, 0.1, 0.2, 0.3, 0.45}, "every kind of rule is exercised"


@pytest.mark.parametrize(
    ("value", "names"),
    [
        pytest.param({"aws": 1.0}, "0 <= x < 1", id="100% off is not a price"),
        pytest.param({"aws": -0.1}, "0 <= x < 1", id="negative"),
        pytest.param({"aws": float("nan")}, "0 <= x < 1", id="NaN"),
        pytest.param({"aws": True}, "got bool", id="bool is a typo"),
        pytest.param({"aws": "0.2"}, "got str", id="a number as text in a mapping"),
        pytest.param({"oracle": 0.2}, "'oracle'", id="unknown cloud"),
        pytest.param({"aws/us-east-1": 0.2}, "aws/us-east-1/*", id="region where family goes"),
        pytest.param({"aws/a/b/c": 0.2}, "at most cloud/region/family", id="too many parts"),
        pytest.param({"aws/": 0.2}, "not a region or family", id="empty segment"),
        pytest.param({"aws/g 5": 0.2}, "not a region or family", id="space in a name"),
        pytest.param({"aws": 0.2, "AWS/*": 0.3}, "repeats the rule 'aws'", id="same rule twice"),
        pytest.param("aws", "not key=fraction", id="text without a value"),
        pytest.param("aws=x", "not a number", id="text value not a number"),
        pytest.param(0.2, "expected a mapping", id="a bare number"),
        pytest.param({f"aws/f{i}": 0.1 for i in range(300)}, "at most 256", id="a price list"),
    ],
)
def test_bad_rules_are_one_error_naming_the_field(value: object, names: str) -> None:
    with pytest.raises(RequirementsError) as caught:
        parse_requirements({"on_demand_discounts": value})
    assert caught.value.field == "on_demand_discounts"
    assert names in caught.value.reason
    assert "\n" not in str(caught.value)


def test_request_rules_are_laid_over_the_defaults_rule_by_rule() -> None:
    defaults = parse_discounts("aws=0.2,aws/p5=0.4")
    req = parse_requirements({"on_demand_discounts": "aws/p5=0.5,aws/g5=0.3"})
    merged = with_default_discounts(req, defaults).on_demand_discounts
    assert merged.to_dict() == {"aws": 0.2, "aws/g5": 0.3, "aws/p5": 0.5}
    cancelled = with_default_discounts(
        parse_requirements({"on_demand_discounts": "aws=0"}), defaults
    ).on_demand_discounts
    assert cancelled.discount_for("aws", "us-east-1", "m5") == 0.0, "aws=0 cancels a default"
    assert cancelled.discount_for("aws", "us-east-1", "p5") == 0.4, "other defaults still apply"
    assert with_default_discounts(Requirements(), NO_DISCOUNTS) == Requirements()
    assert not OnDemandDiscounts(), "no rule: nothing to discount"


# --- what a discount does to a ranking ---------------------------------------------------------


def _market() -> PoolIndex:
    """g5.xlarge spot at 0.70 $/h, 30 % under its 1.006 list price, in three zones; m5 CPU pools
    to show a family rule leaves other families at list."""
    pools = [
        make_pool(
            instance_type="g5.xlarge",
            zone_id=zone,
            spot_price=0.70,
            on_demand_price=1.006,
            gpu_model="A10G",
            gpu_memory_gib=24.0,
            interruption_label="5-10%",
        )
        for zone in ("use1-az1", "use1-az2", "use1-az4")
    ] + [cpu_pool(zone_id=zone) for zone in ("use1-az1", "use1-az2")]
    return PoolIndex.build(pools, built_at=NOW)


REQUEST: dict[str, Any] = {"gpus": 1, "regions": ["us-east-1"], "min_instance_types": 1}


def test_spot_cheaper_than_list_but_dearer_than_the_discounted_price_flips_the_verdict() -> None:
    snap = _market()
    at_list = rank(snap, parse_requirements(REQUEST), now=NOW)
    assert at_list.verdict.spot_pays_off is True
    spot_cost = at_list.verdict.best_spot_effective_cost
    list_price = at_list.verdict.best_on_demand_price
    assert spot_cost is not None
    assert list_price is not None
    assert spot_cost < list_price
    # A 45 % Instance Savings Plan on g5 puts on-demand under spot's cost per useful hour.
    discount = 0.45
    assert list_price * (1 - discount) < spot_cost, "the case this test is about"
    req = parse_requirements({**REQUEST, "on_demand_discounts": {"aws/g5": discount}})
    ranked = rank(snap, req, now=NOW)
    verdict = ranked.verdict
    assert verdict.spot_pays_off is False
    assert "use on-demand" in verdict.message
    assert "45% discount" in verdict.message, "the verdict names the discount"
    assert verdict.best_on_demand_price == pytest.approx(list_price * (1 - discount))
    assert verdict.best_on_demand_list_price == pytest.approx(list_price)
    assert verdict.on_demand_discount == discount
    assert ranked.pools[0].capacity_type == "on-demand", "the ranking follows the true price"


def test_ranked_pools_show_list_and_discounted_prices_and_save_against_the_discounted() -> None:
    req = parse_requirements({**REQUEST, "on_demand_discounts": "aws=0.1,aws/g5=0.2"})
    ranked = rank(_market(), req, now=NOW)
    assert {p.capacity_type for p in ranked.pools} == {"spot", "on-demand"}
    for p in ranked.pools:
        assert p.on_demand_list_price == pytest.approx(1.006)
        assert p.on_demand_discount == 0.2, "the family rule beats the cloud rule"
        assert p.on_demand_price == pytest.approx(1.006 * 0.8)
        assert p.savings == pytest.approx(1 - p.price / (1.006 * 0.8))
        if p.capacity_type == "on-demand":
            assert p.price == pytest.approx(1.006 * 0.8)
            assert p.effective_cost == pytest.approx(p.price), "on-demand: u = 1"
        shown = p.to_dict()
        assert (shown["on_demand_list_price"], shown["on_demand_discount"]) == (
            p.on_demand_list_price,
            0.2,
        )
    assert ranked.to_dict()["requirements"]["on_demand_discounts"] == {"aws": 0.1, "aws/g5": 0.2}


def test_a_family_rule_leaves_other_families_at_list() -> None:
    req = parse_requirements(
        {"gpus": 0, "regions": ["us-east-1"], "min_instance_types": 1,
         "capacity_types": ["on-demand"], "on_demand_discounts": {"aws/g5": 0.5}}
    )  # fmt: skip
    ranked = rank(_market(), req, now=NOW)
    assert ranked.pools
    assert all(p.key.instance_type == "m5.xlarge" for p in ranked.pools)
    assert all(p.on_demand_discount == 0.0 for p in ranked.pools)
    assert all(p.price == p.on_demand_list_price == 0.192 for p in ranked.pools)


def test_max_price_holds_against_what_on_demand_really_costs() -> None:
    """Why: a user capping $/h pays the discounted price; the list price would exclude it."""
    body = {**REQUEST, "capacity_types": ["on-demand"], "max_price": 0.9}
    assert rank(_market(), parse_requirements(body), now=NOW).pools == ()
    discounted = {**body, "on_demand_discounts": {"aws": 0.2}}
    ranked = rank(_market(), parse_requirements(discounted), now=NOW)
    assert ranked.pools
    assert all(p.price <= 0.9 for p in ranked.pools)


def test_no_discount_changes_nothing() -> None:
    snap = _market()
    plain = rank(snap, parse_requirements(REQUEST), now=NOW)
    zero = rank(snap, parse_requirements({**REQUEST, "on_demand_discounts": {"aws": 0}}), now=NOW)
    strip = {"requirements"}
    assert {k: v for k, v in zero.to_dict().items() if k not in strip} == {
        k: v for k, v in plain.to_dict().items() if k not in strip
    }


# --- on real data --------------------------------------------------------------------------------

REAL_REQUEST: dict[str, Any] = {
    "gpus": 1,
    "gpu_memory_gib": 16,
    "regions": ["us-east-1"],
    "max_price_age_hours": 24 * 60,  # the price dump ends 2022-06-01 (see realdata.py)
}


@pytest.mark.skipif(
    not realdata.available() and not os.environ.get("CI"), reason="../shared/data not present"
)
def test_on_real_prices_the_discount_that_flips_the_verdict_is_where_the_costs_cross() -> None:
    snap = PoolIndex.build(realdata.load_us_east_1(), built_at=realdata.NOW)
    at_list = rank(snap, parse_requirements(REAL_REQUEST), now=realdata.NOW).verdict
    assert at_list.spot_pays_off is True
    assert at_list.best_on_demand_pool is not None
    assert at_list.best_spot_effective_cost is not None
    assert at_list.best_on_demand_price is not None
    family = at_list.best_on_demand_pool.instance_type.split(".")[0]
    # The best on-demand type's discount at which it costs what the best spot pool does.
    crossing = 1 - at_list.best_spot_effective_cost / at_list.best_on_demand_price
    verdicts = {}
    for margin in (-0.02, 0.02):
        rules = {f"aws/{family}": round(crossing + margin, 4)}
        req = parse_requirements({**REAL_REQUEST, "on_demand_discounts": rules})
        verdicts[margin] = rank(snap, req, now=realdata.NOW).verdict
    assert verdicts[-0.02].spot_pays_off is True, "just under the crossing: spot still pays"
    assert verdicts[0.02].spot_pays_off is False, "just over it: on-demand"
    assert verdicts[0.02].best_on_demand_pool is not None
    assert verdicts[0.02].best_on_demand_pool.instance_type.startswith(f"{family}.")


def test_requirements_with_discounts_stay_hashable_cache_keys() -> None:
    a = parse_requirements({"on_demand_discounts": "aws=0.2"})
    b = parse_requirements({"on_demand_discounts": {"aws": 0.2}})
    assert a == b
    assert hash(a) == hash(b)
    assert a != replace(a, on_demand_discounts=parse_discounts({"aws": 0.3}))
