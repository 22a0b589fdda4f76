"""Interruption hazard: expected interruptions per instance-hour, one unit across clouds.

Each cloud publishes a coarse "share of instances interrupted" signal. We read it as a
survival probability over an exposure fitted to real preemption traces (constant hazard:
p = 1 - exp(-λ·t), so λ = -ln(1 - p) / t; bench/calibrate.py), keep the bucket's bounds as
the uncertainty interval, and then let the user's own fleet evidence update it
(Gamma-Poisson: prior Gamma(α, β) with mean λ0 = α/β, k interruptions in T instance-hours give
the posterior Gamma(α + k, β + T)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from selector.errors import SignalError

__all__ = [
    "AWS_ADVISOR_BUCKETS",
    "AZURE_EVICTION_BUCKETS",
    "DRAIN_DELAY_SECONDS",
    "EXIT_MARGIN_SECONDS",
    "FINAL_CHECKPOINT_WINDOW_SECONDS",
    "HOURS_PER_MONTH",
    "NOTICE_SECONDS",
    "SIGNAL_KINDS",
    "Hazard",
    "estimate_hazard",
    "gamma_interval",
    "hazard_arrays",
    "prior_probability",
    "signal_kind",
]

FloatArray = npt.NDArray[np.float64]

HOURS_PER_MONTH: Final = 365.0 * 24.0 / 12.0  # 730 h, the "trailing month" of the advisor

# Every number below is fitted by bench/calibrate.py (it prints the fit and fails when one of
# these drifts from it) on ../shared/data: the SkyPilot preemption traces
# (spot-availability-traces/skypilot-spot-traces/preemption/1-node), their launch-probe
# traces, and the advisor buckets of 2021-02-10, 2022-07-12 (SpotLake) and 2025-06-28.

# Exposure over which a bucket's "share of instances interrupted" accrues. AWS says only "rate
# at which Spot reclaimed capacity during the trailing month", and spot instances live hours,
# not a month. Fitted so the ">20%" point gives the measured λ of ">20%" pools: the seven AWS
# 1-node preemption traces (p3.2xlarge, r5.16xlarge; all ">20%" in the 2025 advisor) average
# 0.58 preemptions per instance-hour (90 % over traces 0.39-0.81), so
# E = -ln(1 - 0.30) / 0.58 = 0.61 h (0.44-0.92 h). Lower buckets have no traces: they share E.
BUCKET_EXPOSURE_HOURS: Final = 0.61
# Azure states its period: "Eviction rates are quoted per hour. For example, an eviction rate of
# 10% means a VM has a 10% chance of being evicted within the next hour, based on historical
# eviction data of the last 28 days" (learn.microsoft.com/azure/virtual-machines/spot-vms,
# "Pricing and eviction history"; added by MicrosoftDocs/azure-docs#108456, merged 2023-05-31,
# from Microsoft's answer on Q&A 1193700). So a bucket's share accrues over one hour:
# λ = -ln(1 - p) / 1 h. The bucket table itself stays AWS's (same bounds; the open top's point
# and ceiling are conventions no Azure trace in ../shared/data can check).
AZURE_EXPOSURE_HOURS: Final = 1.0
# GCP capacityHistory gives the fraction preempted over a trailing 30 days. The data has GCP
# preemption traces (c3-highcpu-88: 0.034/h) but no preempted fraction to pair them with, so
# the exposure stays AWS's.
GCP_EXPOSURE_HOURS: Final = BUCKET_EXPOSURE_HOURS

# Bucket label -> (low, point, high) fraction of instances interrupted. Closed buckets: AWS's
# bounds and midpoint. The open top: its point is a convention (E is fitted to it) and its
# ceiling is where the measured pools' λ reaches its 95 % quantile (Gamma(PRIOR_SHAPE) around
# 0.58/h: 1.27/h, 1 - exp(-1.27 · 0.61) = 0.54), so the interval covers 90 % of real pools.
AWS_ADVISOR_BUCKETS: Final[dict[str, tuple[float, float, float]]] = {
    "<5%": (0.0, 0.025, 0.05),
    "5-10%": (0.05, 0.075, 0.10),
    "10-15%": (0.10, 0.125, 0.15),
    "15-20%": (0.15, 0.175, 0.20),
    ">20%": (0.20, 0.30, 0.54),
}
AZURE_EVICTION_BUCKETS: Final[dict[str, tuple[float, float, float]]] = {
    "0-5": AWS_ADVISOR_BUCKETS["<5%"],
    "5-10": AWS_ADVISOR_BUCKETS["5-10%"],
    "10-15": AWS_ADVISOR_BUCKETS["10-15%"],
    "15-20": AWS_ADVISOR_BUCKETS["15-20%"],
    "20+": AWS_ADVISOR_BUCKETS[">20%"],
}
# A GCP point estimate is one number from a 30-day window: ±50 % relative uncertainty
# (assumed: no data to fit).
GCP_RELATIVE_UNCERTAINTY: Final = 0.5
# No signal at all: assume the worst bucket's point, with an interval from 0 to its ceiling.
UNKNOWN_PROBABILITY: Final = (0.0, *AWS_ADVISOR_BUCKETS[">20%"][1:])
UNKNOWN_EXPOSURE_HOURS: Final = BUCKET_EXPOSURE_HOURS

# Prior strength in pseudo-interruptions: the Gamma prior is how λ varies among pools sharing a
# bucket, so α = mean² / variance of the seven ">20%" traces' λ net of Poisson noise: 2.6
# (90 % over traces 1.6-19). A pool's own fleet outweighs its bucket after ~3 interruptions.
PRIOR_SHAPE: Final = 2.6
# No signal: α = 1 / CV² of λ over every pool of the 2025 advisor (its bucket mix, each bucket
# Gamma(PRIOR_SHAPE) around its point) = 0.88: yields to evidence three times faster.
UNKNOWN_PRIOR_SHAPE: Final = 0.88
# Two-sided 90 % interval for the posterior (Wilson-Hilferty normal approximation).
INTERVAL_Z: Final = 1.6449
# A bucket is stale once it has lost 5 % of a fresh one's agreement with the current bucket.
# Cohen's κ between snapshots falls from 0.27 at 517 days to a lasting 0.15 (">20%" stays
# ">20%" 73-85 %), which bounds its memory to τ <= 254 d and the TTL to <= 15.5 d. The feed is
# refreshed daily, so a week-old copy already means a week of failed collections: 7 d, inside
# the bound. Past it the rank widens the upper bound to the unknown ceiling (κ∞ is small).
INTERRUPTION_TTL_HOURS: Final = 7 * 24.0

# Interruption notice per cloud: AWS 2-minute warning (EventBridge / IMDS); Azure Scheduled
# Events and GCP preemption notices give 30 s (cloud-facts.md).
NOTICE_SECONDS: Final[dict[str, float]] = {"aws": 120.0, "azure": 30.0, "gcp": 30.0}
# Time from the cloud's interruption notice until the kubelet starts terminating the pod (runs
# its preStop hook): on AWS the notice travels EventBridge -> SQS -> Karpenter's interruption
# controller, which taints the node and evicts its pods. Assumption, unverified against a live
# cluster: delivery takes seconds and Karpenter acts on a message at once; 20 s also covers a
# slow delivery and the eviction's API round-trips. The node is gone at notice end regardless,
# so the pod's grace period is what is left: notice - drain delay (AWS: 120 - 20 = 100 s).
DRAIN_DELAY_SECONDS: Final = 20
# After the preStop hook returns, the kubelet sends SIGTERM and the container still has to exit
# (flush logs, close files) before the grace period ends in SIGKILL: the final checkpoint must
# be done this long before the grace period ends.
EXIT_MARGIN_SECONDS: Final = 10
# What a final checkpoint can use of each notice (AWS 90 s, Azure / GCP 0 s): the cost model
# (selector/cost.py) and the generated preStop hook (selector/outputs) both read this window.
FINAL_CHECKPOINT_WINDOW_SECONDS: Final[dict[str, float]] = {
    cloud: max(notice - DRAIN_DELAY_SECONDS - EXIT_MARGIN_SECONDS, 0.0)
    for cloud, notice in NOTICE_SECONDS.items()
}

KIND_KNOWN: Final = 0
KIND_UNKNOWN: Final = 1

# What an interruption signal means, whichever collector stored it: each kind has its own
# conversion to a hazard. The kind is not the provenance: a simulated AWS-style bucket is
# converted like an advisor bucket while its source stays the simulator's.
SIGNAL_KINDS: Final = ("aws-advisor", "azure-eviction", "gcp-capacity-history")


@dataclass(frozen=True, slots=True)
class Hazard:
    """λ (interruptions per instance-hour) with a 90 % interval and where it came from."""

    rate: float
    low: float
    high: float
    # Provenance: the source of the stored row ("aws-advisor", "sim", ...), "default" when no
    # usable signal was found, "on-demand" for an on-demand offering.
    source: str
    # The conversion applied: one of SIGNAL_KINDS, "default" or "on-demand".
    kind: str
    label: str | None
    fleet_updated: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "rate_per_hour": self.rate,
            "low": self.low,
            "high": self.high,
            "source": self.source,
            "kind": self.kind,
            "label": self.label,
            "fleet_updated": self.fleet_updated,
        }


def signal_kind(source: str | None, label: str | None, value: float | None) -> str | None:
    """Which conversion a stored interruption signal takes (one of SIGNAL_KINDS), or None.

    A source that names a kind is that kind. Any other source (the simulator, a mirror) is
    read by the signal's shape: an AWS bucket label, an Azure bucket label, or a bare
    preempted fraction (GCP-style). None = no signal, or one whose meaning is unknown.
    """
    if source is None:
        return None
    if source in SIGNAL_KINDS:
        return source
    if label is not None:
        text = label.strip()
        if text in AWS_ADVISOR_BUCKETS:
            return "aws-advisor"
        if text in AZURE_EVICTION_BUCKETS:
            return "azure-eviction"
        return None
    return "gcp-capacity-history" if value is not None else None


def prior_probability(
    kind: str | None, label: str | None, value: float | None
) -> tuple[float, float, float, float]:
    """(low, point, high) interrupted fraction and its exposure hours for one raw signal.

    `kind` is one of SIGNAL_KINDS (None = no signal). Raises `SignalError` when the signal is
    present but cannot be interpreted.
    """
    if kind is None:
        return (*UNKNOWN_PROBABILITY, UNKNOWN_EXPOSURE_HOURS)
    if kind == "aws-advisor":
        return (*_bucket(AWS_ADVISOR_BUCKETS, "aws", label), BUCKET_EXPOSURE_HOURS)
    if kind == "azure-eviction":
        return (*_bucket(AZURE_EVICTION_BUCKETS, "azure", label), AZURE_EXPOSURE_HOURS)
    if kind == "gcp-capacity-history":
        if value is None or not math.isfinite(value) or not 0.0 <= value < 1.0:
            raise SignalError("gcp", value, "preemption fraction must be in [0, 1)")
        spread = value * GCP_RELATIVE_UNCERTAINTY
        hi = min(value + spread, UNKNOWN_PROBABILITY[2])
        return (value - spread, value, hi, GCP_EXPOSURE_HOURS)
    raise SignalError(kind, label, "unknown interruption source")


def _bucket(
    table: dict[str, tuple[float, float, float]], cloud: str, label: str | None
) -> tuple[float, float, float]:
    if label is None or label.strip() not in table:
        raise SignalError(cloud, label, f"not one of {list(table)}")
    return table[label.strip()]


def _rate(p: FloatArray, exposure: FloatArray) -> FloatArray:
    rate: FloatArray = -np.log1p(-p) / exposure
    return rate


def gamma_interval(shape: FloatArray, rate: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Approximate 90 % interval of Gamma(shape, rate) (Wilson-Hilferty; fine for shape >~ 1)."""
    k = np.maximum(shape, 1e-9)
    c = 1.0 / (9.0 * k)
    root = INTERVAL_Z * np.sqrt(c)
    lo: FloatArray = k * np.maximum(1.0 - c - root, 0.0) ** 3 / rate
    hi: FloatArray = k * (1.0 - c + root) ** 3 / rate
    return lo, hi


def hazard_arrays(
    p_low: FloatArray,
    p_point: FloatArray,
    p_high: FloatArray,
    exposure: FloatArray,
    unknown: npt.NDArray[np.bool_],
    interruptions: FloatArray,
    instance_hours: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Vectorised (rate, low, high): bucket prior, then the Gamma-Poisson fleet update."""
    prior_rate = np.maximum(_rate(p_point, exposure), 1e-12)
    rate = prior_rate.copy()
    low = _rate(p_low, exposure)
    high = _rate(p_high, exposure)
    evidence = instance_hours > 0
    if evidence.any():
        alpha = np.where(unknown, UNKNOWN_PRIOR_SHAPE, PRIOR_SHAPE)[evidence]
        beta = alpha / prior_rate[evidence]
        a_post = alpha + interruptions[evidence]
        b_post = beta + instance_hours[evidence]
        rate[evidence] = a_post / b_post
        post_lo, post_hi = gamma_interval(a_post, b_post)
        low[evidence], high[evidence] = post_lo, post_hi
    return rate, np.minimum(low, rate), np.maximum(high, rate)


def estimate_hazard(
    source: str | None,
    label: str | None,
    value: float | None = None,
    *,
    interruptions: int = 0,
    instance_hours: float = 0.0,
) -> Hazard:
    """Scalar λ for one pool (the snapshot computes the same thing vectorised).

    `source` is the stored row's source; its kind comes from :func:`signal_kind`.
    """
    if interruptions < 0 or instance_hours < 0:
        raise SignalError("fleet", (interruptions, instance_hours), "evidence must be >= 0")
    kind = signal_kind(source, label, value)
    if source is not None and kind is None:
        raise SignalError(source, label, "unknown interruption source or label")
    lo, point, hi, exposure = prior_probability(kind, label, value)
    rate, low, high = hazard_arrays(
        np.array([lo]),
        np.array([point]),
        np.array([hi]),
        np.array([exposure]),
        np.array([source is None]),
        np.array([float(interruptions)]),
        np.array([float(instance_hours)]),
    )
    return Hazard(
        rate=float(rate[0]),
        low=float(low[0]),
        high=float(high[0]),
        source=source or "default",
        kind=kind or "default",
        label=label,
        fleet_updated=instance_hours > 0,
    )
