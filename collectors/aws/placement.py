"""Spot placement scores and the query planner that keeps them within AWS's daily quota.

AWS lets an account ask about roughly 10 *new* configurations per rolling 24 h
(``MaxConfigLimitExceeded`` beyond that); asking again about a configuration already asked in
that window is free. A configuration is (sorted type set, region set, single-AZ flag, target
capacity). The planner reads which configurations were scored in the last 24 h from the
stored ``placement_scores`` rows, reuses those freely, spends what is left of the budget on the
configurations whose scores are oldest (never-scored first) so that every set gets its turn
over the days, and skips the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors.parsing import refuses_malformed
from core.clock import as_utc
from core.errors import SourceDataError
from core.limits import check_rows, row_problem, shorten
from core.tables import REGIONAL_ZONE, PlacementScore
from selector import normalise_placement

__all__ = [
    "MIN_TYPES_PER_SET",
    "QUOTA_ERROR_CODE",
    "QUOTA_WINDOW",
    "SOURCE",
    "PlacementConfig",
    "PlacementPlan",
    "fetch_placement_scores",
    "parse_placement_scores",
    "placement_configs",
    "placement_history",
    "plan_placement",
]

log = logging.getLogger(__name__)

SOURCE = "aws"
# AWS scores a set of fewer than 3 types as always low (cloud-facts.md): not worth a query.
MIN_TYPES_PER_SET = 3
# The rolling window of AWS's "new configurations" quota.
QUOTA_WINDOW = timedelta(hours=24)
# The error AWS returns once the window's new configurations are spent.
QUOTA_ERROR_CODE = "MaxConfigLimitExceeded"
# How far back the planner looks for "when was this configuration last scored" (rotation).
HISTORY_WINDOW = timedelta(days=30)


@dataclass(frozen=True, order=True)
class PlacementConfig:
    """One placement-score configuration as AWS counts it against the quota."""

    instance_types: tuple[str, ...]  # sorted, unique
    regions: tuple[str, ...]  # sorted, unique
    single_az: bool
    target_capacity: int

    @property
    def types_key(self) -> str:
        """The ``placement_scores.instance_types`` column value."""
        return ",".join(self.instance_types)


@dataclass(frozen=True)
class PlacementPlan:
    """What a run may ask: reused (free), new (spends quota) and skipped configurations."""

    reused: tuple[PlacementConfig, ...]
    new: tuple[PlacementConfig, ...]
    skipped: tuple[PlacementConfig, ...]
    limit: int
    spent_before: int  # distinct configurations already asked in the quota window

    def log_fields(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "spent_before": self.spent_before,
            "reused": len(self.reused),
            "new": len(self.new),
            "skipped": [f"{c.types_key}@{'+'.join(c.regions)}" for c in self.skipped],
        }


def placement_configs(
    type_sets: Iterable[Sequence[str]], *, regions: Sequence[str], target_capacity: int
) -> list[PlacementConfig]:
    """One single-AZ configuration per (type set, region); sets of < 3 types are dropped."""
    configs: list[PlacementConfig] = []
    for type_set in type_sets:
        types = tuple(sorted({t.strip() for t in type_set if t.strip()}))
        if len(types) < MIN_TYPES_PER_SET:
            log.warning(
                "placement type set skipped: fewer than 3 types",
                extra={"instance_types": list(types)},
            )
            continue
        for region in regions:
            config = PlacementConfig(types, (region,), True, target_capacity)
            if config not in configs:
                configs.append(config)
    return configs


def placement_history(engine: Engine | None, *, now: datetime) -> dict[PlacementConfig, datetime]:
    """When each stored configuration was last scored (from ``placement_scores`` rows)."""
    if engine is None:
        return {}
    stmt = (
        select(
            PlacementScore.region,
            PlacementScore.zone_id,
            PlacementScore.instance_types,
            PlacementScore.target_capacity,
            func.max(PlacementScore.observed_at),
        )
        .where(PlacementScore.cloud == "aws", PlacementScore.observed_at > now - HISTORY_WINDOW)
        .group_by(
            PlacementScore.region,
            PlacementScore.zone_id,
            PlacementScore.instance_types,
            PlacementScore.target_capacity,
        )
    )
    history: dict[PlacementConfig, datetime] = {}
    with Session(engine) as session:
        for region, zone_id, types, capacity, newest in session.execute(stmt):
            single_az = zone_id != REGIONAL_ZONE
            config = PlacementConfig(tuple(types.split(",")), (region,), single_az, int(capacity))
            seen = as_utc(newest)
            history[config] = max(seen, history.get(config, seen))
    return history


def plan_placement(
    configs: Sequence[PlacementConfig],
    *,
    history: Mapping[PlacementConfig, datetime],
    now: datetime,
    limit: int,
) -> PlacementPlan:
    """Reuse what the quota window already paid for; spend the rest on the stalest configs."""
    recent = {c for c, seen in history.items() if seen > now - QUOTA_WINDOW}
    budget = max(limit - len(recent), 0)
    reused = tuple(c for c in configs if c in recent)
    fresh = [c for c in configs if c not in recent]
    # Never-scored first, then the longest unscored; ties keep the configured order.
    order = sorted(
        range(len(fresh)), key=lambda i: (fresh[i] in history, _age_key(fresh[i], history), i)
    )
    chosen = [fresh[i] for i in order[:budget]]
    return PlacementPlan(
        reused=reused,
        new=tuple(c for c in fresh if c in chosen),
        skipped=tuple(c for c in fresh if c not in chosen),
        limit=limit,
        spent_before=len(recent),
    )


def _age_key(config: PlacementConfig, history: Mapping[PlacementConfig, datetime]) -> float:
    seen = history.get(config)
    return seen.timestamp() if seen is not None else 0.0


def fetch_placement_scores(ec2: Any, config: PlacementConfig) -> list[dict[str, Any]]:
    """GetSpotPlacementScores for one configuration (all pages)."""
    paginator = ec2.get_paginator("get_spot_placement_scores")
    pages = paginator.paginate(
        InstanceTypes=list(config.instance_types),
        TargetCapacity=config.target_capacity,
        TargetCapacityUnitType="units",
        SingleAvailabilityZone=config.single_az,
        RegionNames=list(config.regions),
    )
    return [s for page in pages for s in page.get("SpotPlacementScores", ())]


@refuses_malformed("GetSpotPlacementScores response")
def parse_placement_scores(
    records: Iterable[Mapping[str, Any]], *, config: PlacementConfig, observed_at: datetime
) -> list[dict[str, Any]]:
    """API scores → ``placement_scores`` rows (score normalised to [0, 1], raw kept).

    A value the store cannot hold raises :class:`~core.errors.SourceDataError`, checked before
    the score is interpreted so no message ever quotes a whole malformed value.
    """
    rows = []
    where = f"{'+'.join(map(shorten, config.regions))} placement scores"
    for record in records:
        raw = record["Score"]
        row: dict[str, Any] = {
            "cloud": "aws",
            "region": str(record["Region"]),
            "zone_id": str(record.get("AvailabilityZoneId") or REGIONAL_ZONE),
            "instance_types": config.types_key,
            "target_capacity": config.target_capacity,
            "observed_at": observed_at,
            "raw": str(raw),
            "source": SOURCE,
        }
        problem = row_problem("placement_scores", row)
        if problem is not None:
            raise SourceDataError(f"{where}: placement_scores.{problem}")
        row["score"] = normalise_placement("aws", raw, types_in_query=len(config.instance_types))
        rows.append(row)
    check_rows("placement_scores", rows, where=where)
    return rows
