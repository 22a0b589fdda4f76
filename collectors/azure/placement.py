"""Azure Spot Placement Scores and the planner that keeps them within a small budget.

``RecommenderMgmtClient.spot_placement_scores.post`` scores up to 8 regions × 5 VM sizes a call
(learn.microsoft.com/azure/virtual-machines/spot-placement-score) for a desired count of Spot
VMs, per zone when asked zonally: High / Medium / Low, or DataNotFoundOrStale /
RestrictedSkuNotAvailable, plus whether the subscription's quota covers the count.

A target is one (region, Spot-capable size). The planner packs the least recently scored
targets into calls (a call's regions × sizes cover as many pending targets as they can), at most
:data:`MAX_PLACEMENT_CALLS_PER_RUN` a run and :data:`MAX_PLACEMENT_CALLS_PER_DAY` a rolling day
(spent calls are estimated from the stored rows, as the AWS planner estimates its quota), so
every target gets its turn over the days.

Rows land in ``placement_scores`` (source :data:`SOURCE`): zonal where the answer names a zone
(``"<region>-<n>"``, the store's Azure zone form), else regional; ``raw`` is the level string
as Azure sent it and ``score`` its normalised value (``selector.capacity.AZURE_PLACEMENT``:
DataNotFoundOrStale is stored with a NULL score, read as missing; RestrictedSkuNotAvailable as
no capacity). ``isQuotaAvailable`` has no column: a quota shortfall is reported in
:attr:`PlacementResult.quota_short` for the source to log, and not folded into the score (quota
is the subscription's limit, which its owner can raise, not the region's capacity).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors.parsing import refuses_malformed
from core.errors import CredentialsError, SourceDataError
from core.limits import check_rows, row_problem, shorten
from core.runs import RegionError
from core.score_history import last_scored
from core.tables import REGIONAL_ZONE, PlacementScore
from selector import SignalError, normalise_placement

__all__ = [
    "DESIRED_COUNT",
    "MAX_PLACEMENT_CALLS_PER_DAY",
    "MAX_PLACEMENT_CALLS_PER_RUN",
    "MAX_REGIONS_PER_CALL",
    "MAX_SIZES_PER_CALL",
    "MIN_RESCORE_AGE",
    "SOURCE",
    "PlacementBatch",
    "PlacementResult",
    "PlacementTarget",
    "collect_placement",
    "parse_placement",
    "placement_budget",
    "placement_calls_spent",
    "placement_history",
    "placement_targets",
    "plan_placement",
]

SOURCE: Final = "azure-placement"
# The API's documented request limits: up to eight regions and five VM sizes a call.
MAX_REGIONS_PER_CALL: Final = 8
MAX_SIZES_PER_CALL: Final = 5
# Azure documents no daily quota, only that the API draws on the subscription's ARM read
# quota and answers 429 at a rate limit; Microsoft's own MCP tool for it states "4 calls per
# 60 minutes per subscription" (microsoft/mcp#2553). A run spends at most one hour's allowance,
# so it never throttles itself, ...
MAX_PLACEMENT_CALLS_PER_RUN: Final = 4
# ... and a day at most a quarter of that rate's 96, leaving the subscription's owner room for
# their own portal and CLI scores. 24 calls cover up to 960 (region, size) targets a day.
MAX_PLACEMENT_CALLS_PER_DAY: Final = 24
# The window the daily budget counts.
BUDGET_WINDOW: Final = timedelta(hours=24)
# Microsoft suggests caching a score for 15-30 minutes: within that a new call tells nothing new.
MIN_RESCORE_AGE: Final = timedelta(minutes=30)
# How far back the planner looks for "when was this target last scored" (rotation).
HISTORY_WINDOW: Final = timedelta(days=30)
# The pool question is "can I get one of these now": scores for one VM, as for AWS and GCP.
DESIRED_COUNT: Final = 1
_ROLE_HINT: Final = (
    "the identity needs the Compute Recommendations Role "
    "(Microsoft.Compute/locations/placementScores/generate/action)"
)


@dataclass(frozen=True, order=True, slots=True)
class PlacementTarget:
    """One (region, VM size) to score."""

    region: str
    size: str


@dataclass(frozen=True, slots=True)
class PlacementBatch:
    """One call: its regions × sizes, and the targets among them (pairs actually offered)."""

    regions: tuple[str, ...]
    sizes: tuple[str, ...]
    targets: tuple[PlacementTarget, ...]

    @property
    def location(self) -> str:
        """The region the call is addressed to (any region will do; the first asked)."""
        return self.regions[0]


@dataclass(frozen=True)
class PlacementResult:
    """A run's scores, the calls made, the run error if any, and the (region, zone, size)
    placements whose quota Azure said does not cover :data:`DESIRED_COUNT`."""

    rows: list[dict[str, Any]]
    calls: int
    error: RegionError | None
    quota_short: list[tuple[str, str, str]] = field(default_factory=list)


def placement_targets(offered: Mapping[str, Collection[str]]) -> list[PlacementTarget]:
    """A target per (region, Spot-capable size) in ``offered`` (region → sizes), sorted."""
    return sorted(
        {
            PlacementTarget(region.strip().lower(), size.strip())
            for region, sizes in offered.items()
            for size in sizes
            if region.strip() and size.strip()
        }
    )


def placement_history(engine: Engine | None, *, now: datetime) -> dict[tuple[str, str], datetime]:
    """(region, size) → when it was last scored (newest stored row, any zone)."""
    return last_scored(engine, cloud="azure", source=SOURCE, since=now - HISTORY_WINDOW)


def placement_calls_spent(engine: Engine | None, *, now: datetime) -> int:
    """Calls spent in the last :data:`BUDGET_WINDOW`, estimated from stored rows.

    The store keeps scores, not calls: each run (one ``observed_at``) is counted as the fewest
    calls that could have scored its (region, size) pairs, a lower bound that the packing
    planner keeps close (its calls are full but for the last).
    """
    if engine is None:
        return 0
    pairs = PlacementScore.region + "/" + PlacementScore.instance_types
    stmt = (
        select(PlacementScore.observed_at, func.count(func.distinct(pairs)))
        .where(
            PlacementScore.cloud == "azure",
            PlacementScore.source == SOURCE,
            PlacementScore.observed_at > now - BUDGET_WINDOW,
        )
        .group_by(PlacementScore.observed_at)
    )
    per_call = MAX_REGIONS_PER_CALL * MAX_SIZES_PER_CALL
    with Session(engine) as session:
        return sum(math.ceil(int(n) / per_call) for _, n in session.execute(stmt))


def placement_budget(
    spent: int,
    *,
    per_run: int = MAX_PLACEMENT_CALLS_PER_RUN,
    per_day: int = MAX_PLACEMENT_CALLS_PER_DAY,
) -> int:
    """Calls this run may make: the per-run cap, or what the day has left if less."""
    return max(min(per_run, per_day - spent), 0)


def plan_placement(
    targets: Sequence[PlacementTarget],
    *,
    history: Mapping[tuple[str, str], datetime],
    limit: int,
    now: datetime | None = None,
) -> list[PlacementBatch]:
    """At most ``limit`` calls covering the least recently scored targets first.

    Each call starts from the stalest pending target: its region's next stalest sizes (up to
    5), then every other region (up to 8, stalest first) offering one of those sizes. Targets
    scored less than :data:`MIN_RESCORE_AGE` before ``now`` are not asked again.
    """

    def age_key(t: PlacementTarget) -> tuple[bool, float, PlacementTarget]:
        seen = history.get((t.region, t.size))
        return (seen is not None, seen.timestamp() if seen else 0.0, t)

    pending = sorted(set(targets), key=age_key)
    if now is not None:
        fresh_after = now - MIN_RESCORE_AGE
        pending = [
            t
            for t in pending
            if (seen := history.get((t.region, t.size))) is None or seen <= fresh_after
        ]
    batches: list[PlacementBatch] = []
    while pending and len(batches) < limit:
        seed = pending[0]
        sizes: list[str] = []
        for t in pending:
            if t.region == seed.region and t.size not in sizes:
                sizes.append(t.size)
                if len(sizes) == MAX_SIZES_PER_CALL:
                    break
        regions = [seed.region]
        for t in pending:
            if len(regions) == MAX_REGIONS_PER_CALL:
                break
            if t.size in sizes and t.region not in regions:
                regions.append(t.region)
        covered = [t for t in pending if t.region in regions and t.size in sizes]
        batches.append(PlacementBatch(tuple(regions), tuple(sizes), tuple(sorted(covered))))
        taken = set(covered)
        pending = [t for t in pending if t not in taken]
    return batches


def _zone_id(region: str, zone: str) -> str:
    # The store's Azure zone form (collectors/azure/skus.py): logical zone "1" of eastus is
    # "eastus-1", AKS's topology.kubernetes.io/zone label.
    return f"{region}-{zone}"


@refuses_malformed("Spot Placement Scores answer")
def parse_placement(
    answer: Mapping[str, Any],
    *,
    batch: PlacementBatch,
    observed_at: datetime,
    desired_count: int = DESIRED_COUNT,
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    """An answer (REST JSON keys) → ``placement_scores`` rows for the batch's targets, and the
    (region, zone, size) placements without quota. Scores for pairs outside the targets (sizes
    not offered in that region) are left out; a level the selector cannot read is malformed."""
    # The answer may spell a size differently from the request: match case-insensitively.
    wanted = {(t.region, t.size.lower()): t for t in batch.targets}
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    short: list[tuple[str, str, str]] = []
    where = f"{'+'.join(batch.regions)} spot placement scores"
    for record in answer["placementScores"] or ():
        size = str(record["sku"]).strip()
        region = str(record["region"]).strip().lower()
        raw = record["score"]
        if not isinstance(raw, str):
            raise TypeError(f"score {shorten(raw)} is not a string")
        zone = record.get("availabilityZone")
        zone_id = _zone_id(region, str(zone).strip()) if zone else REGIONAL_ZONE
        target = wanted.get((region, size.lower()))
        if target is None:
            continue
        row: dict[str, Any] = {
            "cloud": "azure",
            "region": region,
            "zone_id": zone_id,
            "instance_types": target.size,
            "target_capacity": desired_count,
            "observed_at": observed_at,
            "raw": raw.strip(),
            "source": SOURCE,
        }
        problem = row_problem("placement_scores", row)
        if problem is not None:
            raise SourceDataError(f"{where}: placement_scores.{problem}")
        try:
            row["score"] = normalise_placement("azure", raw)
        except SignalError as exc:
            raise SourceDataError(f"malformed Spot Placement Scores answer: {exc}") from exc
        rows[(region, zone_id, target.size)] = row
        if record.get("isQuotaAvailable") is False:
            short.append((region, zone_id, target.size))
    out = list(rows.values())
    check_rows("placement_scores", out, where=where)
    return out, short


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return shorten(text.splitlines()[0]) if text else type(exc).__name__


def _as_json(answer: Any) -> Mapping[str, Any]:
    as_dict = getattr(answer, "as_dict", None)
    out: Mapping[str, Any] = as_dict() if callable(as_dict) else answer
    return out


def collect_placement(
    client: Any,
    *,
    subscription: str,
    batches: Sequence[PlacementBatch],
    observed_at: datetime,
    desired_count: int = DESIRED_COUNT,
) -> PlacementResult:
    """Ask each batch (``client``: a ``RecommenderMgmtClient`` for ``subscription``).

    Scores are an extra signal: a refusal (401/403: the role is missing) or throttling left
    over after the SDK's retries ends the asking, any other failure skips its batch; either
    is one run error on region ``"*"`` and the rows gathered so far are kept. No credential
    at all raises :class:`CredentialsError`; a malformed answer raises
    :class:`SourceDataError` (the run is refused).
    """
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
    from azure.mgmt.computerecommender.models import ResourceSize, SpotPlacementScoresInput

    rows: list[dict[str, Any]] = []
    short: list[tuple[str, str, str]] = []
    calls = 0
    failures: list[tuple[PlacementBatch, BaseException]] = []
    stopped: BaseException | None = None
    for batch in batches:
        request = SpotPlacementScoresInput(
            desired_locations=list(batch.regions),
            desired_sizes=[ResourceSize(sku=size) for size in batch.sizes],
            desired_count=desired_count,
            availability_zones=True,
        )
        calls += 1
        try:
            answer = client.spot_placement_scores.post(batch.location, request)
        except ClientAuthenticationError as exc:
            if getattr(exc, "response", None) is None:  # no credential could be had at all
                raise CredentialsError(
                    f"no Azure credentials for Spot Placement Scores ({_one_line(exc)})"
                ) from exc
            stopped = exc
            break
        except HttpResponseError as exc:
            if _status(exc) in (401, 403, 429):
                stopped = exc
                break
            failures.append((batch, exc))
            continue
        except AzureError as exc:  # connection / timeout after the retries
            failures.append((batch, exc))
            continue
        got, quota = parse_placement(
            _as_json(answer), batch=batch, observed_at=observed_at, desired_count=desired_count
        )
        rows.extend(got)
        short.extend(quota)
    return PlacementResult(rows, calls, _run_error(subscription, stopped, failures, batches), short)


def _run_error(
    subscription: str,
    stopped: BaseException | None,
    failures: Sequence[tuple[PlacementBatch, BaseException]],
    batches: Sequence[PlacementBatch],
) -> RegionError | None:
    if stopped is not None:
        status = _status(stopped)
        why = _ROLE_HINT if status in (401, 403) else "throttled; the rest waits for the next run"
        return RegionError(
            "*",
            type(stopped).__name__,
            f"Azure Spot Placement Scores stopped for subscription {shorten(subscription)} "
            f"(HTTP {status}: {_one_line(stopped)}); {why}; prices and sizes kept",
        )
    if failures:
        first, cause = failures[0]
        return RegionError(
            "*",
            type(cause).__name__,
            f"Azure Spot Placement Scores failed for {len(failures)} of {len(batches)} call(s); "
            f"first {'+'.join(first.regions)}: {_one_line(cause)}",
        )
    return None
