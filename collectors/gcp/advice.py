"""Compute Engine capacity advice: Spot obtainability and preemption history per machine type.

``AdviceClient.capacity`` (``POST …/regions/{region}/advice/capacity``) scores how likely a Spot
VM of one type is obtained now, per zone; ``AdviceClient.capacity_history``
(``POST …/regions/{region}/advice/capacityHistory``) gives the fraction of the region's Spot VMs
of that type that were preempted, per interval. Both answer one machine type per call here, so
every score belongs to exactly one type; a run asks about at most ``limit`` calls' worth of
(region, type) targets, never-asked targets first, then the longest unasked.

Obtainability lands in ``placement_scores`` (zonal where a recommendation sits in one zone), the
preempted fraction over :data:`HISTORY_WINDOW` in ``interruption_rates`` with source
:data:`HISTORY_SOURCE`. Advice is an extra signal: the source records a refusal as a run error
and keeps every price and type it fetched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from collectors.gcp.inventory import Inventory
from collectors.parsing import refuses_malformed
from core.clock import parse_utc
from core.errors import SourceDataError
from core.limits import check_rows, row_problem, shorten
from core.runs import RegionError
from core.score_history import last_scored
from core.tables import REGIONAL_ZONE
from selector import SignalError, normalise_placement

__all__ = [
    "ACCESS_ERRORS",
    "CALLS_PER_TARGET",
    "HISTORY_SOURCE",
    "HISTORY_WINDOW",
    "MAX_ADVICE_CALLS_PER_RUN",
    "SOURCE",
    "TARGET_CAPACITY",
    "AdviceResult",
    "AdviceTarget",
    "advice_history",
    "advice_targets",
    "collect_advice",
    "fetch_capacity",
    "fetch_capacity_history",
    "parse_capacity",
    "parse_capacity_history",
    "plan_advice",
]

SOURCE = "gcp"
# The interruption kind selector/hazard.py converts as a preempted fraction.
HISTORY_SOURCE = "gcp-capacity-history"
# Calls per run (capacity + capacityHistory, 2 per target): 40 calls cover 20 (region, type)
# pairs a run, so a catalog of a few hundred priced Spot types rotates through in about two
# weeks of daily runs while a run stays well inside Compute Engine's per-minute read quota.
MAX_ADVICE_CALLS_PER_RUN = 40
CALLS_PER_TARGET = 2
# Advice is asked for one VM: the pool question "can I get one of these now".
TARGET_CAPACITY = 1
# capacityHistory answers a trailing 30 days (the window selector/hazard.py assumes).
HISTORY_WINDOW = timedelta(days=30)
# The hazard conversion takes a fraction in [0, 1); "every stopped Spot VM was preempted" (1.0)
# is kept as the largest fraction it accepts.
MAX_PREEMPTION_FRACTION = 0.999
# How far back the planner looks for "when was this target last asked" (rotation).
PLAN_LOOKBACK = timedelta(days=60)
# google.api_core exception names meaning "this project may not ask" (403 incl. API not
# enabled, 401) or "the API is not offered here" (404, 501 / UNIMPLEMENTED): no retry helps.
ACCESS_ERRORS = (
    "Forbidden",
    "PermissionDenied",
    "Unauthorized",
    "Unauthenticated",
    "NotFound",
    "MethodNotImplemented",
)
# The selection's name in a request: any RFC 1035 label will do (type names may hold a "+").
_SELECTION = "spot"
_SPOT = "SPOT"


@dataclass(frozen=True, order=True, slots=True)
class AdviceTarget:
    """One (region, type) to ask about: the real machine type, its GPU, its zones there."""

    region: str
    instance_type: str
    machine: str
    gpu_type: str | None
    zones: tuple[str, ...]


def advice_targets(
    inventory: Inventory, spot_types: Mapping[str, Iterable[str]]
) -> list[AdviceTarget]:
    """A target per Spot-priced type of each region (``spot_types``: region → type names)."""
    targets = []
    for region, names in sorted(spot_types.items()):
        for name in sorted(set(names)):
            mt = inventory.machines.get(name)
            zones = tuple(
                sorted(z for z in inventory.zones.get(name, ()) if z.startswith(region + "-"))
            )
            if mt is None or not zones:
                continue
            targets.append(AdviceTarget(region, name, mt.machine, mt.gpu_type, zones))
    return targets


def advice_history(engine: Engine | None, *, now: datetime) -> dict[tuple[str, str], datetime]:
    """(region, type) → when its obtainability was last stored (from ``placement_scores``)."""
    return last_scored(engine, cloud="gcp", source=SOURCE, since=now - PLAN_LOOKBACK)


def plan_advice(
    targets: Sequence[AdviceTarget],
    *,
    history: Mapping[tuple[str, str], datetime],
    limit: int = MAX_ADVICE_CALLS_PER_RUN,
) -> list[AdviceTarget]:
    """The targets this run asks about: never-asked first, then the stalest, ``limit`` calls."""

    def key(t: AdviceTarget) -> tuple[bool, float, AdviceTarget]:
        seen = history.get((t.region, t.instance_type))
        return (seen is not None, seen.timestamp() if seen else 0.0, t)

    return sorted(targets, key=key)[: max(limit, 0) // CALLS_PER_TARGET]


def _attached(target: AdviceTarget) -> list[dict[str, Any]]:
    if target.gpu_type is None or target.machine == target.instance_type:
        return []  # no GPU, or bundled with the machine type
    return [{"accelerator_type": target.gpu_type, "accelerator_count": 1}]


def _as_dict(message: Any) -> dict[str, Any]:
    out: dict[str, Any] = type(message).to_dict(message, preserving_proto_field_name=False)
    return out


def fetch_capacity(
    client: Any, *, project: str, target: AdviceTarget, retry: Any
) -> dict[str, Any]:
    """``advice.capacity`` for one Spot VM of the target's type in any one of its zones."""
    selection: dict[str, Any] = {"machine_types": [target.machine]}
    if gpus := _attached(target):
        selection["guest_accelerators"] = gpus
    request = {
        "project": project,
        "region": target.region,
        "capacity_advice_request_resource": {
            "size": TARGET_CAPACITY,
            "instance_properties": {"scheduling": {"provisioning_model": _SPOT}},
            "instance_flexibility_policy": {"instance_selections": {_SELECTION: selection}},
            "distribution_policy": {
                "target_shape": "ANY_SINGLE_ZONE",
                "zones": [{"zone": f"zones/{zone}"} for zone in target.zones],
            },
        },
    }
    return _as_dict(client.capacity(request=request, retry=retry))


def fetch_capacity_history(
    client: Any, *, project: str, target: AdviceTarget, retry: Any
) -> dict[str, Any]:
    """``advice.capacityHistory`` (preemptions) of the target's type across its region."""
    properties: dict[str, Any] = {
        "machine_type": target.machine,
        "scheduling": {"provisioning_model": _SPOT},
    }
    if gpus := _attached(target):
        properties["guest_accelerators"] = gpus
    request = {
        "project": project,
        "region": target.region,
        "capacity_history_request_resource": {
            "instance_properties": properties,
            "location_policy": {"location": f"regions/{target.region}"},
            "types": ["PREEMPTION"],
        },
    }
    return _as_dict(client.capacity_history(request=request, retry=retry))


def _zone_of(value: Any) -> str:
    return str(value).rstrip("/").rsplit("/", 1)[-1]


@refuses_malformed("advice.capacity response")
def parse_capacity(
    response: Mapping[str, Any], *, target: AdviceTarget, observed_at: datetime
) -> list[dict[str, Any]]:
    """Recommendations → ``placement_scores`` rows: zonal for a one-zone recommendation, else
    regional; the first (best) recommendation per zone wins."""
    rows: dict[str, dict[str, Any]] = {}
    where = f"{target.region} {target.instance_type} capacity advice"
    for rec in response.get("recommendations") or ():
        raw = rec["scores"]["obtainability"]
        zones = {_zone_of(shard["zone"]) for shard in rec.get("shards") or ()}
        zone = zones.pop() if len(zones) == 1 else REGIONAL_ZONE
        if zone != REGIONAL_ZONE and zone not in target.zones:
            raise ValueError(f"zone {zone} is not one asked about")
        if zone in rows:
            continue
        row: dict[str, Any] = {
            "cloud": "gcp",
            "region": target.region,
            "zone_id": zone,
            "instance_types": target.instance_type,
            "target_capacity": TARGET_CAPACITY,
            "observed_at": observed_at,
            "raw": str(raw),
            "source": SOURCE,
        }
        problem = row_problem("placement_scores", row)
        if problem is not None:
            raise SourceDataError(f"{where}: placement_scores.{problem}")
        try:
            row["score"] = normalise_placement("gcp", float(raw))
        except SignalError as exc:  # the advisor's answer broke its own documented range
            raise SourceDataError(f"{where}: {exc}") from exc
        rows[zone] = row
    out = list(rows.values())
    check_rows("placement_scores", out, where=where)
    return out


@refuses_malformed("advice.capacityHistory response")
def parse_capacity_history(
    response: Mapping[str, Any], *, target: AdviceTarget, observed_at: datetime
) -> list[dict[str, Any]]:
    """Preemption records → one ``interruption_rates`` row: the time-weighted preempted
    fraction over the intervals that end within :data:`HISTORY_WINDOW`; none if there are none."""
    since = observed_at - HISTORY_WINDOW
    weighted = hours = 0.0
    for record in response.get("preemptionHistory") or ():
        rate = float(record["preemptionRate"])
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"preemption rate {rate} is outside [0, 1]")
        start = parse_utc(record["interval"]["startTime"])
        end = parse_utc(record["interval"]["endTime"])
        if start is None or end is None or end <= start:
            raise ValueError("an interval without a positive duration")
        if end <= since:
            continue
        span = (end - max(start, since)).total_seconds() / 3600.0
        weighted += rate * span
        hours += span
    if hours == 0.0:
        return []
    location = _zone_of(response.get("location") or target.region)
    row = {
        "cloud": "gcp",
        "region": target.region,
        "zone_id": location if location in target.zones else REGIONAL_ZONE,
        "instance_type": target.instance_type,
        "source": HISTORY_SOURCE,
        "observed_at": observed_at,
        "bucket": None,
        "label": None,
        "rate": min(weighted / hours, MAX_PREEMPTION_FRACTION),
        "savings_pct": None,
    }
    check_rows("interruption_rates", [row], where=f"{target.region} capacity history")
    return [row]


@dataclass(frozen=True)
class AdviceResult:
    """A run's advice: its rows, how many calls it made, and why any went unanswered."""

    placement: list[dict[str, Any]]
    interruptions: list[dict[str, Any]]
    calls: int
    error: RegionError | None


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return shorten(text.splitlines()[0] if text else type(exc).__name__)


def collect_advice(
    client: Any,
    *,
    project: str,
    retry: Any,
    targets: Sequence[AdviceTarget],
    observed_at: datetime,
) -> AdviceResult:
    """Ask about each target (capacity, then history); never raises for an API's answer.

    A refusal or absence (:data:`ACCESS_ERRORS`) is project-wide, so the first one ends the
    asking; any other failure skips that target. Either is summed up in one run error whose
    region is ``"*"``: the regions' prices and types are kept.
    """
    from google.api_core import exceptions

    access = tuple(getattr(exceptions, name) for name in ACCESS_ERRORS)
    placement: list[dict[str, Any]] = []
    interruptions: list[dict[str, Any]] = []
    calls = 0
    failures: list[tuple[AdviceTarget, BaseException]] = []
    refused: BaseException | None = None
    for target in targets:
        try:
            calls += 1
            answer = fetch_capacity(client, project=project, target=target, retry=retry)
            placement.extend(parse_capacity(answer, target=target, observed_at=observed_at))
            calls += 1
            answer = fetch_capacity_history(client, project=project, target=target, retry=retry)
            interruptions.extend(
                parse_capacity_history(answer, target=target, observed_at=observed_at)
            )
        except access as exc:
            refused = exc
            break
        except (exceptions.GoogleAPIError, OSError, SourceDataError) as exc:
            failures.append((target, exc))
    error = None
    if refused is not None:
        error = RegionError(
            "*",
            type(refused).__name__,
            f"GCP capacity advice unavailable ({type(refused).__name__}: {_one_line(refused)}); "
            "the credentials need the Compute Engine advice methods (compute.advice.*, e.g. "
            "roles/compute.viewer); prices and types kept",
        )
    elif failures:
        first, cause = failures[0]
        error = RegionError(
            "*",
            type(cause).__name__,
            f"GCP capacity advice failed for {len(failures)} of {len(targets)} type(s); first "
            f"{first.region} {first.instance_type}: {_one_line(cause)}",
        )
    return AdviceResult(placement, interruptions, calls, error)
