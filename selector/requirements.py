"""What the user asks for, in one vocabulary shared by the CLI, the REST body and profile YAML.

`parse_requirements` is the only way in: it rejects unknown keys, wrong types and absurd
values with a `RequirementsError` that names the field, so every interface fails the same way.
Messages quote values cut short (`MAX_SHOWN_CHARS`): a request can be large, a message is one
short line.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from selector.discounts import NO_DISCOUNTS, OnDemandDiscounts, parse_discounts
from selector.errors import RequirementsError
from selector.gpus import expand_gpu_models
from selector.pools import CLOUDS

__all__ = [
    "ARCHES",
    "CAPACITY_TYPES",
    "DATA_CHOICES",
    "DEFAULT_COST_TIE_BAND",
    "STRATEGIES",
    "Range",
    "Requirements",
    "parse_range",
    "parse_requirements",
    "with_default_discounts",
]

STRATEGIES: Final = ("effective-cost", "price", "capacity", "price-capacity")
CAPACITY_TYPES: Final = ("on-demand", "spot")  # sorted: parsed lists are sorted too
ARCHES: Final = ("x86_64", "arm64")
_ARCH_ALIASES: Final = {"amd64": "x86_64", "x86-64": "x86_64", "aarch64": "arm64"}
# Which data a ranking may rest on; simulated and real pools never mix unless asked (`any`):
#   auto       real pools only when the snapshot holds any, else the simulated ones (labelled)
#   real       real pools only      simulated  simulated pools only
#   any        both in one ranking (labelled simulated when a simulated pool is in it)
DATA_CHOICES: Final = ("auto", "real", "simulated", "any")

# Sanity bounds: larger values are typos, not requests (the largest VMs have < 2,000 vCPUs).
MAX_VCPUS: Final = 100_000
MAX_MEMORY_GIB: Final = 1_000_000.0
MAX_GPUS: Final = 64
MAX_GPU_MEMORY_GIB: Final = 1_024.0
MAX_NODES: Final = 100_000
MAX_TOP: Final = 200  # a longer list is never read; Karpenter passes at most 60 types anyway
MAX_PRICE_PER_HOUR: Final = 10_000.0
MAX_MINUTES: Final = 7 * 24 * 60.0  # a week; longer checkpoint intervals are not a spot workload
# Ten years: a saved copy of a public feed stays rankable in a backtest (the 2021 spot.js sample
# beside the 2025 advisor); beyond that a value is a typo.
MAX_SIGNAL_AGE_HOURS: Final = 24 * 365.0 * 10

# Values quoted in an error message are cut to about this many characters.
MAX_SHOWN_CHARS: Final = 60
# Unknown keys named in one message; the rest are counted.
MAX_SHOWN_KEYS: Final = 5

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = MAX_SHOWN_CHARS
_SHORT.maxlevel = 2
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4

# Defaults for a long training job with a preStop hook (design §1 seed scenario).
DEFAULT_TOP: Final = 20
# Young's optimal interval sqrt(2·C/λ), with C = the 60 s checkpoint write below and λ from
# selector/hazard.py's fitted buckets, runs from 54 min ("<5%", 0.041/h) to 14 min (">20%",
# 0.58/h); 30 min is the optimum of the "5-10%" bucket (0.13/h), the advisor's middle.
DEFAULT_CHECKPOINT_INTERVAL_MINUTES: Final = 30.0
# Fits AWS's usable window (120 s notice - drain - exit margin = 90 s,
# selector.hazard.FINAL_CHECKPOINT_WINDOW_SECONDS), not Azure's or GCP's (0 s of a 30 s notice).
# Assumed: no measured checkpoint-write time in ../shared/data.
DEFAULT_FINAL_CHECKPOINT_SECONDS: Final = 60.0
# New node + image pull + checkpoint load. In the SkyPilot preemption traces
# (bench/calibrate.py) a preempted instance runs again after a median 7-9 min (r5.16xlarge)
# and 18-29 min (p3.2xlarge, same zone, including waits for capacity); a diversified pool list
# relaunches elsewhere, so the CPU figure plus a little image pull and checkpoint load is the
# base case. The Frontier-CS "cant_be_late" benchmark built on these traces uses 3 and 12 min.
DEFAULT_RESTART_OVERHEAD_MINUTES: Final = 10.0
DEFAULT_MIN_INSTANCE_TYPES: Final = 3  # the seed scenario's g4dn / g5 / p3 spread
# Blast radius by default: no instance type and no zone carries more than half of the nodes
# (never less than one node), so one pool running dry cannot take the whole job down.
DEFAULT_MAX_SHARE_PER_TYPE: Final = 0.5
DEFAULT_MAX_SHARE_PER_FAMILY: Final = 1.0  # GPU families are few; opt in where they are not
DEFAULT_MAX_SHARE_PER_ZONE: Final = 0.5
# Spot prices are collected hourly; three missed collections mean the price is not known.
DEFAULT_MAX_PRICE_AGE_HOURS: Final = 6.0
# No band by default: rows follow the effective cost they show, and λ, capacity and the zone
# signals decide only exact ties. A band (effective costs within it tie, the lower λ first) counts
# λ twice, since the effective cost already holds it. On real data it loses: `python
# bench/backtest.py` (section i b: 48 profiles x 6 scopes, rank on the 2021 advisor, score on
# 2025) gives, against price-first, band 0: cost -0.3 % (90 % interval -0.6 .. -0.1), nodes in
# >= 15 % buckets -2.0 pp (-3.7 .. -0.3); band 0.05: +0.3 % (-0.1 .. +0.6) and +0.5 pp (-1.9 ..
# +2.4); 0.01 and 0.02 lie between. A pool's own price drifts ~4 % a month (`python
# bench/zone_signals.py`, section 5), so a band near that suits a user who values steadiness
# over the last percent (`--cost-tie-band 0.05`).
DEFAULT_COST_TIE_BAND: Final = 0.0


@dataclass(frozen=True, slots=True)
class Range:
    """Closed interval; either end may be open (None)."""

    min: float | None = None
    max: float | None = None

    def contains(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def to_dict(self) -> dict[str, float | None]:
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True, slots=True)
class Requirements:
    """A validated request. Build it with `parse_requirements`, not directly."""

    vcpus: Range = Range()
    memory_gib: Range = Range()
    gpus: int | None = None  # None = don't care, 0 = CPU only
    gpu_memory_gib: float | None = None  # minimum per GPU
    gpu_models: tuple[str, ...] = ()  # canonical names, classes expanded; () = any
    arch: str | None = None
    clouds: tuple[str, ...] = ()  # () = any
    regions: tuple[str, ...] = ()  # () = anywhere
    capacity_types: tuple[str, ...] = CAPACITY_TYPES
    nodes: int = 1
    max_price: float | None = None  # $/h per node
    strategy: str = "effective-cost"
    cost_tie_band: float = DEFAULT_COST_TIE_BAND  # effective costs within this fraction tie
    top: int = DEFAULT_TOP
    checkpoint_interval_minutes: float = DEFAULT_CHECKPOINT_INTERVAL_MINUTES
    final_checkpoint_seconds: float = DEFAULT_FINAL_CHECKPOINT_SECONDS
    restart_overhead_minutes: float = DEFAULT_RESTART_OVERHEAD_MINUTES
    min_instance_types: int = DEFAULT_MIN_INSTANCE_TYPES
    max_share_per_type: float = DEFAULT_MAX_SHARE_PER_TYPE
    max_share_per_family: float = DEFAULT_MAX_SHARE_PER_FAMILY
    max_share_per_zone: float = DEFAULT_MAX_SHARE_PER_ZONE
    min_zones: int = 1
    max_price_age_hours: float = DEFAULT_MAX_PRICE_AGE_HOURS
    data: str = "auto"  # one of DATA_CHOICES
    # Fraction off the on-demand list price per cloud / region / family (Savings Plans, RIs):
    # on-demand is priced list × (1 − discount) (`selector.discounts`).
    on_demand_discounts: OnDemandDiscounts = NO_DISCOUNTS

    @property
    def wants_gpu(self) -> bool:
        return bool(self.gpus) or self.gpu_memory_gib is not None or bool(self.gpu_models)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Range | OnDemandDiscounts):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def parse_range(text: str, *, field: str = "range") -> Range:
    """Parse a CLI range: ``"4:16"``, ``"16:"`` (at least), ``":8"`` (at most), ``"8"`` (exact)."""
    raw = text.strip()
    if not raw:
        raise RequirementsError(field, "empty range")
    lo_text, sep, hi_text = raw.partition(":")
    if not sep:
        value = _number_from_text(raw, field)
        return _check_range(Range(value, value), field)
    lo = _number_from_text(lo_text, field) if lo_text.strip() else None
    hi = _number_from_text(hi_text, field) if hi_text.strip() else None
    return _check_range(Range(lo, hi), field)


def parse_requirements(mapping: Mapping[str, object]) -> Requirements:
    """Validate a requirements mapping (CLI flags, REST body or profile YAML alike)."""
    if not isinstance(mapping, Mapping):
        raise RequirementsError("requirements", "expected a mapping of field -> value")
    known = {f.name for f in fields(Requirements)}
    for key in mapping:
        if not isinstance(key, str) or key not in known:
            raise RequirementsError(_key(key), f"unknown field; expected one of {sorted(known)}")
    m = mapping
    gpus = _opt_int(m, "gpus", 0, MAX_GPUS)
    gpu_memory = _opt_float(m, "gpu_memory_gib", 0.0, MAX_GPU_MEMORY_GIB)
    gpu_models = _gpu_models(m)
    if gpus == 0 and (gpu_memory is not None or gpu_models):
        field = "gpu_memory_gib" if gpu_memory is not None else "gpu_models"
        raise RequirementsError(field, "contradicts gpus: 0 (CPU only)")
    req = Requirements(
        vcpus=_range(m, "vcpus", MAX_VCPUS),
        memory_gib=_range(m, "memory_gib", MAX_MEMORY_GIB),
        gpus=gpus,
        gpu_memory_gib=gpu_memory,
        gpu_models=gpu_models,
        arch=_arch(m),
        clouds=_choices(m, "clouds", CLOUDS, ()),
        regions=_strings(m, "regions"),
        capacity_types=_choices(m, "capacity_types", CAPACITY_TYPES, CAPACITY_TYPES),
        nodes=_int(m, "nodes", 1, 1, MAX_NODES),
        max_price=_opt_float(m, "max_price", 0.0, MAX_PRICE_PER_HOUR),
        strategy=_choice(m, "strategy", STRATEGIES, "effective-cost"),
        cost_tie_band=_float(m, "cost_tie_band", DEFAULT_COST_TIE_BAND, 0.0, 1.0),
        top=_int(m, "top", DEFAULT_TOP, 1, MAX_TOP),
        checkpoint_interval_minutes=_float(
            m, "checkpoint_interval_minutes", DEFAULT_CHECKPOINT_INTERVAL_MINUTES, 0.0, MAX_MINUTES
        ),
        final_checkpoint_seconds=_float(
            m, "final_checkpoint_seconds", DEFAULT_FINAL_CHECKPOINT_SECONDS, 0.0, MAX_MINUTES * 60
        ),
        restart_overhead_minutes=_float(
            m, "restart_overhead_minutes", DEFAULT_RESTART_OVERHEAD_MINUTES, 0.0, MAX_MINUTES
        ),
        min_instance_types=_int(m, "min_instance_types", DEFAULT_MIN_INSTANCE_TYPES, 1, MAX_TOP),
        max_share_per_type=_share(m, "max_share_per_type", DEFAULT_MAX_SHARE_PER_TYPE),
        max_share_per_family=_share(m, "max_share_per_family", DEFAULT_MAX_SHARE_PER_FAMILY),
        max_share_per_zone=_share(m, "max_share_per_zone", DEFAULT_MAX_SHARE_PER_ZONE),
        min_zones=_int(m, "min_zones", 1, 1, MAX_TOP),
        max_price_age_hours=_float(
            m, "max_price_age_hours", DEFAULT_MAX_PRICE_AGE_HOURS, 0.0, MAX_SIGNAL_AGE_HOURS
        ),
        data=_choice(m, "data", DATA_CHOICES, "auto"),
        on_demand_discounts=parse_discounts(m.get("on_demand_discounts")),
    )
    if req.max_price_age_hours <= 0:
        raise RequirementsError("max_price_age_hours", "must be > 0")
    return req


# --- messages ------------------------------------------------------------------------------


def _shown(value: object) -> str:
    """``repr(value)`` cut short, so a huge or deeply nested value never floods a message."""
    try:
        return _SHORT.repr(value)
    except ValueError:  # an integer beyond Python's int-to-text digit limit
        return f"<{type(value).__name__} too large to show>"


def _key(key: object) -> str:
    """A mapping key as a field name: itself when it is a short string, else quoted short."""
    if isinstance(key, str) and len(key) <= MAX_SHOWN_CHARS and key.isprintable():
        return key
    return _shown(key)


def _shown_keys(keys: Iterable[object]) -> str:
    names = sorted(map(_shown, keys))
    more = len(names) - MAX_SHOWN_KEYS
    return ", ".join(names[:MAX_SHOWN_KEYS]) + (f" and {more} more" if more > 0 else "")


# --- field parsers -------------------------------------------------------------------------


def _number(value: object, field: str) -> float:
    # bool is an int subclass; `gpus: true` is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequirementsError(field, f"expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        raise RequirementsError(field, "is far too large") from None
    if not math.isfinite(number):
        raise RequirementsError(field, "must be finite")
    return number


def _number_from_text(text: str, field: str) -> float:
    try:
        number = float(text.strip())
    except ValueError:
        raise RequirementsError(field, f"not a number: {_shown(text.strip())}") from None
    if not math.isfinite(number):
        raise RequirementsError(field, "must be finite")
    return number


def _bounded(number: float, field: str, lo: float, hi: float) -> float:
    if number < lo:
        raise RequirementsError(field, f"must be >= {lo:g}, got {number:g}")
    if number > hi:
        raise RequirementsError(field, f"must be <= {hi:g}, got {number:g}")
    return number


def _float(m: Mapping[str, object], field: str, default: float, lo: float, hi: float) -> float:
    if m.get(field) is None:
        return default
    return _bounded(_number(m[field], field), field, lo, hi)


def _opt_float(m: Mapping[str, object], field: str, lo: float, hi: float) -> float | None:
    if m.get(field) is None:
        return None
    return _bounded(_number(m[field], field), field, lo, hi)


def _opt_int(m: Mapping[str, object], field: str, lo: int, hi: int) -> int | None:
    if m.get(field) is None:
        return None
    number = _bounded(_number(m[field], field), field, lo, hi)
    if not number.is_integer():
        raise RequirementsError(field, f"must be a whole number, got {number:g}")
    return int(number)


def _int(m: Mapping[str, object], field: str, default: int, lo: int, hi: int) -> int:
    value = _opt_int(m, field, lo, hi)
    return default if value is None else value


def _share(m: Mapping[str, object], field: str, default: float) -> float:
    share = _float(m, field, default, 0.0, 1.0)
    if share <= 0:
        raise RequirementsError(field, "must be a fraction with 0 < x <= 1")
    return share


def _check_range(rng: Range, field: str, hi: float = math.inf) -> Range:
    for end in (rng.min, rng.max):
        if end is not None:
            _bounded(end, field, 0.0, hi)
    if rng.min is not None and rng.max is not None and rng.min > rng.max:
        raise RequirementsError(field, f"min {rng.min:g} > max {rng.max:g}")
    return rng


def _range(m: Mapping[str, object], field: str, hi: float) -> Range:
    value = m.get(field)
    if value is None:
        return Range()
    if isinstance(value, str):
        return _check_range(parse_range(value, field=field), field, hi)
    if isinstance(value, Range):
        return _check_range(value, field, hi)
    if isinstance(value, Mapping):
        extra = set(value) - {"min", "max"}
        if extra:
            raise RequirementsError(field, f"unknown keys {_shown_keys(extra)}; use min/max")
        lo, up = value.get("min"), value.get("max")
        rng = Range(
            None if lo is None else _number(lo, f"{field}.min"),
            None if up is None else _number(up, f"{field}.max"),
        )
        return _check_range(rng, field, hi)
    exact = _number(value, field)
    return _check_range(Range(exact, exact), field, hi)


def _strings(m: Mapping[str, object], field: str) -> tuple[str, ...]:
    value = m.get(field)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise RequirementsError(field, f"expected a list of strings, got {type(value).__name__}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise RequirementsError(field, f"expected non-empty strings, got {_shown(item)}")
        out.append(item.strip())
    return tuple(sorted(set(out)))


def _choices(
    m: Mapping[str, object], field: str, allowed: tuple[str, ...], default: tuple[str, ...]
) -> tuple[str, ...]:
    items = tuple(s.lower() for s in _strings(m, field))
    if not items:
        return default
    for item in items:
        if item not in allowed:
            raise RequirementsError(field, f"{_shown(item)} is not one of {list(allowed)}")
    return tuple(sorted(set(items)))


def _choice(m: Mapping[str, object], field: str, allowed: tuple[str, ...], default: str) -> str:
    value = m.get(field)
    if value is None:
        return default
    if not isinstance(value, str) or value.lower() not in allowed:
        raise RequirementsError(field, f"{_shown(value)} is not one of {list(allowed)}")
    return value.lower()


def _arch(m: Mapping[str, object]) -> str | None:
    value = m.get("arch")
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequirementsError("arch", f"expected a string, got {type(value).__name__}")
    arch = _ARCH_ALIASES.get(value.lower(), value.lower())
    if arch not in ARCHES:
        raise RequirementsError("arch", f"{_shown(value)} is not one of {list(ARCHES)}")
    return arch


def _gpu_models(m: Mapping[str, object]) -> tuple[str, ...]:
    names = _strings(m, "gpu_models")
    models = expand_gpu_models(names)
    if any(not model for model in models):
        raise RequirementsError("gpu_models", "empty model name")
    return models


def with_default_discounts(req: Requirements, defaults: OnDemandDiscounts) -> Requirements:
    """`req` with the deployment's default rules (SPOTSEL_ON_DEMAND_DISCOUNTS) under its own,
    rule by rule (`OnDemandDiscounts.over`). The one place settings meet a request."""
    if not defaults.rules:
        return req
    return replace(req, on_demand_discounts=req.on_demand_discounts.over(defaults))
