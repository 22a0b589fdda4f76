"""On-demand discounts (Savings Plans, Reserved Instances, negotiated rates) per cloud / region /
family: the on-demand price a user really pays is list × (1 − discount).

Spot that is cheaper than the list price can be dearer than on-demand under a Savings Plan, so
the ranking and the spot-vs-on-demand verdict compare against the discounted price.

Rules are keyed ``cloud``, ``cloud/family`` or ``cloud/region/family`` (``*`` = any), valued a
fraction off list in [0, 1)::

    {"aws": 0.2, "aws/p5": 0.45, "aws/us-east-1/g5": 0.3, "aws/eu-west-1/*": 0.1}
    aws=0.2,aws/p5=0.45                       (the same as one string: a CLI flag, an env var)

A two-part key always names a family (an EC2 Instance Savings Plan or a Reserved Instance is
bought per family); a region-wide rule is written ``cloud/region/*``. The most specific rule
wins: region + family, then family, then region, then cloud; no rule = list price.
Families and regions match case-insensitively.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from selector.errors import RequirementsError
from selector.pools import CLOUDS

if TYPE_CHECKING:  # numpy loads with the ranking, not with every parse of a request
    import numpy as np
    import numpy.typing as npt

    from selector.pool_index import PoolIndex

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]

__all__ = [
    "ANY",
    "MAX_DISCOUNT_RULES",
    "NO_DISCOUNTS",
    "DiscountRule",
    "OnDemandDiscounts",
    "on_demand_discount_by_row",
    "parse_discounts",
]

FIELD: Final = "on_demand_discounts"
ANY: Final = "*"
# Real price agreements have a handful of rules (one Compute Savings Plan, a few Instance
# Savings Plans / RIs); hundreds would be a pasted price list, not discounts.
MAX_DISCOUNT_RULES: Final = 256
# The longest key segment we take (regions and families are < 40 characters on every cloud).
MAX_SEGMENT_CHARS: Final = 64
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
# A family segment shaped like an AWS or GCP region (us-east-1, europe-west4) is a region written
# where a family goes: `aws/us-east-1` would match no family and silently discount nothing.
_REGION_SHAPE = re.compile(r"[a-z]{2,}(-[a-z]+)+-?\d+")


@dataclass(frozen=True, slots=True, order=True)
class DiscountRule:
    """One rule: `discount` off the list price of `cloud` on-demand in `region` / `family`
    (None = any)."""

    cloud: str
    region: str | None
    family: str | None
    discount: float

    @property
    def key(self) -> str:
        """The canonical key: ``aws``, ``aws/p5``, ``aws/us-east-1/*`` or ``aws/us-east-1/g5``."""
        if self.region is None:
            return self.cloud if self.family is None else f"{self.cloud}/{self.family}"
        return f"{self.cloud}/{self.region}/{self.family or ANY}"

    @property
    def specificity(self) -> int:
        """0 cloud, 1 region, 2 family, 3 region + family: the higher wins."""
        return (2 if self.family is not None else 0) + (1 if self.region is not None else 0)


@dataclass(frozen=True, slots=True)
class OnDemandDiscounts:
    """Validated rules, sorted by key (hashable: a requirements value and a cache key)."""

    rules: tuple[DiscountRule, ...] = ()

    def __bool__(self) -> bool:
        return any(r.discount > 0 for r in self.rules)

    def discount_for(self, cloud: str, region: str, family: str) -> float:
        """The fraction off list for one pool (the most specific matching rule; 0 = none)."""
        best: DiscountRule | None = None
        region, family = region.lower(), family.lower()
        for rule in self.rules:
            if (
                rule.cloud == cloud
                and rule.region in (None, region)
                and rule.family in (None, family)
                and (best is None or rule.specificity > best.specificity)
            ):
                best = rule
        return 0.0 if best is None else best.discount

    def over(self, defaults: OnDemandDiscounts) -> OnDemandDiscounts:
        """These rules laid over `defaults` rule by rule: a key given here replaces the default
        of the same key (``aws=0`` cancels a default ``aws`` rule); other defaults still apply."""
        merged = {r.key: r for r in defaults.rules} | {r.key: r for r in self.rules}
        return OnDemandDiscounts(tuple(sorted(merged.values(), key=lambda r: r.key)))

    def to_dict(self) -> dict[str, float]:
        return {r.key: r.discount for r in self.rules}

    def describe(self) -> str:
        """``aws 20% off, aws/p5 45% off``: the rules in one short phrase."""
        return ", ".join(f"{r.key} {r.discount:.0%} off" for r in self.rules) or "none"


# No rule: every on-demand pool at its list price.
NO_DISCOUNTS: Final = OnDemandDiscounts()


def parse_discounts(value: object, *, field: str = FIELD) -> OnDemandDiscounts:
    """Validate rules given as a mapping ``{key: fraction}``, the text ``key=fraction,...`` or
    an `OnDemandDiscounts`; a bad key or value is a `RequirementsError` naming `field`."""
    if value is None:
        return NO_DISCOUNTS
    if isinstance(value, OnDemandDiscounts):
        return value
    if isinstance(value, str):
        pairs = [_text_pair(part, field) for part in value.split(",") if part.strip()]
    elif isinstance(value, Mapping):
        pairs = [(key, _fraction(v, field, key)) for key, v in value.items()]
    else:
        raise RequirementsError(
            field,
            f"expected a mapping of cloud[/region]/family -> fraction off list, or text like "
            f"aws=0.2,aws/p5=0.45; got {type(value).__name__}",
        )
    if len(pairs) > MAX_DISCOUNT_RULES:
        raise RequirementsError(field, f"{len(pairs)} rules; at most {MAX_DISCOUNT_RULES}")
    rules: dict[str, DiscountRule] = {}
    for key, discount in pairs:
        rule = _rule(key, discount, field)
        if rule.key in rules:
            raise RequirementsError(field, f"{key!r} repeats the rule {rule.key!r}")
        rules[rule.key] = rule
    return OnDemandDiscounts(tuple(sorted(rules.values(), key=lambda r: r.key)))


def on_demand_discount_by_row(
    snap: PoolIndex, rows: IntArray, discounts: OnDemandDiscounts
) -> FloatArray:
    """Fraction off list per row of `rows` (vectorised `OnDemandDiscounts.discount_for`)."""
    import numpy as np

    out = np.zeros(rows.size)
    if not discounts or rows.size == 0:
        return out
    cloud_code = snap.cloud_code[rows]
    region_code = snap.region_code[rows]
    family_code = snap.family_code[rows]
    regions = {name.lower(): code for code, name in enumerate(snap.regions)}
    families = _family_names(snap, rows, family_code)
    # Least specific first, so the most specific matching rule is written last and wins.
    for rule in sorted(discounts.rules, key=lambda r: r.specificity):
        if rule.cloud not in snap.clouds:
            continue
        mask = cloud_code == snap.clouds.index(rule.cloud)
        if rule.region is not None:
            mask &= region_code == regions.get(rule.region, -1)
        if rule.family is not None:
            mask &= families == rule.family
        out[mask] = rule.discount
    return out


# --- parsing helpers ---------------------------------------------------------------------------


def _family_names(
    snap: PoolIndex, rows: IntArray, family_code: IntArray
) -> npt.NDArray[np.object_]:
    """Lower-case family name per row, read from one record per family code present."""
    import numpy as np

    first = np.full(int(family_code.max()) + 1, -1, dtype=np.int64)
    first[family_code] = rows  # any row of the code will do: the family is the code's
    names = np.array(
        [snap.records[int(r)].family.lower() if r >= 0 else "" for r in first], dtype=object
    )
    return names[family_code]


def _text_pair(part: str, field: str) -> tuple[object, float]:
    key, sep, number = part.partition("=")
    if not sep:
        raise RequirementsError(field, f"{part.strip()[:MAX_SEGMENT_CHARS]!r} is not key=fraction")
    try:
        discount = float(number.strip())
    except ValueError:
        raise RequirementsError(
            field, f"{key.strip()}: {number.strip()[:MAX_SEGMENT_CHARS]!r} is not a number"
        ) from None
    return key.strip(), _fraction(discount, field, key.strip())


def _fraction(value: object, field: str, key: object) -> float:
    where = key if isinstance(key, str) and len(key) <= 3 * MAX_SEGMENT_CHARS else "a rule"
    # bool is an int subclass: `aws: true` is a typo, not a discount of 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequirementsError(
            field, f"{where}: expected a fraction off list (0.2 = 20%), got {type(value).__name__}"
        )
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number < 1.0):
        raise RequirementsError(
            field, f"{where}: {number:g} is not a fraction 0 <= x < 1 (0.2 = 20% off list)"
        )
    return number


def _rule(key: object, discount: float, field: str) -> DiscountRule:
    if not isinstance(key, str) or len(key) > 3 * MAX_SEGMENT_CHARS:
        raise RequirementsError(field, "a key must be text like aws, aws/p5 or aws/us-east-1/g5")
    parts = [p.strip() for p in key.split("/")]
    if len(parts) > 3:
        raise RequirementsError(field, f"{key!r}: at most cloud/region/family")
    cloud = parts[0].lower()
    if cloud not in CLOUDS:
        raise RequirementsError(field, f"{key!r}: cloud {parts[0]!r} is not one of {list(CLOUDS)}")
    segments = parts[1:] if len(parts) == 3 else [ANY, parts[1] if len(parts) == 2 else ANY]
    for segment in segments:
        if segment != ANY and not _SEGMENT.fullmatch(segment):
            raise RequirementsError(field, f"{key!r}: {segment!r} is not a region or family name")
    region, family = (None if s == ANY else s.lower() for s in segments)
    if family is not None and _REGION_SHAPE.fullmatch(family):
        raise RequirementsError(
            field,
            f"{key!r}: {family!r} is a region where the family goes; write "
            f"{cloud}/{family}/* for a region-wide rule, {cloud}/REGION/FAMILY for both",
        )
    return DiscountRule(cloud=cloud, region=region, family=family, discount=discount)
