"""Zone-level capacity signals calibrated on real data: the figures behind selector/capacity.py.

Run with ``.venv/bin/python bench/zone_signals.py [--reps N]``. It reads ../shared/data (never
copied into the repo) and prints:

1. SpotLake's joined AWS snapshot (2022-07-12; 18,198 (type, zone ID) rows with a single-type
   zonal placement score 1-3): mean score by the zone's price ratio to the median of its
   (region, type) zones, raw and within the type (the type's mean removed), the within-type
   rank correlation, and hinge fits ``c = type level - beta * max(ln ratio - ln t, 0)`` on
   c = score / 3 (what ``normalise_placement`` gives) with cluster-bootstrap 95 % intervals
   (types resampled whole). The chosen threshold and coefficient are printed last.
2. Interruption frequency (IF): whether it varies between zones of one type at all.
3. Out of sample: SpotLake's 2023-10 score means (us-east-1, us-west-2, ap-northeast-2).
4. Volatility: the DescribeSpotPriceHistory dump (2022-05-31, ~6 h) gives each zone's
   coefficient of variation; its within-type slope against the 2022-07-12 score.
5. The price tie band: relative size of the price changes in the dump and in the recorded
   month of m5.large prices (2021-01/02), the noise a "similar cost" band must absorb.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPOTLAKE = DATA / "spotlake" / "aws_price_sps_if_2022-07-12.csv"
SPS_2023 = DATA / "spotlake" / "spot-checker-sps-2023-10"
DUMP = DATA / "aws-spot-price-history" / "ericpauley_prices_2022-05.tsv.gz"
M5_MONTH = (
    DATA / "aws-spot-price-history" / "ec2-instance-selector_DescribeSpotPriceHistory_m5_large.json"
)
# Single-type zonal scores top out at 3 (selector/capacity.py AWS_SMALL_SET_SCORE_MAX).
SPS_TOP = 3.0
# Hinge thresholds tried: premiums below the threshold are treated as noise.
THRESHOLDS = (1.0, 1.1, 1.25, 1.5)
RATIO_BINS = (0.0, 0.8, 0.9, 0.97, 0.995, 1.005, 1.03, 1.1, 1.25, 1.5, 2.0, math.inf)
SEED = 20220712

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# --- fit functions (pure; tests/bench/test_zone_signals.py checks them on known answers) ---


def group_codes(keys: Sequence[object]) -> IntArray:
    """Dense integer code per distinct key, in order of first appearance."""
    table: dict[object, int] = {}
    return np.array([table.setdefault(k, len(table)) for k in keys], dtype=np.int64)


def ratio_to_group_median(prices: FloatArray, groups: IntArray) -> FloatArray:
    """Each price over the median price of its group; NaN where the group has one member."""
    out = np.full(prices.size, math.nan)
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for members in np.split(order, bounds):
        if members.size > 1:
            out[members] = prices[members] / np.median(prices[members])
    return out


def demean_within(values: FloatArray, groups: IntArray) -> FloatArray:
    """Values minus their group's mean (what is left once the type's level is removed)."""
    sums = np.bincount(groups, weights=values)
    counts = np.bincount(groups)
    return values - (sums / counts)[groups]


def average_ranks(values: FloatArray) -> FloatArray:
    """Ranks 0..n-1 with ties sharing their average rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size)
    ranks[order] = np.arange(values.size, dtype=np.float64)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=ranks) / counts)[inverse]


def spearman(x: FloatArray, y: FloatArray) -> float:
    """Spearman's rank correlation (ties averaged); NaN when either side is constant."""
    rx, ry = average_ranks(x), average_ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def hinge(ratio: FloatArray, threshold: float) -> FloatArray:
    """The log-premium above `threshold` (0 at or below it): max(ln ratio - ln t, 0)."""
    return np.maximum(np.log(ratio) - math.log(threshold), 0.0)


def _group_moments(x: FloatArray, y: FloatArray, groups: IntArray) -> tuple[FloatArray, ...]:
    xc, yc = demean_within(x, groups), demean_within(y, groups)
    sxy = np.bincount(groups, weights=xc * yc)
    sxx = np.bincount(groups, weights=xc * xc)
    syy = np.bincount(groups, weights=yc * yc)
    return sxy, sxx, syy


def within_slope(x: FloatArray, y: FloatArray, groups: IntArray) -> float:
    """Least-squares slope of y on x with one intercept per group (a fixed-effects fit)."""
    sxy, sxx, _ = _group_moments(x, y, groups)
    return float(sxy.sum() / sxx.sum()) if sxx.sum() > 0 else math.nan


def within_r2(x: FloatArray, y: FloatArray, groups: IntArray) -> float:
    """Share of the within-group variance of y the slope explains."""
    sxy, sxx, syy = _group_moments(x, y, groups)
    if sxx.sum() == 0 or syy.sum() == 0:
        return math.nan
    return float(sxy.sum() ** 2 / (sxx.sum() * syy.sum()))


def bootstrap_slope(
    x: FloatArray, y: FloatArray, groups: IntArray, *, reps: int, seed: int = SEED
) -> tuple[float, float]:
    """95 % interval of `within_slope`, resampling whole groups (zones of a type move together)."""
    sxy, sxx, _ = _group_moments(x, y, groups)
    rng = np.random.default_rng(seed)
    n = sxy.size
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=reps).astype(np.float64)
    den = weights @ sxx
    slopes = np.where(den > 0, (weights @ sxy) / np.where(den > 0, den, 1.0), np.nan)
    lo, hi = np.nanpercentile(slopes, [2.5, 97.5])
    return float(lo), float(hi)


def binned_means(
    x: FloatArray, y: FloatArray, edges: Sequence[float]
) -> list[tuple[float, float, int, float]]:
    """(low edge, high edge, count, mean y) for each bin [low, high) of x holding any rows."""
    out = []
    for lo, hi in itertools.pairwise(edges):
        inside = (x >= lo) & (x < hi)
        if inside.any():
            out.append((lo, hi, int(inside.sum()), float(y[inside].mean())))
    return out


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Population standard deviation over mean (0 for a single value), as the store computes it."""
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean())
    return float(array.std() / mean) if mean > 0 else 0.0


def relative_steps(prices: Sequence[float]) -> FloatArray:
    """|p_i / p_(i-1) - 1| between consecutive prices of one series."""
    array = np.asarray(prices, dtype=np.float64)
    return np.abs(array[1:] / array[:-1] - 1.0)


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Zones:
    """One row per (region, type, zone ID): price, capacity c in [0, 1] and the type's group."""

    region: tuple[str, ...]
    itype: tuple[str, ...]
    zone: tuple[str, ...]
    price: FloatArray
    capacity: FloatArray
    interruption: FloatArray  # SpotLake IF (higher = fewer interruptions); NaN = absent
    group: IntArray

    @property
    def ratio(self) -> FloatArray:
        return ratio_to_group_median(self.price, self.group)


def _zones(rows: list[dict[str, str]], score: str, interruption: str | None) -> Zones:
    return Zones(
        region=tuple(r["Region"] for r in rows),
        itype=tuple(r["InstanceType"] for r in rows),
        zone=tuple(r["AZ"] for r in rows),
        price=np.array([float(r["SpotPrice"]) for r in rows]),
        capacity=np.array([float(r[score]) / SPS_TOP for r in rows]),
        interruption=np.array([float(r[interruption]) if interruption else math.nan for r in rows]),
        group=group_codes([(r["Region"], r["InstanceType"]) for r in rows]),
    )


def load_spotlake_2022() -> Zones:
    with SPOTLAKE.open() as fh:
        return _zones(list(csv.DictReader(fh)), "SPS", "IF")


def load_spotlake_2023() -> Zones:
    rows: list[dict[str, str]] = []
    for path in sorted(SPS_2023.glob("*.csv")):
        with path.open() as fh:
            rows.extend(csv.DictReader(fh))
    return _zones(rows, "SPS_Mean", None)


def load_dump_series() -> dict[tuple[str, str], list[tuple[str, float]]]:
    """Linux/UNIX (zone ID, type) -> [(timestamp, price)] in time order."""
    series: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    with gzip.open(DUMP, "rt") as fh:
        for zone, itype, product, price, ts in csv.reader(fh, delimiter="\t"):
            if product == "Linux/UNIX":
                series[(zone, itype)].append((ts, float(price)))
    return {k: sorted(v) for k, v in series.items()}


# --- report --------------------------------------------------------------------------------


def _paired(z: Zones) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    ratio = z.ratio
    return ratio, ~np.isnan(ratio)


def report_price_ratio(z: Zones, reps: int) -> tuple[float, float, tuple[float, float]]:
    ratio, ok = _paired(z)
    r, c, g = ratio[ok], z.capacity[ok], z.group[ok]
    g = group_codes(g.tolist())
    varying = np.bincount(g, weights=demean_within(c, g) ** 2) > 0
    print(
        f"\n1. SpotLake 2022-07-12: {ok.sum()} zones in {g.max() + 1} (region, type) groups "
        f"of >= 2 zones; score differs between zones in {varying.sum()} groups"
    )
    print(f"   {'price / type median':<20} {'zones':>6} {'mean SPS':>9} {'within-type dSPS':>17}")
    within = demean_within(c, g)
    raw_bins = binned_means(r, c * SPS_TOP, RATIO_BINS)
    within_bins = binned_means(r, within * SPS_TOP, RATIO_BINS)
    for (lo, hi, n, raw), (_, _, _, dev) in zip(raw_bins, within_bins, strict=True):
        print(f"   [{lo:5.3f}, {hi:5.3f})      {n:>6} {raw:>9.3f} {dev:>+17.3f}")
    print(
        f"   Spearman(ratio, score): raw {spearman(r, c):+.3f}, within type "
        f"{spearman(demean_within(np.log(r), g), within):+.3f}"
    )
    print(f"   hinge fits on c = score/3, within type, {reps} cluster-bootstrap reps:")
    print(
        f"   {'threshold':>9} {'beta':>7} {'95% interval':>18} {'within R2':>10} "
        f"{'zones above':>11}"
    )
    best: tuple[float, float, tuple[float, float]] | None = None
    best_r2 = -1.0
    for t in THRESHOLDS:
        x = hinge(r, t)
        slope = -within_slope(x, c, g)
        lo, hi = bootstrap_slope(x, c, g, reps=reps)
        r2 = within_r2(x, c, g)
        print(
            f"   {t:>9.2f} {slope:>7.3f}   [{-hi:>6.3f}, {-lo:>6.3f}] {r2:>10.4f} "
            f"{int((x > 0).sum()):>11}"
        )
        if r2 > best_r2:
            best, best_r2 = (t, slope, (-hi, -lo)), r2
    assert best is not None
    t, slope, (lo, hi) = best
    print(
        f"   chosen: threshold {t:.2f}, beta {slope:.3f} capacity per unit ln-premium "
        f"(95% [{lo:.3f}, {hi:.3f}]); within-type R2 {best_r2:.4f}"
    )
    return best


def report_interruption(z: Zones) -> None:
    ratio, ok = _paired(z)
    g = group_codes(z.group[ok].tolist())
    spread = np.bincount(g, weights=demean_within(z.interruption[ok], g) ** 2)
    print(
        f"\n2. IF (interruption bucket) varies between zones of one type in "
        f"{int((spread > 0).sum())} of {g.max() + 1} groups: it is regional, so a zone's "
        f"price cannot predict it; raw Spearman(ratio, IF) "
        f"{spearman(ratio[ok], z.interruption[ok]):+.3f}"
    )


def report_out_of_sample(
    z: Zones, threshold: float, beta: float, interval: tuple[float, float], reps: int
) -> float:
    """Print the replication; return the coefficient both 95 % intervals hold, smallest first."""
    ratio, ok = _paired(z)
    r, c = ratio[ok], z.capacity[ok]
    g = group_codes(z.group[ok].tolist())
    x = hinge(r, threshold)
    slope = -within_slope(x, c, g)
    neg_hi, neg_lo = bootstrap_slope(x, c, g, reps=reps)
    lo, hi = -neg_lo, -neg_hi
    print(
        f"\n3. SpotLake 2023-10 SPS means (3 regions), out of sample: {ok.sum()} zones, "
        f"{int((x > 0).sum())} above the threshold"
    )
    print(
        f"   within-type Spearman(ratio, mean score) "
        f"{spearman(demean_within(np.log(r), g), demean_within(c, g)):+.3f}; "
        f"within slope {slope:.3f} (95% [{lo:.3f}, {hi:.3f}]; 2022 fit: {beta:.3f})"
    )
    above = x > 0
    if above.any():
        dev = demean_within(c, g)[above]
        predicted = -beta * demean_within(x, g)[above]
        print(
            f"   zones above the threshold: mean within-type dc observed {dev.mean():+.3f}, "
            f"predicted {predicted.mean():+.3f}"
        )
    both = (max(interval[0], lo), min(interval[1], hi))
    chosen = both[0] if both[0] <= both[1] else max(0.0, min(beta, slope))
    print(
        f"   coefficients both 95% intervals hold: [{both[0]:.3f}, {both[1]:.3f}]; "
        f"selector weight = its low end: {chosen:.3f}"
    )
    return chosen


def report_volatility(
    z: Zones, series: dict[tuple[str, str], list[tuple[str, float]]], reps: int
) -> float:
    index = {(zone, itype): i for i, (zone, itype) in enumerate(zip(z.zone, z.itype, strict=True))}
    rows, cvs = [], []
    for key, points in series.items():
        if key in index:
            rows.append(index[key])
            cvs.append(coefficient_of_variation([p for _, p in points]))
    cv = np.array(cvs)
    c = z.capacity[rows]
    g = group_codes(z.group[rows].tolist())
    moved = cv > 0
    slope = -within_slope(cv, c, g)
    lo, hi = bootstrap_slope(cv, c, g, reps=reps)
    print(
        f"\n4. Volatility: {len(rows)} dump series (2022-05-31, ~6 h) joined to the 2022-07-12 "
        f"score; {int(moved.sum())} moved (CV > 0)"
    )
    print(
        f"   mean SPS moved {c[moved].mean() * SPS_TOP:.3f} vs still "
        f"{c[~moved].mean() * SPS_TOP:.3f}; within-type Spearman(CV, score) "
        f"{spearman(demean_within(cv, g), demean_within(c, g)):+.3f}"
    )
    # A weight the data cannot tell from zero (the interval spans it) is not used.
    weight = max(-hi, 0.0)
    print(
        f"   within slope: beta {slope:.3f} capacity per unit CV (95% [{-hi:.3f}, {-lo:.3f}]); "
        f"selector weight = the interval's low end, floored at 0: {weight:.3f}"
    )
    return weight


def report_tie_band(series: dict[tuple[str, str], list[tuple[str, float]]]) -> None:
    steps = np.concatenate(
        [relative_steps([p for _, p in v]) for v in series.values() if len(v) > 1] or [np.zeros(0)]
    )
    month = json.loads(M5_MONTH.read_text())["SpotPriceHistory"]
    by_zone: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for rec in month:
        by_zone[rec["AvailabilityZone"]].append(
            (
                datetime.fromisoformat(rec["Timestamp"].replace("Z", "+00:00")),
                float(rec["SpotPrice"]),
            )
        )
    m5_steps = np.concatenate([relative_steps([p for _, p in sorted(v)]) for v in by_zone.values()])
    m5_range = [max(p for _, p in v) / min(p for _, p in v) - 1.0 for v in by_zone.values()]
    print("\n5. Tie band: how much a pool's own price moves")
    for name, values in (("dump (~6 h, all types)", steps), ("m5.large month, 5 zones", m5_steps)):
        print(
            f"   {name:<25} {values.size:>4} changes: median step {np.median(values):.2%}, "
            f"p90 {np.percentile(values, 90):.2%}"
        )
    print(
        f"   m5.large month: per-zone max/min - 1 median {np.median(m5_range):.2%} "
        f"(range {min(m5_range):.2%} .. {max(m5_range):.2%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=2000, help="bootstrap resamples")
    args = parser.parse_args()
    spotlake = load_spotlake_2022()
    threshold, beta, interval = report_price_ratio(spotlake, args.reps)
    report_interruption(spotlake)
    report_out_of_sample(load_spotlake_2023(), threshold, beta, interval, args.reps)
    series = load_dump_series()
    report_volatility(spotlake, series, args.reps)
    report_tie_band(series)


if __name__ == "__main__":
    main()
