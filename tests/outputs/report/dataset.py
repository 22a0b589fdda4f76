"""A controlled week for the report tests, written through the store's own write paths.

Week 2026-W48 (Mon 23 Nov → Mon 30 Nov 2026), us-east-1, three GPU types in three zones:

- every pool has a spot price in force from before the week, confirmed at the week's end;
  ``g6.xlarge`` in ``use1-az2`` doubles mid-week (``DOUBLED``), the others move by ≤ 2 %;
- advisor buckets: ``g4dn.xlarge`` goes from "<5%" to ">20%" mid-week;
- fleet events: interruptions in one pool inside the week, one before it (not counted);
- NodeClaims of the profile's NodePools (through the fleet ingest): a spot node for the whole
  observed span and an on-demand fallback node alive ``FALLBACK_HOURS`` inside the week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine

from core.fleet_events import ingest_events
from core.runs import CollectionResult, TableRows
from core.store import persist_run
from core.weeks import IsoWeek
from outputs.profiles import parse_profile
from selector import PoolKey
from selector.outputs import OutputProfile

WEEK: Final = IsoWeek.parse("2026-W48")
START, END = WEEK.start, WEEK.end
MID: Final = START + timedelta(days=3, hours=12)
# The market as the week's last collection saw it: a run is placed by its data's time, so the
# market run (started at START + 1 h) stays inside the week, where the report counts it.
SEEN: Final = END - timedelta(hours=1)
REPORT_NOW: Final = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # the Monday after: week complete
REGION: Final = "us-east-1"
ZONES: Final = ("use1-az1", "use1-az2", "use1-az3")
# type -> (vcpus, memory GiB, GPU model, spot $/h, on-demand $/h)
TYPES: Final = {
    "g4dn.xlarge": (4, 16.0, "T4", 0.30, 0.526),
    "g5.xlarge": (4, 16.0, "A10G", 0.45, 1.006),
    "g6.xlarge": (4, 16.0, "L4", 0.40, 0.805),
}
DOUBLED: Final = PoolKey("aws", REGION, "use1-az2", "g6.xlarge")
INTERRUPTED: Final = PoolKey("aws", REGION, "use1-az1", "g4dn.xlarge")
# Where the profile's NodeClaims run (their labels).
SPOT_NODE_POOL: Final = PoolKey("aws", REGION, "use1-az1", "g5.xlarge")
FALLBACK_HOURS: Final = 12.0
FALLBACK_LAUNCH: Final = START + timedelta(days=2, hours=4)
PROFILE_NAME: Final = "trainer"


def profile() -> OutputProfile:
    return parse_profile(
        {
            "name": PROFILE_NAME,
            "requirements": {"gpus": 1, "regions": [REGION], "nodes": 4, "min_instance_types": 2},
        }
    )


def _run(source: str, rows: dict[str, list[dict[str, Any]]], at: datetime) -> CollectionResult:
    table_rows = TableRows()
    for table, items in rows.items():
        table_rows.add(table, items)
    return CollectionResult(
        source=source,
        started_at=at,
        finished_at=at + timedelta(seconds=5),
        regions=(REGION,),
        rows=table_rows,
        errors=(),
    )


def _market_rows(source: str) -> dict[str, list[dict[str, Any]]]:
    before = START - timedelta(days=1)
    pool = {"cloud": "aws", "region": REGION, "source": source}
    types, offerings, spot, on_demand, advisor, scores = [], [], [], [], [], []
    for name, (vcpus, mem, gpu, price, od) in TYPES.items():
        types.append({
            "cloud": "aws", "name": name, "family": name.split(".")[0], "generation": 5,
            "size": "xlarge", "vcpus": vcpus, "memory_gib": mem, "arch": "x86_64",
            "gpu_count": 1, "gpu_model": gpu, "gpu_memory_gib": 24.0, "accelerator_kind": "gpu",
            "network_gbps": 10.0, "local_storage_gib": None, "source": source,
            "observed_at": before,
        })  # fmt: skip
        on_demand.append({**pool, "instance_type": name, "os": "linux",
                          "price_usd_per_hour": od, "observed_at": before})  # fmt: skip
        for label, at in (("<5%", before), (">20%" if name == "g4dn.xlarge" else "<5%", MID)):
            advisor.append({**pool, "zone_id": "", "instance_type": name, "observed_at": at,
                            "bucket": None, "label": label, "rate": None,
                            "savings_pct": None})  # fmt: skip
        for n, zone in enumerate(ZONES):
            key = {**pool, "zone_id": zone, "instance_type": name}
            offerings.append({**key, "spot": True, "on_demand": True, "first_seen": before,
                              "last_seen": SEEN})  # fmt: skip
            base = price * (1 + 0.05 * n)
            spot.append({**key, "ts": before, "price_usd_per_hour": base, "observed_at": SEEN})
            later = base * 2 if PoolKey("aws", REGION, zone, name) == DOUBLED else base * 1.02
            spot.append({**key, "ts": MID, "price_usd_per_hour": later, "observed_at": SEEN})
            scores.append({**pool, "zone_id": zone, "instance_types": name,
                           "target_capacity": 4, "observed_at": before, "score": 0.8,
                           "raw": "8"})  # fmt: skip
    return {
        "instance_types": types, "offerings": offerings, "spot_prices": spot,
        "on_demand_prices": on_demand, "interruption_rates": advisor,
        "placement_scores": scores,
    }  # fmt: skip


def _fleet_rows(source: str) -> list[dict[str, Any]]:
    rows = []
    for n, at in enumerate([START - timedelta(days=2), START + timedelta(days=1)] + [MID] * 2):
        rows.append({
            "cloud": "aws", "region": REGION, "zone_id": INTERRUPTED.zone_id,
            "instance_type": INTERRUPTED.instance_type, "kind": "interruption",
            "occurred_at": at + timedelta(minutes=n), "instance_hours": None,
            "source": source, "external_id": f"test-int-{n}", "detail": None, "observed_at": at,
        })  # fmt: skip
    return rows


def nodeclaim(
    name: str, instance: str, *, capacity: str, launched: datetime, deleted: datetime | None
) -> dict[str, Any]:
    """A NodeClaim as `kubectl get nodeclaims -o json` shows it (the fields the ingest reads)."""
    meta: dict[str, Any] = {
        "name": name, "uid": f"uid-{instance}",
        "creationTimestamp": launched.isoformat().replace("+00:00", "Z"),
        "labels": {
            "node.kubernetes.io/instance-type": "g5.xlarge",
            "topology.kubernetes.io/zone": "us-east-1a", "topology.k8s.aws/zone-id": "use1-az1",
            "topology.kubernetes.io/region": REGION, "karpenter.sh/capacity-type": capacity,
        },
    }  # fmt: skip
    if deleted is not None:
        meta["deletionTimestamp"] = deleted.isoformat().replace("+00:00", "Z")
    return {
        "apiVersion": "karpenter.sh/v1", "kind": "NodeClaim", "metadata": meta,
        "status": {"providerID": f"aws:///us-east-1a/{instance}", "nodeName": f"ip-{instance}"},
    }  # fmt: skip


def load_week(engine: Engine, *, source: str = "test") -> None:
    """The whole controlled week: market rows, fleet events, and the profile's NodeClaims."""
    persist_run(engine, _run(source, _market_rows(source), START + timedelta(hours=1)))
    persist_run(engine, _run(source, {"fleet_events": _fleet_rows(source)}, MID))
    claims = [
        nodeclaim(f"{PROFILE_NAME}-spot-abcde", "i-0spot", capacity="spot",
                  launched=START - timedelta(days=1), deleted=None),
        nodeclaim(f"{PROFILE_NAME}-on-demand-fghij", "i-0ondemand", capacity="on-demand",
                  launched=FALLBACK_LAUNCH,
                  deleted=FALLBACK_LAUNCH + timedelta(hours=FALLBACK_HOURS)),
        # Another workload's node: not the profile's, not counted.
        nodeclaim("other-on-demand-zzzzz", "i-0other", capacity="on-demand",
                  launched=START, deleted=None),
    ]  # fmt: skip
    ingest_events(engine, claims, source="k8s", received_at=MID)
