"""Zone-level signals: PoolIndex's zone columns, the capacity they lower, the ties they break,
the `no-zone-signal` flag, and the request's cost tie band."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from selector import PoolIndex, PoolRecord, RequirementsError, parse_requirements, rank
from selector import capacity as cap
from selector.requirements import DEFAULT_COST_TIE_BAND
from selector.strategies import SIMILAR_COST_TOLERANCE, cost_bands
from tests.selector.factories import NOW, cpu_pool

# No zonal score: the zones of a type are told apart only by what their prices say.
NO_SCORE: dict[str, Any] = {"capacity_score": None, "capacity_raw": None, "capacity_zonal": False}


def _pool(zone: str, price: float, **overrides: Any) -> PoolRecord:
    return cpu_pool(zone_id=zone, spot_price=price, **{**NO_SCORE, **overrides})


def _index(*pools: PoolRecord) -> PoolIndex:
    return PoolIndex.build(list(pools), built_at=NOW)


def _column(index: PoolIndex, name: str) -> dict[tuple[str, str], Any]:
    values = getattr(index, name)
    return {
        (r.key.zone_id, r.key.instance_type): (
            None if isinstance(v, float) and math.isnan(v) else v
        )
        for r, v in zip(index.records, values.tolist(), strict=True)
    }


# --- PoolIndex columns ----------------------------------------------------------------------


def test_ratio_is_against_the_median_of_the_types_priced_zones() -> None:
    index = _index(
        _pool("use1-az1", 0.10),
        _pool("use1-az2", 0.10),
        _pool("use1-az3", 0.20),
        _pool("use1-az4", 0.08, instance_type="c5.xlarge"),  # another type: its own median
        _pool("use1-az5", 0.12, instance_type="c5.xlarge"),
    )
    ratio = _column(index, "zone_price_ratio")
    assert ratio[("use1-az1", "m5.xlarge")] == pytest.approx(1.0)
    assert ratio[("use1-az3", "m5.xlarge")] == pytest.approx(2.0)
    assert ratio[("use1-az4", "c5.xlarge")] == pytest.approx(0.8)
    assert ratio[("use1-az5", "c5.xlarge")] == pytest.approx(1.2)


@pytest.mark.parametrize(
    ("pools", "expected"),
    [
        pytest.param([_pool("use1-az1", 0.1), _pool("use1-az2", 0.2)],
                     {"use1-az1": True, "use1-az2": True}, id="prices differ"),
        pytest.param([_pool("use1-az1", 0.1), _pool("use1-az2", 0.1), _pool("use1-az3", 0.2)],
                     {"use1-az1": False, "use1-az2": False, "use1-az3": True},
                     id="two zones tie: their order falls to the zone ID"),
        pytest.param([_pool("use1-az1", 0.1, spot_price_volatility=0.0),
                      _pool("use1-az2", 0.1, spot_price_volatility=0.3)],
                     {"use1-az1": True, "use1-az2": True}, id="same price, volatility differs"),
        pytest.param([_pool("use1-az1", 0.1)], {"use1-az1": False},
                     id="the only zone of its type, no zonal score"),
        pytest.param([cpu_pool(zone_id="use1-az1")], {"use1-az1": True},
                     id="the only zone, but a zonal score"),
        pytest.param([cpu_pool(zone_id="use1-az1", spot_price=0.1),
                      cpu_pool(zone_id="use1-az2", spot_price=0.1)],
                     {"use1-az1": False, "use1-az2": False}, id="same zonal score and price"),
        pytest.param([cpu_pool(zone_id="use1-az1", spot_price=0.1, capacity_score=0.3),
                      cpu_pool(zone_id="use1-az2", spot_price=0.1)],
                     {"use1-az1": True, "use1-az2": True}, id="zonal scores differ"),
        pytest.param([_pool("", 0.1), _pool("use1-az1", 0.2)], {"": False, "use1-az1": False},
                     id="a regional pool is no zone; the zone has nothing to compare with"),
        pytest.param([_pool("use1-az1", 0.1), _pool("use1-az2", 0.3, simulated=True)],
                     {"use1-az1": False, "use1-az2": False},
                     id="a simulated price is no peer of a real one"),
        pytest.param([_pool("use1-az1", 0.1), _pool("use1-az2", None)],
                     {"use1-az1": False, "use1-az2": False}, id="an unpriced zone is no peer"),
    ],
)  # fmt: skip
def test_zone_signal(pools: list[PoolRecord], expected: dict[str, bool]) -> None:
    signal = _column(_index(*pools), "zone_signal")
    assert {zone: v for (zone, _), v in signal.items()} == expected


def test_ratio_is_unknown_without_a_peer() -> None:
    ratio = _column(_index(_pool("", 0.1), _pool("use1-az1", 0.2)), "zone_price_ratio")
    assert ratio == {("", "m5.xlarge"): None, ("use1-az1", "m5.xlarge"): None}


def test_the_index_holds_each_pools_zone_penalty() -> None:
    index = _index(_pool("use1-az1", 0.1), _pool("use1-az2", 0.1), _pool("use1-az3", 0.5))
    expected = cap.zone_signal_penalty(index.zone_price_ratio, index.spot_volatility)
    np.testing.assert_array_equal(index.zone_penalty, expected)
    assert index.zone_penalty.tolist()[:2] == [0.0, 0.0]
    assert index.zone_penalty[2] == pytest.approx(
        cap.ZONE_PREMIUM_PENALTY * math.log(5.0 / cap.ZONE_PREMIUM_THRESHOLD)
    )


def test_zone_columns_do_not_depend_on_input_order() -> None:
    pools = [_pool(f"use1-az{i}", p) for i, p in enumerate([0.3, 0.1, 0.1, 0.2, 0.5], 1)]
    a, b = _index(*pools), _index(*reversed(pools))
    np.testing.assert_array_equal(a.zone_price_ratio, b.zone_price_ratio)
    np.testing.assert_array_equal(a.zone_signal, b.zone_signal)
    assert not a.zone_price_ratio.flags.writeable
    assert not a.zone_signal.flags.writeable


# --- capacity ----------------------------------------------------------------------------------


def _capacity(ratio: float, *, score: float = math.nan, zonal: bool = False) -> tuple[float, int]:
    c, flags = cap.capacity_arrays(
        np.array([score]),
        np.array([zonal]),
        np.array([1.0]),
        np.zeros(1),
        np.array([math.nan]),
        zone_penalty=cap.zone_signal_penalty(np.array([ratio]), np.array([0.5])),
    )
    return float(c[0]), int(flags[0])


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        pytest.param(math.nan, cap.NEUTRAL_CAPACITY, id="nothing to compare: neutral"),
        pytest.param(0.5, cap.NEUTRAL_CAPACITY, id="a cheap zone is no better (the fit)"),
        pytest.param(cap.ZONE_PREMIUM_THRESHOLD, cap.NEUTRAL_CAPACITY, id="at the threshold"),
        pytest.param(2.5, cap.NEUTRAL_CAPACITY
                     - cap.ZONE_PREMIUM_PENALTY * math.log(2.5 / cap.ZONE_PREMIUM_THRESHOLD),
                     id="a busy zone loses capacity"),
    ],
)  # fmt: skip
def test_a_premium_lowers_capacity_without_a_zonal_score(ratio: float, expected: float) -> None:
    c, flags = _capacity(ratio)
    assert c == pytest.approx(expected)
    assert bool(flags & cap.FLAG_ZONE_PREMIUM) == (c < cap.NEUTRAL_CAPACITY)


def test_a_zonal_score_beats_the_derived_signal() -> None:
    c, flags = _capacity(3.0, score=0.9, zonal=True)
    assert c == pytest.approx(0.9)
    assert not flags & cap.FLAG_ZONE_PREMIUM


def test_a_regional_score_still_takes_the_derived_signal() -> None:
    c, flags = _capacity(3.0, score=0.9, zonal=False)
    premium = cap.ZONE_PREMIUM_PENALTY * math.log(3.0 / cap.ZONE_PREMIUM_THRESHOLD)
    assert c == pytest.approx(0.9 * cap.REGIONAL_DISCOUNT - premium)
    assert flags & cap.FLAG_ZONE_PREMIUM
    assert flags & cap.FLAG_REGIONAL


def test_zone_penalty_is_zero_where_unknown() -> None:
    got = cap.zone_signal_penalty(
        np.array([math.nan, 1.0, 5.0]), np.array([math.nan, math.nan, 0.0])
    )
    assert got[0] == 0.0
    assert got[1] == 0.0
    assert got[2] > 0.0


# --- ordering and flags ------------------------------------------------------------------------


def _rank(pools: list[PoolRecord], now: datetime, **request: Any) -> list[tuple[str, str]]:
    body = {
        "capacity_types": ["spot"],
        "min_instance_types": 1,
        "max_share_per_type": 1.0,
        "max_share_per_zone": 1.0,
        "top": 20,
        **request,
    }
    ranking = rank(_index(*pools), parse_requirements(body), now=now)
    return [(p.key.zone_id, p.key.instance_type) for p in ranking.pools]


def test_equal_prices_are_ordered_by_volatility_not_zone_id(now: datetime) -> None:
    pools = [
        _pool("use1-az1", 0.1, spot_price_volatility=0.3),
        _pool("use1-az2", 0.1, spot_price_volatility=0.01),
        _pool("use1-az3", 0.1, spot_price_volatility=0.1),
    ]
    assert [z for z, _ in _rank(pools, now)] == ["use1-az2", "use1-az3", "use1-az1"]


def test_a_busy_zone_ranks_below_its_capacity_peers(now: datetime) -> None:
    # capacity strategy: the zone priced 3x its type's median loses capacity, so it goes last,
    # below pools that cost more per hour; without the zone signal all capacities tie at neutral.
    pools = [
        _pool("use1-az1", 0.30, instance_type="c5.xlarge"),
        _pool("use1-az2", 0.10, instance_type="c5.xlarge"),
        _pool("use1-az3", 0.10, instance_type="c5.xlarge"),
        _pool("use1-az1", 0.50, spot_price_volatility=0.0),
        _pool("use1-az2", 0.50, spot_price_volatility=0.01),
    ]
    order = _rank(pools, now, strategy="capacity")
    assert order[-1] == ("use1-az1", "c5.xlarge"), "below even the dearer m5.xlarge pools"
    assert order[-3:-1] == [("use1-az1", "m5.xlarge"), ("use1-az2", "m5.xlarge")]


def test_ranked_pools_carry_the_zone_signals(now: datetime) -> None:
    pools = [
        _pool("use1-az1", 0.10),
        _pool("use1-az2", 0.10),
        _pool("use1-az3", 0.40),
        _pool("use1-az1", 0.20, instance_type="c5.xlarge"),
        _pool("", 0.20, instance_type="c6i.xlarge"),
    ]
    req = parse_requirements({"capacity_types": ["spot"], "min_instance_types": 1, "top": 20})
    by_key = {
        (p.key.zone_id, p.key.instance_type): p for p in rank(_index(*pools), req, now=now).pools
    }
    assert len(by_key) == 5
    tied = by_key[("use1-az1", "m5.xlarge")]
    busy = by_key[("use1-az3", "m5.xlarge")]
    assert tied.zone_price_ratio == pytest.approx(1.0)
    assert tied.to_dict()["zone_price_ratio"] == pytest.approx(1.0)
    assert "no-zone-signal" in tied.flags
    assert "no-zone-signal" in by_key[("use1-az2", "m5.xlarge")].flags
    assert busy.zone_price_ratio == pytest.approx(4.0)
    assert "no-zone-signal" not in busy.flags
    assert "zone-price-premium" in busy.flags
    assert busy.capacity < tied.capacity
    for lonely in (("use1-az1", "c5.xlarge"), ("", "c6i.xlarge")):
        assert by_key[lonely].zone_price_ratio is None
        assert by_key[lonely].to_dict()["zone_price_ratio"] is None
        assert "no-zone-signal" in by_key[lonely].flags


# --- the cost tie band -------------------------------------------------------------------------


def test_the_tie_band_defaults_to_the_named_constant() -> None:
    assert parse_requirements({}).cost_tie_band == DEFAULT_COST_TIE_BAND == SIMILAR_COST_TOLERANCE
    assert parse_requirements({"cost_tie_band": 0}).cost_tie_band == 0.0
    assert parse_requirements({"cost_tie_band": 1}).cost_tie_band == 1.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(-0.01, "must be >= 0", id="negative"),
        pytest.param(1.5, "must be <= 1", id="above one"),
        pytest.param("wide", "expected a number", id="text"),
        pytest.param(math.inf, "must be finite", id="infinite"),
    ],
)
def test_a_bad_tie_band_is_one_clear_error(value: object, message: str) -> None:
    with pytest.raises(RequirementsError, match=message) as caught:
        parse_requirements({"cost_tie_band": value})
    assert str(caught.value).startswith("cost_tie_band")
    assert "\n" not in str(caught.value)


def test_cost_bands_follow_the_band() -> None:
    cost = np.array([1.0, 1.04, 1.08, 1.3])
    assert cost_bands(cost, 0.05).tolist() == [0, 0, 1, 5]
    assert cost_bands(cost, 0.10).tolist() == [0, 0, 0, 2]
    assert cost_bands(cost, 0.0).tolist() == [0, 1, 2, 3], "no band: every cost its own"
    assert cost_bands(cost, 1.0).tolist() == [0, 0, 0, 0]


def test_widening_the_band_lets_lower_hazard_win(now: datetime) -> None:
    # Same restart cost; the cheaper pool has the worse bucket. 8 % apart in effective cost:
    # two bands at the default 5 %, one band at 20 %, where the lower λ comes first.
    risky = _pool("use1-az1", 0.100, instance_type="c5.xlarge", interruption_label=">20%")
    safe = replace(_pool("use1-az1", 0.100), interruption_label="<5%")
    ranking = rank(_index(risky, safe), parse_requirements({"capacity_types": ["spot"]}), now=now)
    costs = {p.key.instance_type: p.effective_cost for p in ranking.pools}
    gap = costs["m5.xlarge"] / costs["c5.xlarge"]
    # Re-price the safe pool so its effective cost is 8 % above the risky one's.
    safe = replace(safe, spot_price=0.100 * 1.08 / gap)
    narrow = _rank([risky, safe], now)
    wide = _rank([risky, safe], now, cost_tie_band=0.2)
    assert narrow[0] == ("use1-az1", "c5.xlarge"), "default band: the cheaper pool first"
    assert wide[0] == ("use1-az1", "m5.xlarge"), "wide band: costs tie, the lower λ first"
