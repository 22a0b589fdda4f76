"""The ranking table says where the user's own fleet moved a pool: λ and capacity, before and
after.
"""

from __future__ import annotations

import io

from rich.console import Console

from selector import PoolIndex, Ranking, parse_requirements, rank
from selector.capacity import ICE_PENALTY_PER_EVENT
from selector.evidence import format_hours, format_rate
from selector.hazard import estimate_hazard
from spotsel.render_ranking import fleet_lines, print_ranking
from tests.selector.factories import NOW, make_pool

REQ = parse_requirements({"gpus": 1, "regions": ["us-east-1"], "top": 5, "min_instance_types": 1})


def _ranking() -> Ranking:
    records = [
        make_pool(zone_id="use1-az1", interruption_label=">20%", fleet_interruptions=3,
                  fleet_instance_hours=41.0, fleet_at=NOW),
        make_pool(zone_id="use1-az2", capacity_score=0.8, fleet_capacity_errors=2, fleet_at=NOW),
        make_pool(zone_id="use1-az4"),
    ]  # fmt: skip
    return rank(PoolIndex.build(records, built_at=NOW), REQ, now=NOW)


def _printed(ranking: Ranking, *, wide: bool = False) -> str:
    buffer = io.StringIO()
    print_ranking(Console(file=buffer, width=100), ranking, wide=wide)
    return " ".join(buffer.getvalue().split())


def test_table_explains_each_pool_the_fleet_moved() -> None:
    ranking = _ranking()
    by_zone = {p.key.zone_id: p for p in ranking.pools if p.capacity_type == "spot"}
    prior = estimate_hazard("aws-advisor", ">20%").rate
    posterior = estimate_hazard("aws-advisor", ">20%", interruptions=3, instance_hours=41.0).rate
    lines = fleet_lines(ranking.pools)
    assert len(lines) == 2, "one line per pool with evidence, none for the quiet one"
    text = _printed(ranking)
    interrupted = by_zone["use1-az1"]
    assert (
        f"Fleet #{interrupted.rank} {interrupted.key.instance_type} use1-az1: 3 interruptions in "
        f"{format_hours(41.0)} instance-hours: λ {format_rate(prior)} → "
        f"{format_rate(posterior)}/h."
    ) in text
    short = by_zone["use1-az2"]
    assert f"capacity 0.80 → {0.8 * ICE_PENALTY_PER_EVENT**2:.2f}" in text
    assert f"Fleet #{short.rank} " in text


def test_wide_table_shows_the_prior_beside_the_posterior() -> None:
    text = _printed(_ranking(), wide=True)
    assert "λ prior" in text
    assert "capacity before ICE" in text
