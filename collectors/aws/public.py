"""Parse AWS's public regional spot price feed (``spot.js``) into offerings and spot prices.

Document shape (the legacy feed behind the old EC2 spot pricing page; the JSONP wrapper
``callback( … );`` is optional)::

    {"vers": 0.01, "config": {"rate": "perhr", "valueColumns": ["linux", "mswin"],
     "currencies": ["USD"], "regions": [{"region": "us-east", "instanceTypes": [
       {"type": "generalCurrentGen", "sizes": [{"size": "m5.large", "valueColumns": [
         {"name": "linux", "prices": {"USD": "0.0382"}}, …]}]}]}]}}

- Only the ``linux`` column is read. ``"N/A*"`` means the type is not offered as spot there.
- Prices are per region, not per zone: rows carry ``zone_id = REGIONAL_ZONE``.
- The feed names some regions the legacy way (``us-east``, ``eu-ireland``, ``apac-syd``, …):
  :data:`LEGACY_REGIONS` maps them (spotinfo's table, ``public/spot/price.go``). A real region
  name (``us-east-2``) is kept as is. Any other name is never guessed at: its prices are
  skipped and the region is reported back so the run can say so.
- Any structural problem, an unreadable price, a currency other than USD, a rate other than per
  hour, or a value the store cannot hold rejects the whole document.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from core.errors import SourceDataError
from core.limits import row_problem, shorten
from core.tables import REGIONAL_ZONE

__all__ = [
    "LEGACY_REGIONS",
    "LINUX_COLUMN",
    "NOT_OFFERED",
    "SOURCE",
    "SpotFeed",
    "offering_for",
    "parse_spot_feed",
    "real_region",
]

SOURCE = "aws-public"
LINUX_COLUMN: Final = "linux"
# The feed's marker for "not offered as spot in this region".
NOT_OFFERED: Final = "N/A*"
# The only rate and currency the feed has ever published; anything else is another document.
RATE_PER_HOUR: Final = "perhr"
CURRENCY: Final = "USD"
# Legacy region names of spot.js -> real region names (spotinfo, public/spot/price.go).
LEGACY_REGIONS: Final[Mapping[str, str]] = {
    "us-east": "us-east-1",
    "us-west": "us-west-1",
    "eu-ireland": "eu-west-1",
    "apac-sin": "ap-southeast-1",
    "apac-syd": "ap-southeast-2",
    "apac-tokyo": "ap-northeast-1",
}
# A real AWS region name: us-east-1, ap-southeast-2, us-gov-west-1, eu-central-2.
_REAL_REGION: Final = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$")
# ``callback( {...} );``: the JSONP wrapper of the live feed.
_JSONP: Final = re.compile(r"^\s*[A-Za-z_$][\w$]*\s*\((.*)\)\s*;?\s*$", re.DOTALL)


@dataclass(frozen=True)
class SpotFeed:
    """A parsed feed: offerings and price rows, and the region names it could not place."""

    offerings: list[dict[str, Any]]
    prices: list[dict[str, Any]]
    regions: tuple[str, ...]  # real names of the regions read
    unknown_regions: tuple[str, ...]  # feed names neither legacy nor real: skipped


def real_region(name: str) -> str | None:
    """The real region name of a feed's region name, or None when it is neither legacy nor real."""
    if name in LEGACY_REGIONS:
        return LEGACY_REGIONS[name]
    return name if _REAL_REGION.match(name) else None


def _fail(reason: str) -> SourceDataError:
    return SourceDataError(f"the spot price feed is malformed: {reason}")


def _load(document: bytes | str) -> Mapping[str, Any]:
    try:
        text = document.decode("utf-8") if isinstance(document, bytes) else document
    except UnicodeDecodeError:
        raise _fail("not UTF-8 text") from None
    wrapped = _JSONP.match(text)
    try:
        doc = json.loads(wrapped.group(1) if wrapped else text)
    except ValueError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(f"not JSON ({first})") from None
    if not isinstance(doc, Mapping):
        raise _fail("the top level is not an object")
    return doc


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(f"{what} is {shorten(value)}, expected a list")
    return value


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(f"{what} is {shorten(value)}, expected an object")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(f"{what} is {shorten(value)}, expected a name")
    return value


def _config(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    config = _object(doc.get("config"), "'config'")
    if config.get("rate") != RATE_PER_HOUR:
        raise _fail(f"'config.rate' is {shorten(config.get('rate'))}, expected {RATE_PER_HOUR!r}")
    currencies = config.get("currencies", [CURRENCY])
    if not isinstance(currencies, list) or CURRENCY not in currencies:
        raise _fail(f"'config.currencies' is {shorten(currencies)}, expected to hold {CURRENCY!r}")
    return config


def _linux_price(size: Mapping[str, Any], where: str) -> float | None:
    """The Linux price of one size; None = not offered (or no Linux column)."""
    price: float | None = None
    for column in _list(size.get("valueColumns"), f"{where}.valueColumns"):
        column = _object(column, f"{where}.valueColumns[]")
        if column.get("name") != LINUX_COLUMN:
            continue
        raw = _object(column.get("prices"), f"{where}.prices").get(CURRENCY)
        if raw == NOT_OFFERED:
            return None
        if not isinstance(raw, str):
            raise _fail(f"{where}: linux price is {shorten(raw)}, expected a decimal string")
        try:
            value = float(raw)
        except ValueError:
            raise _fail(f"{where}: linux price {shorten(raw)} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise _fail(f"{where}: linux price {shorten(raw)} is not a positive price")
        price = value
    return price


def offering_for(price: dict[str, Any]) -> dict[str, Any]:
    """The regional offering a price row stands for (``first_seen`` = the price's date).

    Spot is spare on-demand capacity, so a type the feed prices for spot in a region is offered
    on-demand there too; it ranks on-demand only where an on-demand price is known.
    """
    return {
        "cloud": price["cloud"], "region": price["region"], "zone_id": REGIONAL_ZONE,
        "instance_type": price["instance_type"], "source": SOURCE, "spot": True,
        "on_demand": True, "first_seen": price["observed_at"], "last_seen": price["observed_at"],
    }  # fmt: skip


def parse_spot_feed(document: bytes | str, *, observed_at: datetime) -> SpotFeed:
    """Offerings and regional spot prices of every known region; raises
    :class:`SourceDataError` on any malformed part (nothing is returned then)."""
    config = _config(_load(document))
    offerings: list[dict[str, Any]] = []
    prices: list[dict[str, Any]] = []
    regions: list[str] = []
    unknown: list[str] = []
    for entry in _list(config.get("regions"), "'config.regions'"):
        entry = _object(entry, "a 'config.regions' entry")
        name = _text(entry.get("region"), "a region name")
        region = real_region(name)
        groups = _list(entry.get("instanceTypes"), f"regions[{shorten(name)}].instanceTypes")
        if region is None:
            problem = row_problem("collection_run_regions", {"region": name})
            if problem is not None:  # the run record names it: it must be storable
                raise _fail(f"region name {problem}")
            unknown.append(name)
            continue
        if region in regions:
            raise _fail(f"region {shorten(region)} appears twice")
        regions.append(region)
        seen: set[str] = set()
        for group in groups:
            group = _object(group, f"regions[{shorten(name)}].instanceTypes[]")
            for size in _list(group.get("sizes"), f"regions[{shorten(name)}] sizes"):
                size = _object(size, f"regions[{shorten(name)}] size")
                instance_type = _text(size.get("size"), f"regions[{shorten(name)}] size name")
                where = f"regions[{shorten(name)}][{shorten(instance_type)}]"
                if instance_type in seen:
                    raise _fail(f"{where} appears twice")
                seen.add(instance_type)
                price = _linux_price(size, where)
                if price is None:
                    continue
                key = {"cloud": "aws", "region": region, "zone_id": REGIONAL_ZONE,
                       "instance_type": instance_type, "source": SOURCE}  # fmt: skip
                row = {**key, "ts": observed_at, "price_usd_per_hour": price,
                       "observed_at": observed_at}  # fmt: skip
                offering = offering_for(row)
                for table, checked in (("offerings", offering), ("spot_prices", row)):
                    problem = row_problem(table, checked)
                    if problem is not None:
                        raise _fail(f"{where}: {problem}")
                offerings.append(offering)
                prices.append(row)
    if not regions and not unknown:
        raise _fail("'config.regions' is empty")
    if regions and not prices:
        raise _fail("no linux spot price in any region")
    return SpotFeed(offerings, prices, tuple(regions), tuple(unknown))
