"""The row order stated (JSON and caption), and why rank 1 may not be the verdict's pool."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rich.console import Console

from selector import PoolIndex, PoolRecord, Ranking, parse_requirements, rank
from spotsel.render_ranking import print_ranking
from tests.selector.factories import NOW, make_pool


def _rank(pools: list[PoolRecord], **req: Any) -> Ranking:
    return rank(PoolIndex.build(pools, built_at=NOW), parse_requirements(req), now=NOW)


def _market(risky_price: float) -> list[PoolRecord]:
    return [
        make_pool(instance_type="safe.x", spot_price=0.20, interruption_label="<5%"),
        make_pool(instance_type="risky.x", spot_price=risky_price, interruption_label="15-20%"),
    ]


def test_rank_one_is_the_best_spot_pool_and_nothing_is_added() -> None:
    r = _rank(_market(0.15), capacity_types=["spot"])
    assert r.pools[0].key == r.verdict.best_spot_pool
    assert r.verdict.rank_one_note is None
    assert "Rank 1" not in r.verdict.message


def test_within_the_tie_band_rank_one_is_explained_by_lower_hazard() -> None:
    # risky.x costs slightly less per useful hour, but within a 5 % band: safe.x ranks first.
    r = _rank(_market(0.19), capacity_types=["spot"], cost_tie_band=0.05)
    assert r.pools[0].key.instance_type == "safe.x"
    assert r.verdict.best_spot_pool is not None
    assert r.verdict.best_spot_pool.instance_type == "risky.x"
    note = r.verdict.rank_one_note
    assert note is not None
    assert "tie band" in note
    assert "lower λ" in note
    assert note in r.verdict.message
    assert r.to_dict()["verdict"]["rank_one_note"] == note


def test_a_narrower_tie_band_makes_rank_one_the_cheapest_again() -> None:
    r = _rank(_market(0.19), capacity_types=["spot"], cost_tie_band=0.0)
    assert r.pools[0].key == r.verdict.best_spot_pool
    assert r.verdict.rank_one_note is None


def test_strategy_price_says_why_rank_one_differs() -> None:
    pools = [
        make_pool(instance_type="cheap.risky", spot_price=0.20, interruption_label=">20%"),
        make_pool(instance_type="mid.ok", spot_price=0.205, interruption_label="<5%"),
    ]
    r = _rank(pools, capacity_types=["spot"], strategy="price")
    assert r.pools[0].key.instance_type == "cheap.risky"
    assert r.verdict.best_spot_pool is not None
    assert r.verdict.best_spot_pool.instance_type == "mid.ok"
    assert r.verdict.rank_one_note is not None
    assert "strategy=price" in r.verdict.rank_one_note


@pytest.mark.parametrize(
    ("strategy", "first_key"),
    [
        pytest.param("effective-cost", "effective_cost", id="the cost first (no band)"),
        pytest.param("price", "price", id="$/h"),
        pytest.param("capacity", "-capacity", id="capacity, descending"),
        pytest.param("price-capacity", "capacity>=0.6", id="qualified pools first"),
    ],
)
def test_ordering_is_in_the_json_and_matches_the_strategy(strategy: str, first_key: str) -> None:
    r = _rank(_market(0.19), strategy=strategy)
    ordering = json.loads(json.dumps(r.to_dict()))["ordering"]
    assert ordering["rule"] == strategy
    assert ordering["keys"][0] == first_key
    assert ordering["caption"].startswith("Rows: ")
    assert (ordering["tie_band"] is not None) == (strategy == "effective-cost")


def test_effective_cost_rows_follow_their_bands_and_the_caption_says_so() -> None:
    r = _rank(_market(0.19), capacity_types=["spot"], cost_tie_band=0.1)
    assert r.ordering is not None
    assert r.ordering.tie_band == pytest.approx(0.1)
    costs = [p.effective_cost for p in r.pools]
    assert costs != sorted(costs), "the market is built so the cost column is not monotone"
    # The stated rule holds: each row is within one band of the cheapest before it.
    cheapest = min(costs)
    assert all(c <= cheapest * 1.1 for c in costs[: costs.index(cheapest)])
    out = io.StringIO()
    print_ranking(Console(file=out, width=100, force_terminal=False), r)
    text = " ".join(out.getvalue().split())  # the caption wraps at the console width
    assert "Order: $ per useful hour in 10% bands from the cheapest (cost_tie_band)" in text
    assert "a row may cost up to 10% more than the one below it" in text


def test_listing_past_top_is_noted_in_the_json_and_under_the_table() -> None:
    pools = [
        make_pool(instance_type=f"t{i}.x", zone_id=f"use1-az{i}", spot_price=0.2 + i / 100)
        for i in range(1, 5)
    ]
    r = _rank(pools, capacity_types=["spot"], top=1, nodes=3, max_share_per_type=0.34)
    assert len(r.pools) == 3
    assert [p.nodes for p in r.pools] == [1, 1, 1]
    assert not r.unmet
    assert r.notes
    assert r.to_dict()["notes"] == list(r.notes)
    out = io.StringIO()
    print_ranking(Console(file=out, width=200, force_terminal=False), r)
    assert "Listed: listed 3 pools, more than top=1" in " ".join(out.getvalue().split())


def test_with_a_tie_band_the_bands_come_first_and_the_caption_says_so() -> None:
    ordering = _rank(_market(0.19), cost_tie_band=0.05).to_dict()["ordering"]
    assert ordering["keys"][0] == "effective_cost_band"
    assert ordering["tie_band"] == 0.05
    assert "5% bands" in ordering["caption"]
    assert "may cost up to 5% more" in ordering["caption"]


def test_by_default_rows_follow_the_cost_they_show() -> None:
    r = _rank(_market(0.19), capacity_types=["spot"])
    costs = [p.effective_cost for p in r.pools]
    assert costs == sorted(costs)
    assert r.pools[0].key == r.verdict.best_spot_pool
    assert "bands" not in r.ordering.caption
