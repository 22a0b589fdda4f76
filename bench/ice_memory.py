"""How long a failed launch says something: fit selector/capacity.py's ICE memory on real probes.

Run with ``.venv/bin/python bench/ice_memory.py [--data-dir ../shared/data]``. Offline, a second.

Data: the SkyPilot 1-node launch-probe traces (spot-availability-traces/skypilot-spot-traces/
availability/1-node, 17 pools, 2022-10 and 2023-02; a 0 is a probe that got no instance, i.e.
an insufficient-capacity error). For each lag d: the excess failure probability after a failure,
P(fail at t + d | fail at t) - P(fail at t + d), pooled over traces (each trace against its own
base rate, so pools that fail often do not pass for memory). That excess is what an ICE tells
about the next launch in the same pool, and how it fades is what the penalty should do:

- ICE_HALF_LIFE_HOURS: the half-life of a least-squares exponential fit of the excess over lags
  up to FIT_HORIZON_HOURS;
- ICE_TTL_HOURS: where the excess has fallen to the long-lag floor (the mean excess at lags
  FLOOR_LAGS_HOURS, a day and more: daily cycles, not the failure). Errors older than the TTL
  are dropped: the reader's window (core/pool_reader.py) and the selector's decay both use it.

It prints the table and the fit, and exits 2 when the constants in selector/capacity.py fall
outside the fit's tolerance.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Final

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.traces import DEFAULT_DATA_DIR, load_skypilot_traces  # noqa: E402
from selector import capacity  # noqa: E402

LAGS_HOURS: Final = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 10, 12, 16, 24, 36, 48)
FIT_HORIZON_HOURS: Final = 12.0
FLOOR_LAGS_HOURS: Final = (24, 36, 48)
# A constant within this factor of its fit passes (the fit moves with the lags chosen).
TOLERANCE: Final = 1.5


def excess_by_lag(data_dir: Path) -> dict[float, float]:
    """Lag (h) -> excess failure probability after a failure, pooled over the 1-node probes."""
    traces = load_skypilot_traces(data_dir, kind="availability", nodes=1)
    sums = {lag: [0.0, 0.0] for lag in LAGS_HOURS}
    for trace in traces:
        fail = np.asarray(trace.values) == 0
        for lag in LAGS_HOURS:
            k = round(lag * 3600 / trace.gap_seconds)
            if not 1 <= k < fail.size:
                continue
            before, after = fail[:-k], fail[k:]
            sums[lag][0] += float((before & after).sum() - before.sum() * after.mean())
            sums[lag][1] += float(before.sum())
    return {lag: s / n for lag, (s, n) in sums.items() if n > 0}


def fit(excess: dict[float, float]) -> tuple[float, float, float]:
    """(half-life h, floor, TTL h) from the excess table (see the module docstring)."""
    lags = np.array([lag for lag in excess if lag <= FIT_HORIZON_HOURS])
    values = np.array([excess[lag] for lag in lags])
    slope, _ = np.polyfit(lags, np.log(values), 1)
    half_life = math.log(2) / -slope
    floor = float(np.mean([excess[lag] for lag in FLOOR_LAGS_HOURS if lag in excess]))
    ttl = min((lag for lag in sorted(excess) if excess[lag] <= floor), default=math.inf)
    return half_life, floor, ttl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    excess = excess_by_lag(args.data_dir)
    print("lag h   excess P(fail | failed lag ago) over the trace's base rate")
    for lag, value in excess.items():
        print(f"{lag:>5g}   {value:+.3f}")
    half_life, floor, ttl = fit(excess)
    print(f"\nfit over lags <= {FIT_HORIZON_HOURS:g} h: half-life {half_life:.1f} h")
    print(f"floor (mean excess at {', '.join(f'{x:g}' for x in FLOOR_LAGS_HOURS)} h): {floor:+.3f}")
    print(f"first lag at or below the floor: {ttl:g} h")
    print(
        f"\nselector/capacity.py: ICE_HALF_LIFE_HOURS = {capacity.ICE_HALF_LIFE_HOURS:g}, "
        f"ICE_TTL_HOURS = {capacity.ICE_TTL_HOURS:g}"
    )
    failed = []
    if not half_life / TOLERANCE <= capacity.ICE_HALF_LIFE_HOURS <= half_life * TOLERANCE:
        failed.append("ICE_HALF_LIFE_HOURS")
    if not ttl / TOLERANCE <= capacity.ICE_TTL_HOURS <= ttl * TOLERANCE:
        failed.append("ICE_TTL_HOURS")
    if failed:
        print(f"drifted from the fit (beyond ×{TOLERANCE:g}): {', '.join(failed)}")
        return 2
    print(f"both within ×{TOLERANCE:g} of the fit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
