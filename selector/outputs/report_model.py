"""The weekly report as values: what the store says about a week (inputs) and what the report
says about it (the `Report` the renderers turn into HTML and Markdown).

Plain frozen dataclasses, no I/O: `core.report_inputs` fills the inputs from the store,
`selector.outputs.report.build_report` turns them into a `Report`, `outputs.report` renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from selector.pools import PoolKey

__all__ = [
    "CapacityAccount",
    "Compared",
    "CostEstimate",
    "FallbackAccount",
    "HeatCell",
    "Mover",
    "NodeLifetime",
    "NodeMove",
    "PoolChange",
    "PoolEvents",
    "PricePoint",
    "PriceSeries",
    "ProfileReport",
    "RecommendationDiff",
    "RecommendedPool",
    "Report",
    "SourceHealth",
    "SpotCandidate",
    "WeekInputs",
    "WeekOverWeek",
]


# --- inputs: what the store holds about the week ----------------------------------------------


@dataclass(frozen=True, slots=True)
class PricePoint:
    at: datetime
    price: float  # $/h in force at `at` (the last change at or before it)


@dataclass(frozen=True, slots=True)
class PriceSeries:
    key: PoolKey
    points: tuple[PricePoint, ...]


@dataclass(frozen=True, slots=True)
class PoolEvents:
    """What the user's fleet saw in one pool during the week."""

    key: PoolKey
    interruptions: int = 0
    rebalances: int = 0
    capacity_errors: int = 0
    instance_hours: float = 0.0  # exposure recorded as usage events


@dataclass(frozen=True, slots=True)
class NodeLifetime:
    """One instance of the fleet (a NodeClaim's node, an EC2 launch) and when it lived."""

    instance_id: str
    nodeclaim: str | None
    key: PoolKey | None  # None = not placed in a pool yet
    capacity_type: str | None  # realized: "spot" | "on-demand" | "reserved" | None = unknown
    launched_at: datetime | None
    ended_at: datetime | None  # None = still running


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One collector source's runs in the week."""

    source: str
    runs: int
    ok: int
    partial: int
    failed: int
    newest_success: datetime | None  # newest ok / partial run's finish, placed by its data's time
    data_as_of: datetime | None
    last_status: str | None
    last_error: str | None
    simulated: bool


@dataclass(frozen=True, slots=True)
class WeekInputs:
    """The store's view of one week: [start, end), read up to `cut` = min(end, report time)."""

    week: str
    start: datetime
    end: datetime
    cut: datetime
    has_data: bool  # any run, price change or fleet event inside the window
    fleet: tuple[PoolEvents, ...] = ()
    nodes: tuple[NodeLifetime, ...] = ()
    sources: tuple[SourceHealth, ...] = ()
    prices: tuple[PriceSeries, ...] = ()


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compared:
    """One number last week and now; `before` None = not recorded last week."""

    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        """Relative: after / before - 1 (None when either side is missing or before is 0)."""
        if self.before is None or self.after is None or self.before == 0:
            return None
        return self.after / self.before - 1.0


@dataclass(frozen=True, slots=True)
class NodeMove:
    """A pool whose share of the profile's nodes changed (0 on one side: added or dropped)."""

    key: PoolKey
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class PoolChange:
    """A pool recommended both weeks: its spot price or hazard then and now."""

    key: PoolKey
    metric: str  # "price" ($/h) | "hazard" (interruptions/h)
    value: Compared


@dataclass(frozen=True, slots=True)
class WeekOverWeek:
    """The profile's numbers against last week's stored recommendation; a `*_recorded` False
    means last week's document predates that field (shown as "not recorded last week")."""

    split_recorded: bool
    moves: tuple[NodeMove, ...]  # only the pools whose node count changed
    nodes_before: int
    nodes_after: int
    cost_recorded: bool
    spot: Compared  # weekly cost at the effective cost per useful hour, $
    on_demand: Compared  # weekly cost on on-demand, $
    pools: tuple[PoolChange, ...]  # per metric, the largest relative changes first
    kept: int  # pools recommended both weeks (those `pools` are picked from)
    hazard_recorded: bool
    verdict_recorded: bool
    verdict_before: bool | None  # spot pays off last week (None = undecided / not recorded)
    verdict_after: bool | None


@dataclass(frozen=True, slots=True)
class RecommendationDiff:
    """What changed against last week's recommendation (None fields = nothing to compare)."""

    compared: bool  # False = no earlier recommendation for this profile
    added_types: tuple[str, ...] = ()
    removed_types: tuple[str, ...] = ()
    added_zones: tuple[str, ...] = ()
    removed_zones: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()  # the NodePool / Fleet edits this implies, one line each
    numbers: WeekOverWeek | None = None  # node split, cost, prices against last week

    @property
    def unchanged(self) -> bool:
        return self.compared and not (
            self.added_types or self.removed_types or self.added_zones or self.removed_zones
        )


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """A week of the profile's nodes on the recommended pools versus on-demand."""

    hours: float
    nodes: int
    spot: float | None  # $ for the week at spot prices
    effective: float | None  # $ per useful hours: spot plus the work interruptions lose
    on_demand: float | None
    savings: float | None  # 1 - effective / on_demand

    @property
    def known(self) -> bool:
        return self.spot is not None and self.on_demand is not None


@dataclass(frozen=True, slots=True)
class Mover:
    key: PoolKey
    metric: str  # "price" | "hazard" | "capacity"
    before: float
    after: float
    change: float  # relative: after / before - 1


@dataclass(frozen=True, slots=True)
class HeatCell:
    instance_type: str
    zone_id: str
    hazard: float | None  # interruptions per instance-hour; None = no spot pool here


@dataclass(frozen=True, slots=True)
class SpotCandidate:
    """A spot pool that could take on-demand work back now: effective cost below on-demand."""

    key: PoolKey
    price: float
    effective_cost: float
    on_demand_price: float


@dataclass(frozen=True, slots=True)
class CapacityAccount:
    capacity_type: str  # realized capacity type, "unknown" when the fleet did not say
    nodes: int
    hours: float


@dataclass(frozen=True, slots=True)
class FallbackAccount:
    """Requested versus realized capacity type of the profile's nodes during the week."""

    requested: str  # what the profile asks for first ("spot")
    nodes: int
    accounts: tuple[CapacityAccount, ...]
    fallback_hours: float  # hours on on-demand while spot was requested
    spot_share: float | None  # share of node-hours on spot; None = no node-hours
    back_to_spot: tuple[SpotCandidate, ...]


@dataclass(frozen=True, slots=True)
class RecommendedPool:
    key: PoolKey
    nodes: int
    price: float  # spot $/h
    effective_cost: float  # $ per useful hour
    hazard: float  # interruptions per instance-hour
    capacity: float  # [0, 1]


@dataclass(frozen=True, slots=True)
class ProfileReport:
    name: str
    cloud: str
    region: str
    nodepool: str
    available: bool  # False = no spot pool matched at week end
    note: str | None
    instance_types: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    pools: tuple[RecommendedPool, ...] = ()
    diff: RecommendationDiff = field(default_factory=lambda: RecommendationDiff(compared=False))
    cost: CostEstimate | None = None
    verdict: str | None = None
    spot_pays_off: bool | None = None  # the verdict's decision (None: one side had no price)
    movers: tuple[Mover, ...] = ()
    prices: tuple[PriceSeries, ...] = ()
    heat: tuple[HeatCell, ...] = ()
    fallback: FallbackAccount | None = None
    simulated: bool = False


@dataclass(frozen=True, slots=True)
class Report:
    week: str
    start: datetime
    end: datetime
    cut: datetime  # data read up to here: the week end, or the report time for a running week
    generated_at: datetime
    has_data: bool
    simulated: bool
    profiles: tuple[ProfileReport, ...]
    fleet: tuple[PoolEvents, ...]
    sources: tuple[SourceHealth, ...]
    compared_with: str | None  # the week last week's recommendation came from, if any
    recommendations: dict[str, Any]
    notes: tuple[str, ...] = ()  # caveats about the data, shown under the title

    @property
    def complete(self) -> bool:
        """Whether the whole week is in (False: a week still running when the report was made)."""
        return self.cut >= self.end
