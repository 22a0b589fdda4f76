"""Loaders for the real spot traces and advisor snapshots in ../shared/data (never copied here).

Public API (used by bench/calibrate.py and free for any other bench):

- `Trace`: one SkyPilot trace ("Can't Be Late", NSDI'24) or raw SkyPilot probe series, with its
  cloud, region, zone, instance type, node count, tick gap and values (instances up per tick).
  `instance_hours`, `losses` (sum of drops in the count: a 1→0 in a 1-node preemption trace is
  a preemption) and `up_share` are computed from the values.
- `load_skypilot_traces(data_dir, kind=..., nodes=...)`: the `skypilot-spot-traces` JSON files.
- `load_raw_probes(data_dir)`: the timestamped `skypilot-spot-strategy-raw` launch probes
  (values are 1 - fail, so 1 = capacity was there, like the JSON traces).
- `load_advisor(data_dir, date)`: an AWS Spot Advisor snapshot as {(region, type): bucket label}
  for Linux, plus `ADVISOR_DATES` (the two snapshots present).
- `load_spotlake_buckets(data_dir)`: the same labels from SpotLake's 2022-07-12 snapshot (its
  `IF` column re-encodes the advisor bucket per AZ; one label per region and type), a third date
  between the two advisor snapshots (`SPOTLAKE_DATE`).

Instance types follow SOURCE.md: v100_1 = p3.2xlarge, v100_8 = p3.16xlarge, k80_1 = p2.xlarge,
k80_8 = p2.8xlarge (the collection script, not the README), intel_64 = r5.16xlarge,
c3-88 = GCP c3-highcpu-88. A multi-node trace counts instances of the per-node type.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ADVISOR_DATES",
    "DEFAULT_DATA_DIR",
    "INSTANCE_TYPES",
    "SPOTLAKE_DATE",
    "Trace",
    "TraceDataError",
    "load_advisor",
    "load_raw_probes",
    "load_skypilot_traces",
    "load_spotlake_buckets",
    "losses",
    "region_of",
]

IntArray = npt.NDArray[np.int64]

# The repo sits beside ../shared; benches and tests read the data from there.
DEFAULT_DATA_DIR: Final = Path(__file__).resolve().parents[2] / "shared" / "data"
TRACES_DIR: Final = Path("spot-availability-traces")
SKYPILOT_DIR: Final = TRACES_DIR / "skypilot-spot-traces"
RAW_DIR: Final = TRACES_DIR / "skypilot-spot-strategy-raw"
ADVISOR_DIR: Final = Path("aws-spot-advisor")
ADVISOR_DATES: Final = ("2021-02-10", "2025-06-28")
SPOTLAKE_FILE: Final = Path("spotlake") / "aws_price_sps_if_2022-07-12.csv"
SPOTLAKE_DATE: Final = "2022-07-12"  # every row's `time` is 2022-07-12 04:20:02 UTC
# SpotLake's collector encodes the advisor bucket as IF (spotlake SOURCE.md): higher = calmer.
SPOTLAKE_IF_LABELS: Final[dict[float, str]] = {
    3.0: "<5%",
    2.5: "5-10%",
    2.0: "10-15%",
    1.5: "15-20%",
    1.0: ">20%",
}

# SOURCE.md of spot-availability-traces: file-name suffix -> instance type.
INSTANCE_TYPES: Final[dict[str, str]] = {
    "v100_1": "p3.2xlarge",
    "v100_8": "p3.16xlarge",
    "k80_1": "p2.xlarge",
    "k80_8": "p2.8xlarge",
    "intel_64": "r5.16xlarge",
    "c3-88": "c3-highcpu-88",
}

# AWS zone `us-east-1b`, GCP zone `us-central1-a`; then the type suffix.
_NAME = re.compile(r"^(?P<zone>[a-z]+-[a-z]+(?:-\d+[a-z]|\d+-[a-z]))_(?P<type>.+)$")
_DIR = re.compile(r"^(?P<cloud>aws|gcp)-(?P<m>\d\d)-(?P<d>\d\d)-(?P<y>\d{4})$")

Kind = Literal["availability", "preemption"]


class TraceDataError(ValueError):
    """A trace or advisor file is missing or not in the documented format."""


@dataclass(frozen=True, slots=True)
class Trace:
    """One series of "instances up" per tick (tick i is at i * gap_seconds from the start)."""

    kind: str  # "availability" (launch probes) or "preemption" (instances kept running)
    cloud: str
    region: str
    zone: str
    instance_type: str
    nodes: int  # target instance count of the experiment (1, 4 or 16)
    start: str  # ISO date of the trace's directory (no absolute tick timestamps)
    gap_seconds: float
    values: IntArray
    path: Path

    @property
    def name(self) -> str:
        """`<start>/<zone>_<instance_type>`: unique among the loaded traces."""
        return f"{self.start}/{self.zone}_{self.instance_type}"

    @property
    def hours(self) -> float:
        """Wall-clock length of the trace."""
        return float(self.values.size * self.gap_seconds / 3600.0)

    @property
    def instance_hours(self) -> float:
        """Instance-hours up: each tick's count held for one gap."""
        return float(self.values.sum() * self.gap_seconds / 3600.0)

    @property
    def losses(self) -> int:
        """Instances lost: the sum of every drop in the count between consecutive ticks."""
        return losses(self.values)

    @property
    def up_share(self) -> float:
        """Share of ticks with at least one instance up (launch success for probe traces)."""
        return float((self.values > 0).mean()) if self.values.size else 0.0


def losses(values: IntArray) -> int:
    """Sum of the drops between consecutive ticks (a 1→0 is one lost instance)."""
    step = np.diff(values.astype(np.int64))
    return int(-step[step < 0].sum())


def region_of(cloud: str, zone: str) -> str:
    """`us-east-1a` -> `us-east-1` (AWS), `us-central1-a` -> `us-central1` (GCP)."""
    if cloud == "gcp":
        return zone.rsplit("-", 1)[0]
    return zone[:-1]


def _check_dir(path: Path) -> Path:
    if not path.is_dir():
        raise TraceDataError(f"data directory not found: {path}")
    return path


def load_skypilot_traces(
    data_dir: Path = DEFAULT_DATA_DIR,
    *,
    kind: Kind | None = None,
    nodes: int | None = None,
) -> list[Trace]:
    """Every SkyPilot JSON trace (optionally one kind / node count), sorted by path."""
    root = _check_dir(data_dir / SKYPILOT_DIR)
    out: list[Trace] = []
    for path in sorted(root.glob("*/*-node/*/*.json")):
        trace_kind, node_dir, run_dir = path.parts[-4], path.parts[-3], path.parts[-2]
        n = int(node_dir.split("-")[0])
        if (kind is not None and trace_kind != kind) or (nodes is not None and n != nodes):
            continue
        out.append(_read_json_trace(path, trace_kind, n, run_dir))
    if not out:
        raise TraceDataError(f"no traces match kind={kind} nodes={nodes} under {root}")
    return out


def _read_json_trace(path: Path, kind: str, nodes: int, run_dir: str) -> Trace:
    run = _DIR.match(run_dir)
    name = _NAME.match(path.stem)
    if run is None or name is None or name["type"] not in INSTANCE_TYPES:
        raise TraceDataError(f"unexpected trace path: {path}")
    try:
        doc = json.loads(path.read_text())
        gap = float(doc["metadata"]["gap_seconds"])
        values = np.asarray(doc["data"], dtype=np.int64)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TraceDataError(f"{path}: not a SkyPilot trace ({exc})") from exc
    if gap <= 0 or values.ndim != 1 or (values < 0).any():
        raise TraceDataError(f"{path}: gap must be > 0 and values >= 0")
    cloud, zone = run["cloud"], name["zone"]
    return Trace(
        kind=kind,
        cloud=cloud,
        region=region_of(cloud, zone),
        zone=zone,
        instance_type=INSTANCE_TYPES[name["type"]],
        nodes=nodes,
        start=f"{run['y']}-{run['m']}-{run['d']}",
        gap_seconds=gap,
        values=values,
        path=path,
    )


def load_raw_probes(data_dir: Path = DEFAULT_DATA_DIR) -> list[Trace]:
    """The timestamped AWS launch probes (`tick,timestamp,fail`), as 1 = launch succeeded.

    `gap_seconds` is the median spacing of the probe timestamps (about 600 s).
    """
    root = _check_dir(data_dir / RAW_DIR)
    out: list[Trace] = []
    for path in sorted(root.glob("*/*.txt")):
        name = _NAME.match(path.stem)
        if name is None or name["type"] not in INSTANCE_TYPES:
            raise TraceDataError(f"unexpected probe file name: {path}")
        with path.open(newline="") as fh:
            rows = [r for r in csv.reader(fh) if r]
        try:
            stamps = np.array([datetime.fromisoformat(r[1]).timestamp() for r in rows])
            fail = np.array([int(r[2]) for r in rows], dtype=np.int64)
        except (IndexError, ValueError) as exc:
            raise TraceDataError(f"{path}: not a tick,timestamp,fail CSV ({exc})") from exc
        if stamps.size < 2 or not np.isin(fail, (0, 1)).all():
            raise TraceDataError(f"{path}: needs >= 2 rows with fail in {{0, 1}}")
        zone = name["zone"]
        out.append(
            Trace(
                kind="availability",
                cloud="aws",
                region=region_of("aws", zone),
                zone=zone,
                instance_type=INSTANCE_TYPES[name["type"]],
                nodes=1,
                start=path.parent.name[:10],
                gap_seconds=float(np.median(np.diff(stamps))),
                values=1 - fail,
                path=path,
            )
        )
    return out


def load_advisor(
    data_dir: Path = DEFAULT_DATA_DIR, date: str = ADVISOR_DATES[-1]
) -> dict[tuple[str, str], str]:
    """{(region, instance type): bucket label} of one advisor snapshot, Linux rows only."""
    path = _check_dir(data_dir / ADVISOR_DIR) / f"spot-advisor-data_{date}.json"
    try:
        doc = json.loads(path.read_text())
        labels = [r["label"] for r in sorted(doc["ranges"], key=lambda r: r["index"])]
        return {
            (region, itype): labels[int(entry["r"])]
            for region, by_os in doc["spot_advisor"].items()
            for itype, entry in by_os.get("Linux", {}).items()
        }
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise TraceDataError(f"{path}: not an advisor snapshot ({exc})") from exc


def load_spotlake_buckets(data_dir: Path = DEFAULT_DATA_DIR) -> dict[tuple[str, str], str]:
    """{(region, instance type): advisor bucket label} from SpotLake's 2022-07-12 snapshot.

    The advisor bucket is regional, so every AZ of a region must carry the same label.
    """
    path = data_dir / SPOTLAKE_FILE
    out: dict[tuple[str, str], str] = {}
    try:
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                key = (row["Region"], row["InstanceType"])
                label = SPOTLAKE_IF_LABELS[float(row["IF"])]
                if out.setdefault(key, label) != label:
                    raise TraceDataError(f"{path}: {key} has two buckets in one snapshot")
    except (OSError, ValueError, KeyError) as exc:
        raise TraceDataError(f"{path}: not a SpotLake price/SPS/IF snapshot ({exc})") from exc
    return out
