"""Request and response models of the REST API: the published contract (/openapi.json).

The recommendation body mirrors the ranking vocabulary (`selector.Requirements`) for shape
only — strict types, no unknown keys, finite numbers; meaning (bounds, contradictions, GPU
classes) is checked by `selector.parse_requirements`, the one validator every interface uses.
Its bounds and choices are published in the schema from the selector's own constants, so the
document and the check cannot drift apart (choices are matched case-insensitively, and `arch`
also takes the aliases amd64 and aarch64).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import URL

from api.pagination import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT, ResultPage, next_link
from selector.discounts import MAX_DISCOUNT_RULES
from selector.pools import CLOUDS
from selector.requirements import (
    ARCHES,
    CAPACITY_TYPES,
    DATA_CHOICES,
    MAX_GPU_MEMORY_GIB,
    MAX_GPUS,
    MAX_MEMORY_GIB,
    MAX_MINUTES,
    MAX_NODES,
    MAX_PRICE_PER_HOUR,
    MAX_SIGNAL_AGE_HOURS,
    MAX_TOP,
    MAX_VCPUS,
    STRATEGIES,
)

__all__ = [
    "CollectorsResponse",
    "ErrorBody",
    "EventsReport",
    "HealthResponse",
    "HistoryQuery",
    "InstanceTypeItem",
    "Page",
    "PoolHistory",
    "PoolItem",
    "PoolQuery",
    "Problem",
    "ReadinessResponse",
    "RecommendationRequest",
    "RecommendationResponse",
    "SnapshotInfo",
    "TypeQuery",
]

# Integers beyond 2^53 are not exact in JSON clients (and overflow float conversion later).
JSON_SAFE_INT = 2**53
SafeInt = Annotated[int, Field(ge=-JSON_SAFE_INT, le=JSON_SAFE_INT)]
# Longer strings and lists than any real request; they only cost memory and time.
MAX_LIST = 1_000
Text = Annotated[str, Field(max_length=256)]
TextList = Annotated[list[Text], Field(max_length=MAX_LIST)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _documented(**schema: Any) -> Any:
    """Bounds or choices for the published schema only: `parse_requirements` enforces them."""
    return Field(json_schema_extra=schema)


def _within(lo: float, hi: float) -> Any:
    return _documented(minimum=lo, maximum=hi)


def _one_of(choices: tuple[str, ...]) -> Any:
    return _documented(enum=list(choices))


# A share of the nodes: 0 < x <= 1.
Share = Annotated[float, _documented(exclusiveMinimum=0, maximum=1)]
Count = Annotated[SafeInt, _within(1, MAX_TOP)]
Minutes = Annotated[float, _within(0, MAX_MINUTES)]


class RangeBody(_Strict):
    """A closed interval; either end may be omitted (open)."""

    min: Annotated[float, _documented(minimum=0)] | None = None
    max: Annotated[float, _documented(minimum=0)] | None = None


RANGE_HELP = 'a number (exact), "4:16" / "16:" / ":8", or {"min": 4, "max": 16}'
RangeText = Annotated[str, Field(max_length=64)]
VcpusValue = Annotated[
    Annotated[float, _within(0, MAX_VCPUS)] | RangeText | RangeBody | None,
    Field(description=RANGE_HELP),
]
MemoryValue = Annotated[
    Annotated[float, _within(0, MAX_MEMORY_GIB)] | RangeText | RangeBody | None,
    Field(description=RANGE_HELP),
]
CloudList = Annotated[list[Annotated[Text, _one_of(CLOUDS)]], Field(max_length=MAX_LIST)]
CapacityTypeList = Annotated[
    list[Annotated[Text, _one_of(CAPACITY_TYPES)]], Field(max_length=MAX_LIST)
]
DISCOUNTS_HELP = (
    "fraction off the on-demand list price (Savings Plans, RIs) by cloud, cloud/family or "
    'cloud/region/family ("*" = any), e.g. {"aws": 0.2, "aws/p5": 0.45, "aws/us-east-1/g5": '
    '0.3}, or the text "aws=0.2,aws/p5=0.45"; the most specific rule wins (region + family, '
    "family, region, cloud); laid over the server's SPOTSEL_ON_DEMAND_DISCOUNTS rule by rule"
)
DiscountsValue = Annotated[
    Annotated[
        dict[Text, Annotated[float, _documented(minimum=0, exclusiveMaximum=1)]],
        Field(max_length=MAX_DISCOUNT_RULES),
    ]
    | Annotated[str, Field(max_length=MAX_LIST * 8)]
    | None,
    Field(description=DISCOUNTS_HELP),
]


class RecommendationRequest(_Strict):
    """What the workload needs: the ranking vocabulary (README "Ranking"). All optional."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"gpus": 1, "gpu_memory_gib": 16, "regions": ["us-east-1"], "nodes": 8}]
        }
    )

    vcpus: VcpusValue = None
    memory_gib: MemoryValue = None
    gpus: Annotated[SafeInt, _within(0, MAX_GPUS)] | None = Field(
        None, description="GPUs per node; 0 = CPU only"
    )
    gpu_memory_gib: Annotated[float, _within(0, MAX_GPU_MEMORY_GIB)] | None = Field(
        None, description="minimum GiB per GPU"
    )
    gpu_models: TextList | None = Field(None, description="models or classes, e.g. A10G, L4")
    arch: Annotated[Text, _one_of(ARCHES)] | None = None
    clouds: CloudList | None = None
    regions: TextList | None = None
    capacity_types: CapacityTypeList | None = None
    nodes: Annotated[SafeInt, _within(1, MAX_NODES)] | None = None
    max_price: Annotated[float, _within(0, MAX_PRICE_PER_HOUR)] | None = Field(
        None, description="max $/h per node"
    )
    strategy: Annotated[Text, _one_of(STRATEGIES)] | None = None
    cost_tie_band: Annotated[float, _within(0, 1)] | None = Field(
        None,
        description="effective-cost: costs within this fraction of each other tie, and λ, "
        "capacity and zone signals decide among them; 0 = none (default 0.05)",
    )
    top: Count | None = None
    checkpoint_interval_minutes: Minutes | None = None
    final_checkpoint_seconds: Annotated[float, _within(0, MAX_MINUTES * 60)] | None = None
    restart_overhead_minutes: Minutes | None = None
    min_instance_types: Count | None = None
    max_share_per_type: Share | None = None
    max_share_per_family: Share | None = None
    max_share_per_zone: Share | None = None
    min_zones: Count | None = None
    max_price_age_hours: (
        Annotated[float, _documented(exclusiveMinimum=0, maximum=MAX_SIGNAL_AGE_HOURS)] | None
    ) = None
    data: Annotated[Text, _one_of(DATA_CHOICES)] | None = Field(
        None,
        description="which data the answer may rest on (default auto): auto = real pools only "
        "when the store holds any, else the simulated ones; real; simulated; any = both mixed",
    )
    on_demand_discounts: DiscountsValue = None


class Problem(BaseModel):
    """One invalid part of a request."""

    field: str = Field(description='where, e.g. "body.gpus" or "query.limit"')
    message: str


class ErrorBody(BaseModel):
    """Every error: a stable machine code and a human detail (a list for invalid requests)."""

    error: str = Field(description="stable code, e.g. unauthorized, payload_too_large")
    detail: str | list[Problem]
    field: str | None = Field(None, description="the field, for `invalid_requirements`")


class PoolKeyModel(BaseModel):
    cloud: str
    region: str
    zone_id: str
    instance_type: str


class HazardModel(BaseModel):
    rate_per_hour: float
    low: float
    high: float
    source: str = Field(
        description='the stored row\'s source (e.g. "aws-advisor", "sim"); "default" = no '
        'usable signal; "on-demand" for an on-demand offering'
    )
    kind: str = Field(
        description="the conversion applied: aws-advisor, azure-eviction, gcp-capacity-history, "
        "default or on-demand"
    )
    label: str | None
    fleet_updated: bool


class SignalAgesModel(BaseModel):
    """Seconds since each signal was observed; null = absent."""

    spot_price: float | None
    on_demand_price: float | None
    interruption: float | None
    capacity: float | None
    fleet: float | None


class FleetEvidenceModel(BaseModel):
    """The pool's own fleet evidence and what it moved (λ and capacity, before → after)."""

    interruptions: int
    instance_hours: float
    capacity_errors: int = Field(description="insufficient-capacity errors still remembered")
    newest_error_age_hours: float | None
    prior_rate_per_hour: float | None = Field(
        description="λ from the bucket alone; null = on-demand"
    )
    rate_per_hour: float | None = Field(description="λ after the fleet update; null = on-demand")
    capacity_before_errors: float
    capacity: float
    capacity_error_weight: float = Field(
        description="how many full-strength errors they still count as (0 past the TTL)"
    )
    notes: list[str] = Field(description='e.g. "3 interruptions in 41 instance-hours: λ …"')


class RankedPoolModel(PoolKeyModel):
    rank: int
    capacity_type: str
    nodes: int = Field(description="suggested nodes of the request's `nodes` on this pool")
    family: str
    vcpus: int
    memory_gib: float
    arch: str
    gpu_count: int
    gpu_model: str | None
    gpu_class: str | None
    gpu_memory_gib: float | None
    price: float
    spot_price: float | None
    on_demand_price: float | None = Field(
        description="what on-demand costs you: list × (1 − on_demand_discount)"
    )
    on_demand_list_price: float | None = Field(description="the cloud's list price")
    on_demand_discount: float = Field(description="fraction off list from on_demand_discounts")
    savings: float | None = Field(description="1 − price / on_demand_price (the discounted one)")
    price_volatility: float | None
    hazard: HazardModel
    hazard_prior: float | None = Field(
        None, description="λ from the interruption bucket alone, before the fleet update"
    )
    fleet: FleetEvidenceModel | None = Field(None, description="null = no own-fleet evidence")
    lost_hours_per_interruption: float
    useful_fraction: float
    effective_cost: float
    capacity: float
    capacity_basis: str
    capacity_raw: str | None
    zone_price_ratio: float | None = Field(
        None,
        description="spot price over the median of its type's priced zones in the region; "
        "null = regional, or no other zone to compare with",
    )
    score: float
    ages_seconds: SignalAgesModel
    flags: list[str]
    sources: list[str] = Field(description="sources of the stored rows behind this pool")
    simulated: bool = Field(description="any of them simulated")


class ExclusionModel(BaseModel):
    code: str
    reason: str
    count: int


class UnmetModel(BaseModel):
    code: str
    required: float
    achieved: float
    message: str


class VerdictModel(BaseModel):
    """Does the best spot pool beat on-demand for this request, per useful hour?"""

    spot_pays_off: bool | None
    best_spot_pool: PoolKeyModel | None
    best_spot_price: float | None
    best_spot_effective_cost: float | None
    best_on_demand_pool: PoolKeyModel | None
    best_on_demand_price: float | None = Field(description="list × (1 − on_demand_discount)")
    best_on_demand_list_price: float | None
    on_demand_discount: float
    savings_fraction: float | None
    break_even_hazard: float | None
    message: str
    best_spot_hazard: float | None = Field(
        default=None, description="λ of the best spot pool, interruptions per hour"
    )
    rank_one_note: str | None = Field(
        default=None,
        description="why rank 1 is not the best spot pool (strategy, tie band, λ), or null",
    )


class OrderingModel(BaseModel):
    """How the pools are ordered: the strategy's sort keys, most significant first."""

    rule: str = Field(description="the strategy")
    keys: list[str] = Field(description='sort keys, most significant first; "-x" = descending')
    caption: str
    tie_band: float | None = Field(
        description="effective-cost: costs within this fraction tie (cost_tie_band)"
    )


class RecommendationResponse(BaseModel):
    """`selector.Ranking.to_dict()` plus the snapshot generation it was ranked on."""

    simulated: bool = Field(
        description="the answer rests on simulated data (at least one pool is simulated)"
    )
    sources: list[str] = Field(description="every source behind the answer's pools")
    simulated_excluded: int = Field(
        description="pools matching the request left out because they rest on simulated data "
        "(see `data`)"
    )
    strategy: str
    now: datetime
    snapshot_built_at: datetime
    snapshot_size: int
    snapshot_generation: int
    candidates: int
    requirements: dict[str, Any]
    pools: list[RankedPoolModel]
    exclusions: list[ExclusionModel]
    unmet: list[UnmetModel]
    verdict: VerdictModel
    ordering: OrderingModel | None = None
    notes: list[str] = Field(
        default_factory=list,
        description="listing notes, e.g. more pools than `top` because the constraints need them",
    )


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing; follow `next` (or pass `next_cursor`) until it is null."""

    items: list[T]
    total: int = Field(description="items matching the filters, over all pages")
    limit: int
    next_cursor: str | None
    next: str | None = Field(description="path and query of the next page")

    @classmethod
    def of(cls, page: ResultPage, *, limit: int, url: URL) -> Page[T]:
        """The response for one page of results; pydantic validates each item into ``T``."""
        return cls(
            items=page.items,
            total=page.total,
            limit=limit,
            next_cursor=page.next_cursor,
            next=next_link(url, page.next_cursor),
        )


class PoolItem(PoolKeyModel):
    """A pool as the current snapshot holds it: specs and the signals in force."""

    family: str
    vcpus: int
    memory_gib: float
    arch: str
    gpu_count: int
    gpu_model: str | None
    gpu_memory_gib: float | None
    spot_offered: bool
    on_demand_offered: bool
    spot_price: float | None
    spot_price_at: datetime | None
    on_demand_price: float | None
    interruption_source: str | None = Field(description="the interruption row's source")
    interruption_label: str | None
    interruption_value: float | None
    capacity_score: float | None
    capacity_raw: str | None
    capacity_zonal: bool
    sources: list[str] = Field(description="sources of the stored rows behind this pool")
    simulated: bool = Field(description="any of them simulated")


class InstanceTypeItem(BaseModel):
    cloud: str
    name: str
    family: str
    generation: int | None
    size: str
    vcpus: int
    memory_gib: float
    arch: str
    gpu_count: int
    gpu_model: str | None
    gpu_memory_gib: float | None
    accelerator_kind: str
    network_gbps: float | None
    local_storage_gib: float | None
    source: str
    observed_at: datetime


class PricePoint(BaseModel):
    ts: datetime
    price_usd_per_hour: float
    source: str
    observed_at: datetime


class ScorePoint(BaseModel):
    observed_at: datetime
    zone_id: str = Field(description='"" = a regional score')
    instance_types: list[str] = Field(description="the scored set")
    target_capacity: int
    score: float | None
    raw: str
    source: str


class InterruptionPoint(BaseModel):
    observed_at: datetime
    zone_id: str = Field(description='"" = a regional signal')
    source: str
    bucket: int | None
    label: str | None
    rate: float | None


class PoolHistory(BaseModel):
    """Signals of one pool over [start, end]; `spot_prices` starts with the price in force."""

    pool: PoolKeyModel
    start: datetime
    end: datetime
    spot_prices: list[PricePoint]
    placement_scores: list[ScorePoint]
    interruption_rates: list[InterruptionPoint]
    truncated: bool = Field(description="a series hit the per-series point limit")


class RegionOutcome(BaseModel):
    region: str
    status: str
    rows: int
    error_class: str | None
    error_message: str | None


class RunModel(BaseModel):
    id: int
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    status: str
    rows_written: int
    rows_new: int
    data_as_of: datetime | None
    error_class: str | None
    error_message: str | None
    regions: list[RegionOutcome]


class CollectorStatus(BaseModel):
    source: str
    runs: int
    last_status: str
    last_error: str | None
    failed_regions: list[str]
    data_as_of: datetime | None
    data_age_seconds: float | None
    recent_runs: list[RunModel]


class CollectorsResponse(BaseModel):
    now: datetime
    sources: list[CollectorStatus]


class HealthResponse(BaseModel):
    status: str


class Check(BaseModel):
    name: str
    ok: bool
    detail: str


class StaleSource(BaseModel):
    source: str
    data_as_of: datetime | None
    data_age_seconds: float | None
    max_age_seconds: float


class FleetEventsSummary(BaseModel):
    """The user's own fleet events in the store: counts per kind and the newest one's age."""

    total: int
    by_kind: dict[str, int]
    pools: int = Field(description="pools with at least one event")
    newest_at: datetime | None
    newest_age_seconds: float | None
    capacity_errors_remembered: int = Field(
        description="insufficient-capacity errors still lowering capacity (within the memory)"
    )
    capacity_error_memory_hours: float


class ReadinessResponse(BaseModel):
    """Ready = database reachable, schema present, pool index loaded; stale sources are listed."""

    ready: bool
    checks: list[Check]
    stale: list[StaleSource]
    fleet_events: FleetEventsSummary | None = Field(
        None, description="null when the database is not reachable"
    )


class SnapshotInfo(BaseModel):
    generation: int
    pools: int
    built_at: datetime


class IndexedReason(BaseModel):
    index: int = Field(description="position of the document in the flattened input")
    reason: str


class EventsReport(BaseModel):
    """What one `POST /v1/events` did (see `core.fleet_events.IngestReport`)."""

    accepted: int = Field(description="new events stored, mapped to a pool or kept unmapped")
    duplicates: int = Field(description="events already stored under (source, external_id)")
    unmapped: int = Field(description="new events not yet in a pool; kept and retried")
    resolved: int = Field(description="earlier unmapped events this request placed")
    instances: int = Field(description="fleet instances whose record changed")
    rejected: list[IndexedReason]
    ignored: list[IndexedReason] = Field(description="well-formed documents with no fleet signal")
    unmapped_reasons: dict[str, int]
    run_id: int | None = Field(description="the collection run recorded (none if nothing changed)")


# --- query parameters ------------------------------------------------------------------------

Name = Annotated[str, Field(min_length=1, max_length=128)]
# Above any real instance (largest VMs: < 2,000 vCPUs, < 32 TiB); larger is a typo.
MAX_QUERY_NUMBER = 1_000_000


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}")
    cursor: Annotated[str, Field(max_length=MAX_CURSOR_CHARS)] | None = Field(
        None, description="`next_cursor` of the previous page"
    )


class PoolQuery(_Query):
    cloud: Name | None = None
    region: Name | None = None
    zone: Name | None = Field(None, description="zone ID, e.g. use1-az4")
    instance_type: Name | None = None
    gpu_model: Name | None = Field(None, description="a model (A10G) or a class")
    min_gpu_memory: float | None = Field(None, ge=0, le=MAX_QUERY_NUMBER)
    capacity_type: Literal["spot", "on-demand"] | None = None


class TypeQuery(_Query):
    cloud: Name | None = None
    family: Name | None = None
    arch: Literal["x86_64", "arm64"] | None = None
    min_vcpus: int | None = Field(None, ge=0, le=MAX_QUERY_NUMBER)
    min_memory_gib: float | None = Field(None, ge=0, le=MAX_QUERY_NUMBER)
    gpu_model: Name | None = Field(None, description="a model (A10G) or a class")
    min_gpu_memory: float | None = Field(None, ge=0, le=MAX_QUERY_NUMBER)
    gpus: int | None = Field(None, ge=0, le=1_024, description="exact GPUs; 0 = CPU only")


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime | None = Field(None, description="default: a week before `end`")
    end: datetime | None = Field(None, description="default: now")
