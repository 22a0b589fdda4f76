"""Calibrate selector/hazard.py's constants against the real traces and advisor snapshots.

Run with ``.venv/bin/python bench/calibrate.py [--data-dir ../shared/data]``. Offline, a few
seconds. It prints the fit as tables, a "constants to paste" block, and checks every constant
in selector/hazard.py against the fit: exit 2 when one drifts beyond its stated tolerance.

What is fitted, and how:

1. λ per trace: a 1→0 in a SkyPilot 1-node *preemption* trace (an instance kept running and
   relaunched) is one preemption; λ = preemptions / instance-hours up, with the exact Poisson
   (Gamma) 90 % interval. All seven AWS traces (p3.2xlarge, r5.16xlarge) are ">20%" in the
   2025 advisor, so they calibrate that bucket. The GCP c3-highcpu-88 traces are fitted apart
   (the three us-central1 files are identical: counted once).
2. BUCKET_EXPOSURE_HOURS: the exposure E at which the ">20%" point (30 % interrupted, a
   convention for the open bucket) converts to the measured mean λ of ">20%" pools:
   E = -ln(1 - 0.30) / mean(λ_trace). The mean over traces (each trace one pool), not the
   pooled ratio, because pools that are preempted more spend more time relaunching and so log
   fewer instance-hours. Interval: bootstrap over traces. Lower buckets have no traces; they
   keep AWS's bounds and midpoints and share E.
3. PRIOR_SHAPE: the Gamma prior Gamma(α, α/λ0) describes how λ varies among pools that share a
   bucket, so α = mean² / variance of the per-trace λ, the variance net of each trace's
   Poisson noise (mean of λ_i / T_i). The same zones' launch-probe (availability) traces show
   the zone-to-zone spread a second way.
4. ">20%" ceiling (and UNKNOWN_PROBABILITY's): the share interrupted over E whose λ is the 95 %
   quantile of that Gamma: the prior interval then covers 90 % of the measured pools.
5. UNKNOWN_PRIOR_SHAPE: 1 / CV² of λ over all pools of the 2025 advisor (the bucket mix, each
   bucket Gamma(α) around its λ): how little "no signal" says.
6. INTERRUPTION_TTL_HOURS, from bucket persistence: for (region, type) present in two of the
   snapshots 2021-02-10 (advisor), 2022-07-12 (SpotLake's copy of the advisor bucket) and
   2025-06-28 (advisor), the transition matrix gives the share that stays in its bucket and
   Cohen's κ (agreement beyond chance). κ(Δt) = κ∞ + (1 - κ∞)·exp(-Δt/τ) fitted to the three
   lags: κ∞ is the lasting part (a type's market), τ the memory of the rest. A bucket read at
   age a has lost 1 - κ(a) of what a fresh one says; it counts as stale once that exceeds the
   5 % tail of the 90 % interval. The shortest lag is 517 days, so a faster change is invisible
   to this data: the fit bounds the TTL from above, and the check is TTL <= that bound.
   After the TTL the rank widens the upper bound to the unknown ceiling (κ∞ is small: an old
   bucket says little beyond ">20%" staying ">20%").

Azure's eviction period is documented, not fitted: a bucket is the chance of eviction within the
next hour (AZURE_DOCUMENTED_EXPOSURE_HOURS), so AZURE_EXPOSURE_HOURS is checked against that. No
data in ../shared/data fits the GCP preempted-fraction window: that exposure stays equal to AWS's,
and GCP_RELATIVE_UNCERTAINTY stays as assumed.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.traces import (  # noqa: E402
    ADVISOR_DATES,
    DEFAULT_DATA_DIR,
    SPOTLAKE_DATE,
    Trace,
    TraceDataError,
    load_advisor,
    load_raw_probes,
    load_skypilot_traces,
    load_spotlake_buckets,
    losses,
)
from selector import hazard  # noqa: E402

FloatArray = npt.NDArray[np.float64]

LEVEL: Final = 0.90  # every interval here is two-sided 90 %, like the selector's
BOOTSTRAP_RESAMPLES: Final = 4000
BOOTSTRAP_SEED: Final = 20230419  # fixed: the same data gives the same intervals
LABELS: Final = tuple(hazard.AWS_ADVISOR_BUCKETS)
TOP: Final = ">20%"
# "Eviction rates are quoted per hour" (learn.microsoft.com/azure/virtual-machines/spot-vms,
# added by MicrosoftDocs/azure-docs#108456): the documented period, not a fit.
AZURE_DOCUMENTED_EXPOSURE_HOURS: Final = 1.0
# A bucket is stale once it has lost this much of a fresh one's agreement (the 90 % tail).
STALE_INFORMATION_LOSS: Final = 0.05
# Largest α reported when the measured spread is all Poisson noise.
MAX_SHAPE: Final = 1e3

# Drift tolerances of the check (relative unless said).
EXPOSURE_TOLERANCE: Final = 0.10
SHAPE_TOLERANCE: Final = 0.25
CEILING_TOLERANCE: Final = 0.05  # absolute, in share interrupted


# --- Gamma / Poisson without scipy ------------------------------------------------------------


def gamma_cdf(shape: float, x: float) -> float:
    """Regularised lower incomplete gamma P(shape, x) (series / continued fraction)."""
    if x <= 0.0:
        return 0.0
    log_front = -x + shape * math.log(x) - math.lgamma(shape)
    if x < shape + 1.0:
        term = total = 1.0 / shape
        a = shape
        for _ in range(10_000):
            a += 1.0
            term *= x / a
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return min(1.0, total * math.exp(log_front))
    # Lentz's continued fraction for the upper tail Q.
    tiny = 1e-300
    b = x + 1.0 - shape
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - shape)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def gamma_ppf(shape: float, q: float) -> float:
    """Quantile of Gamma(shape, 1) by bisection."""
    if not 0.0 < q < 1.0 or shape <= 0.0:
        raise ValueError(f"need 0 < q < 1 and shape > 0, got q={q}, shape={shape}")
    lo, hi = 0.0, max(1.0, shape)
    while gamma_cdf(shape, hi) < q:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if gamma_cdf(shape, mid) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def poisson_rate_interval(events: int, hours: float, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson rate: k events in `hours`."""
    if hours <= 0 or events < 0:
        raise ValueError("need hours > 0 and events >= 0")
    tail = (1.0 - level) / 2.0
    low = 0.0 if events == 0 else gamma_ppf(events, tail) / hours
    return low, gamma_ppf(events + 1, 1.0 - tail) / hours


# --- λ per trace --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateFit:
    """Measured λ of one trace, with the advisor buckets of its (region, type)."""

    name: str
    cloud: str
    region: str
    instance_type: str
    events: int
    hours: float
    rate: float
    low: float
    high: float
    bucket_2021: str | None
    bucket_2025: str | None
    relaunch_median_minutes: float  # nan when no preemption was followed by a relaunch


def rate_of(values: npt.NDArray[np.int64], gap_seconds: float) -> tuple[int, float]:
    """(instances lost, instance-hours up) of a count-per-tick series."""
    return losses(values), float(values.sum()) * gap_seconds / 3600.0


def fit_rates(
    traces: Iterable[Trace], advisors: dict[str, dict[tuple[str, str], str]]
) -> list[RateFit]:
    """λ with its exact interval per trace; identical series (same values) are kept once."""
    seen: set[tuple[str, bytes]] = set()
    out: list[RateFit] = []
    for t in traces:
        key = (t.instance_type, t.values.tobytes())
        if key in seen:
            continue
        seen.add(key)
        events, hours = rate_of(t.values, t.gap_seconds)
        # Never up (a probe series that always failed): no rate to measure.
        low, high = poisson_rate_interval(events, hours) if hours > 0 else (0.0, math.inf)
        pool = (t.region, t.instance_type)
        out.append(
            RateFit(
                name=t.name,
                cloud=t.cloud,
                region=t.region,
                instance_type=t.instance_type,
                events=events,
                hours=hours,
                rate=events / hours if hours > 0 else math.nan,
                low=low,
                high=high,
                bucket_2021=advisors[ADVISOR_DATES[0]].get(pool),
                bucket_2025=advisors[ADVISOR_DATES[-1]].get(pool),
                relaunch_median_minutes=_median(relaunch_minutes(t.values, t.gap_seconds)),
            )
        )
    return out


def relaunch_minutes(values: npt.NDArray[np.int64], gap_seconds: float) -> list[float]:
    """Minutes from each preemption (1→0) until an instance runs again (0→1)."""
    up = values > 0
    out: list[float] = []
    down_at: int | None = None
    for i in range(1, up.size):
        if up[i - 1] and not up[i]:
            down_at = i
        elif up[i] and not up[i - 1] and down_at is not None:
            out.append((i - down_at) * gap_seconds / 60.0)
            down_at = None
    return out


def _median(values: Sequence[float]) -> float:
    return float(np.median(values)) if values else math.nan


def mean_rate(rates: FloatArray) -> float:
    """Per-pool mean λ (each trace one pool)."""
    return float(np.mean(rates))


def gamma_shape(rates: FloatArray, hours: FloatArray) -> float:
    """α = mean² / between-pool variance (sample variance less the Poisson noise λ_i / T_i)."""
    if rates.size < 2:
        raise ValueError("need at least two traces to measure a spread")
    between = float(np.var(rates, ddof=1) - np.mean(rates / hours))
    if between <= 0.0:
        return MAX_SHAPE
    return min(float(np.mean(rates)) ** 2 / between, MAX_SHAPE)


def bootstrap(
    stat: Callable[[FloatArray, FloatArray], float],
    rates: FloatArray,
    hours: FloatArray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """90 % percentile interval of `stat(rates, hours)` over traces drawn with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, rates.size, size=(resamples, rates.size))
    values = np.array([stat(rates[i], hours[i]) for i in idx])
    tail = (1.0 - LEVEL) / 2.0 * 100.0
    lo, hi = np.percentile(values, [tail, 100.0 - tail])
    return float(lo), float(hi)


def exposure_for(rate: float, share: float) -> float:
    """Hours E such that `share` interrupted over E means λ = rate (p = 1 - exp(-λE))."""
    return -math.log1p(-share) / rate


def share_for(rate: float, exposure: float) -> float:
    """Share interrupted over `exposure` hours at λ = rate."""
    return -math.expm1(-rate * exposure)


def spread(rates: Sequence[float]) -> float:
    """Largest over smallest non-zero λ (the zone-to-zone spread); nan below two."""
    nonzero = [r for r in rates if r > 0]
    return max(nonzero) / min(nonzero) if len(nonzero) >= 2 else math.nan


# --- bucket persistence ------------------------------------------------------------------------


def transition_matrix(
    before: dict[tuple[str, str], str],
    after: dict[tuple[str, str], str],
    labels: Sequence[str] = LABELS,
) -> npt.NDArray[np.int64]:
    """Counts[i, j]: pools in bucket i before and bucket j after (pools present in both)."""
    index = {label: i for i, label in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for pool, label in before.items():
        if pool in after:
            m[index[label], index[after[pool]]] += 1
    return m


def agreement(m: npt.NDArray[np.int64]) -> tuple[float, float, float]:
    """(share that stays, share expected by chance from the margins, Cohen's κ)."""
    n = float(m.sum())
    if n == 0:
        raise ValueError("no pool is present in both snapshots")
    stay = float(np.trace(m)) / n
    chance = float((m.sum(axis=1) / n) @ (m.sum(axis=0) / n))
    return stay, chance, (stay - chance) / (1.0 - chance)


def fit_decay(lags_days: Sequence[float], kappas: Sequence[float]) -> tuple[float, float]:
    """(κ∞, τ days) of κ(Δ) = κ∞ + (1 - κ∞)·exp(-Δ/τ), least squares over a τ grid."""
    lags, ks = np.asarray(lags_days, dtype=np.float64), np.asarray(kappas, dtype=np.float64)
    best = (math.inf, 0.0, 0.0)
    for tau in np.geomspace(1.0, 1e5, 4001):
        e = np.exp(-lags / tau)
        # κ - e = κ∞ (1 - e): one linear coefficient, clipped to [0, 1].
        x = 1.0 - e
        k_inf = float(np.clip((x @ (ks - e)) / (x @ x), 0.0, 1.0))
        sse = float(np.sum((k_inf + (1.0 - k_inf) * e - ks) ** 2))
        if sse < best[0]:
            best = (sse, k_inf, float(tau))
    return best[1], best[2]


def stale_after_days(k_inf: float, tau_days: float, loss: float = STALE_INFORMATION_LOSS) -> float:
    """Age at which κ has fallen by `loss`: 1 - κ(a) = loss (inf if it never does)."""
    if loss >= 1.0 - k_inf:
        return math.inf
    return -tau_days * math.log1p(-loss / (1.0 - k_inf))


# --- the whole fit ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Persistence:
    before: str
    after: str
    lag_days: float
    matrix: npt.NDArray[np.int64]
    stay: float
    chance: float
    kappa: float
    top_stays: float  # share of ">20%" pools still ">20%"


@dataclass(frozen=True, slots=True)
class Calibration:
    aws: list[RateFit]
    gcp: list[RateFit]
    availability: list[RateFit]  # launch-probe traces: "λ" = capacity losses per up-hour
    launch_success: dict[str, float]  # trace name -> share of probes that got an instance
    mean_rate: float
    mean_rate_interval: tuple[float, float]
    pooled_rate: float
    pooled_rate_interval: tuple[float, float]
    exposure_hours: float
    exposure_interval: tuple[float, float]
    prior_shape: float
    prior_shape_interval: tuple[float, float]
    top_ceiling: float
    top_ceiling_rate: float
    unknown_prior_shape: float
    gcp_rate: float
    gcp_rate_interval: tuple[float, float]
    persistence: list[Persistence]
    kappa_floor: float
    memory_days: float
    ttl_bound_hours: float


def calibrate(data_dir: Path = DEFAULT_DATA_DIR) -> Calibration:
    """Every fitted number, from the files under `data_dir`."""
    advisors = {d: load_advisor(data_dir, d) for d in ADVISOR_DATES}
    preempt = load_skypilot_traces(data_dir, kind="preemption", nodes=1)
    aws = fit_rates((t for t in preempt if t.cloud == "aws"), advisors)
    gcp = fit_rates((t for t in preempt if t.cloud == "gcp"), advisors)
    probes = load_skypilot_traces(data_dir, kind="availability", nodes=1)
    # Raw probe windows not already in the JSON traces (2022-10-26 is the same data).
    probes += [t for t in load_raw_probes(data_dir) if t.start != "2022-10-26"]
    availability = fit_rates(probes, advisors)
    launch = {t.name: t.up_share for t in probes}

    rates = np.array([f.rate for f in aws])
    hours = np.array([f.hours for f in aws])
    lam = mean_rate(rates)
    lam_iv = bootstrap(lambda r, _h: mean_rate(r), rates, hours)
    events = sum(f.events for f in aws)
    pooled = events / float(hours.sum())
    top_low, top_point, _ = hazard.AWS_ADVISOR_BUCKETS[TOP]
    exposure = exposure_for(lam, top_point)
    alpha = gamma_shape(rates, hours)
    alpha_iv = bootstrap(gamma_shape, rates, hours)
    ceiling_rate = gamma_ppf(alpha, 1.0 - (1.0 - LEVEL) / 2.0) * lam / alpha

    # Unknown pool: λ over the 2025 bucket mix, each bucket Gamma(α) around its point's λ.
    mix = advisors[ADVISOR_DATES[-1]].values()
    weights = np.array([sum(1 for v in mix if v == b) for b in LABELS], dtype=np.float64)
    weights /= weights.sum()
    means = np.array([-math.log1p(-p) for _, p, _ in _points()]) / exposure
    second = float(weights @ (means**2 * (1.0 + 1.0 / alpha)))
    first = float(weights @ means)
    unknown_alpha = first**2 / (second - first**2)

    g_events = sum(f.events for f in gcp)
    g_hours = sum(f.hours for f in gcp)

    snaps = {
        ADVISOR_DATES[0]: advisors[ADVISOR_DATES[0]],
        SPOTLAKE_DATE: load_spotlake_buckets(data_dir),
        ADVISOR_DATES[-1]: advisors[ADVISOR_DATES[-1]],
    }
    persistence = []
    for (d0, a), (d1, b) in itertools.combinations(snaps.items(), 2):
        m = transition_matrix(a, b)
        stay, chance, kappa = agreement(m)
        top = LABELS.index(TOP)
        persistence.append(
            Persistence(
                before=d0,
                after=d1,
                lag_days=float((date.fromisoformat(d1) - date.fromisoformat(d0)).days),
                matrix=m,
                stay=stay,
                chance=chance,
                kappa=kappa,
                top_stays=float(m[top, top] / m[top].sum()),
            )
        )
    k_inf, tau = fit_decay([p.lag_days for p in persistence], [p.kappa for p in persistence])
    return Calibration(
        aws=aws,
        gcp=gcp,
        availability=availability,
        launch_success=launch,
        mean_rate=lam,
        mean_rate_interval=lam_iv,
        pooled_rate=pooled,
        pooled_rate_interval=poisson_rate_interval(events, float(hours.sum())),
        exposure_hours=exposure,
        exposure_interval=(exposure_for(lam_iv[1], top_point), exposure_for(lam_iv[0], top_point)),
        prior_shape=alpha,
        prior_shape_interval=alpha_iv,
        top_ceiling=max(share_for(ceiling_rate, exposure), top_low),
        top_ceiling_rate=ceiling_rate,
        unknown_prior_shape=unknown_alpha,
        gcp_rate=g_events / g_hours,
        gcp_rate_interval=poisson_rate_interval(g_events, g_hours),
        persistence=persistence,
        kappa_floor=k_inf,
        memory_days=tau,
        ttl_bound_hours=stale_after_days(k_inf, tau) * 24.0,
    )


def _points() -> list[tuple[float, float, float]]:
    return [hazard.AWS_ADVISOR_BUCKETS[b] for b in LABELS]


# --- the check ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    current: str
    fitted: str
    tolerance: str
    ok: bool


def _relative(name: str, current: float, fitted: float, tol: float) -> Check:
    ok = abs(current / fitted - 1.0) <= tol
    return Check(name, f"{current:.4g}", f"{fitted:.4g}", f"±{tol:.0%}", ok)


def _equal(name: str, current: object, fitted: object) -> Check:
    return Check(name, _short(current), _short(fitted), "equal", current == fitted)


def _short(value: object) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def checks(cal: Calibration) -> list[Check]:
    """Each constant of selector/hazard.py against its fit."""
    top = hazard.AWS_ADVISOR_BUCKETS[TOP]
    exposure = hazard.BUCKET_EXPOSURE_HOURS
    ttl = hazard.INTERRUPTION_TTL_HOURS
    return [
        _relative("BUCKET_EXPOSURE_HOURS", exposure, cal.exposure_hours, EXPOSURE_TOLERANCE),
        _equal(
            "AZURE_EXPOSURE_HOURS (documented: 1 h)",
            hazard.AZURE_EXPOSURE_HOURS,
            AZURE_DOCUMENTED_EXPOSURE_HOURS,
        ),
        _equal("GCP_EXPOSURE_HOURS (no data: = AWS)", hazard.GCP_EXPOSURE_HOURS, exposure),
        _equal("UNKNOWN_EXPOSURE_HOURS (= AWS)", hazard.UNKNOWN_EXPOSURE_HOURS, exposure),
        Check(
            'AWS_ADVISOR_BUCKETS[">20%"] ceiling',
            f"{top[2]:.4g}",
            f"{cal.top_ceiling:.4g}",
            f"±{CEILING_TOLERANCE:g}",
            abs(top[2] - cal.top_ceiling) <= CEILING_TOLERANCE,
        ),
        _equal(
            "UNKNOWN_PROBABILITY (0, >20% point, ceiling)",
            tuple(hazard.UNKNOWN_PROBABILITY),
            (0.0, top[1], top[2]),
        ),
        _equal(
            "AZURE_EVICTION_BUCKETS (no data: = AWS)",
            tuple(hazard.AZURE_EVICTION_BUCKETS.values()),
            tuple(hazard.AWS_ADVISOR_BUCKETS.values()),
        ),
        _relative("PRIOR_SHAPE", hazard.PRIOR_SHAPE, cal.prior_shape, SHAPE_TOLERANCE),
        _relative(
            "UNKNOWN_PRIOR_SHAPE",
            hazard.UNKNOWN_PRIOR_SHAPE,
            cal.unknown_prior_shape,
            SHAPE_TOLERANCE,
        ),
        Check(
            "INTERRUPTION_TTL_HOURS",
            f"{ttl:.4g}",
            f"{cal.ttl_bound_hours:.4g}",
            "<= bound",
            ttl <= cal.ttl_bound_hours,
        ),
    ]


# --- presentation -------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *([str(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _times(ratio: float) -> str:
    return "-" if math.isnan(ratio) else f"{ratio:.1f}x"


def _rate_rows(fits: Iterable[RateFit]) -> list[list[object]]:
    return [
        [f.name, f.events, f"{f.hours:.1f}", f"{f.rate:.3f}", f"{f.low:.3f}-{f.high:.3f}",
         f.bucket_2021 or "-", f.bucket_2025 or "-", _minutes(f.relaunch_median_minutes)]
        for f in fits
    ]  # fmt: skip


def _minutes(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def report(cal: Calibration) -> str:
    """The fit as readable tables, the constants to paste and the check."""
    out: list[str] = []
    rate_head = ["trace", "lost", "inst-h", "λ/h", "90% CI", "adv 2021", "adv 2025",
                 "relaunch min (median)"]  # fmt: skip
    out += [
        "## AWS 1-node preemption traces (1→0 = preemption)",
        _table(rate_head, _rate_rows(cal.aws)),
    ]
    out += [
        f"mean λ over traces {cal.mean_rate:.3f}/h (90% bootstrap over traces "
        f"{cal.mean_rate_interval[0]:.3f}-{cal.mean_rate_interval[1]:.3f}); pooled "
        f"{cal.pooled_rate:.3f}/h (Poisson {cal.pooled_rate_interval[0]:.3f}-"
        f"{cal.pooled_rate_interval[1]:.3f}); zone spread "
        f"{_times(spread([f.rate for f in cal.aws]))}",
        "",
        "## GCP c3-highcpu-88 preemption traces (identical files counted once)",
        _table(rate_head, _rate_rows(cal.gcp)),
        f"pooled GCP λ {cal.gcp_rate:.3f}/h (Poisson {cal.gcp_rate_interval[0]:.3f}-"
        f"{cal.gcp_rate_interval[1]:.3f}); no GCP preempted-fraction signal in the data to "
        "pair it with: GCP_EXPOSURE_HOURS kept equal to AWS",
        "",
        "## 1-node launch-probe traces: launch success and capacity losses per up-hour",
    ]  # fmt: skip
    avail_rows = [
        [*r[:4], f"{cal.launch_success[f.name]:.0%}", *r[5:]]
        for f, r in zip(cal.availability, _rate_rows(cal.availability), strict=True)
    ]
    out.append(_table(["trace", "lost", "up-h", "loss/h", "launch ok", "adv 2021", "adv 2025",
                       "back up after min (median)"], avail_rows))  # fmt: skip
    groups: dict[tuple[str, str], list[float]] = {}
    for f in cal.availability:
        groups.setdefault((f.name.split("/")[0], f.instance_type), []).append(f.rate)
    out += ["", "zone-to-zone spread of the loss rate, same type and window (max/min):"]
    out.append(_table(["window", "type", "zones", "min/h", "max/h", "spread"], [
        [w, t, len(r), f"{min(r):.3f}", f"{max(r):.3f}", _times(spread(r))]
        for (w, t), r in sorted(groups.items()) if len(r) > 1
    ]))  # fmt: skip

    out += ["", "## bucket -> λ (E fitted on the >20% traces; lower buckets keep AWS's bounds)"]
    e = cal.exposure_hours
    out.append(
        f"E = -ln(1 - {hazard.AWS_ADVISOR_BUCKETS[TOP][1]}) / {cal.mean_rate:.3f} = {e:.3f} h "
        f"(90% {cal.exposure_interval[0]:.3f}-{cal.exposure_interval[1]:.3f} h)"
    )
    bucket_rows = []
    for label, (lo, pt, hi) in hazard.AWS_ADVISOR_BUCKETS.items():
        hi_fit = cal.top_ceiling if label == TOP else hi
        bucket_rows.append([label, f"{lo:g}/{pt:g}/{hi_fit:.3g}",
                            *(f"{-math.log1p(-p) / e:.3f}" for p in (lo, pt, hi_fit))])  # fmt: skip
    out.append(_table(["bucket", "share lo/pt/hi", "λ lo", "λ point", "λ hi"], bucket_rows))
    out += [
        f"PRIOR_SHAPE α = {cal.prior_shape:.2f} (90% bootstrap {cal.prior_shape_interval[0]:.2f}"
        f"-{cal.prior_shape_interval[1]:.3g}); >20% ceiling: λ q95 of Gamma(α) = "
        f"{cal.top_ceiling_rate:.3f}/h -> share {cal.top_ceiling:.3f} over E",
        f"UNKNOWN_PRIOR_SHAPE = 1/CV² of λ over the 2025 bucket mix = "
        f"{cal.unknown_prior_shape:.2f}",
        "Azure eviction buckets: no data in ../shared/data to fit; kept equal to AWS's shares, "
        "over Azure's documented period of one hour",
        "",
        "## bucket persistence (Linux (region, type) in both snapshots)",
    ]
    for p in cal.persistence:
        out.append(f"{p.before} -> {p.after} ({p.lag_days:.0f} d, {int(p.matrix.sum())} pools): "
                   f"stay {p.stay:.3f}, chance {p.chance:.3f}, κ {p.kappa:.3f}, "
                   f">20% stays {p.top_stays:.2f}")  # fmt: skip
        share = p.matrix / np.maximum(p.matrix.sum(axis=1, keepdims=True), 1)
        out.append(_table(["from \\ to", *LABELS], [
            [label, *(f"{v:.2f}" for v in row)] for label, row in zip(LABELS, share, strict=True)
        ]))  # fmt: skip
    out += [
        f"κ(Δ) = κ∞ + (1-κ∞)·exp(-Δ/τ): κ∞ {cal.kappa_floor:.3f}, τ {cal.memory_days:.0f} d "
        f"(an upper bound: the shortest lag is {min(p.lag_days for p in cal.persistence):.0f} d)",
        f"stale once {STALE_INFORMATION_LOSS:.0%} of κ is lost: after <= "
        f"{cal.ttl_bound_hours / 24:.1f} d",
        "",
        "## constants to paste (selector/hazard.py)",
        f"BUCKET_EXPOSURE_HOURS: Final = {e:.2f}",
        f'AWS_ADVISOR_BUCKETS[">20%"] = (0.20, 0.30, {cal.top_ceiling:.2f})',
        f"PRIOR_SHAPE: Final = {cal.prior_shape:.1f}",
        f"UNKNOWN_PRIOR_SHAPE: Final = {cal.unknown_prior_shape:.2f}",
        f"INTERRUPTION_TTL_HOURS: Final = <= {cal.ttl_bound_hours:.0f}",
        "",
        "## check: selector/hazard.py against the fit",
    ]
    out.append(_table(["constant", "current", "fitted", "tolerance", "ok"], [
        [c.name, c.current, c.fitted, c.tolerance, "ok" if c.ok else "DRIFT"]
        for c in checks(cal)
    ]))  # fmt: skip
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    try:
        cal = calibrate(args.data_dir)
    except (TraceDataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report(cal))
    drift = [c.name for c in checks(cal) if not c.ok]
    if drift:
        print(f"drift beyond tolerance: {', '.join(drift)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
