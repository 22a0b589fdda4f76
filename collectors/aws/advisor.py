"""Parse the public Spot Instance Advisor document into ``interruption_rates`` rows.

Document shape (``spot-advisor-data.json``)::

    {"ranges": [{"index": 0, "label": "<5%", ...}, ...],
     "instance_types": {"<type>": {"cores": .., "ram_gb": ..}},
     "spot_advisor": {"<region>": {"Linux": {"<type>": {"s": <savings %>, "r": <bucket>}}}}}

Only Linux rows are kept. ``s`` may be zero or negative in real files (spot dearer than
on-demand over the trailing month); those values are data, not errors. The document's own
``instance_types`` (cores and RAM only) is read by ``public_specs`` and never overwrites real
specs. Any structural problem, and any value the store cannot hold (a region or type name
longer than its column, a control character, a bucket beyond INTEGER, a NaN or infinite
saving), rejects the whole document: a half-read feed must not look like a complete one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.errors import SourceDataError
from core.limits import row_problem, shorten
from core.tables import REGIONAL_ZONE

__all__ = ["ADVISOR_OS", "SOURCE", "load_document", "parse_advisor"]

SOURCE = "aws-advisor"
# The advisor's key for Linux/UNIX rows (the other is "Windows").
ADVISOR_OS = "Linux"


def _fail(reason: str) -> SourceDataError:
    return SourceDataError(f"the Spot Advisor document is malformed: {reason}")


def load_document(document: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    """The document as a mapping; raises :class:`SourceDataError` when it is no JSON object."""
    if isinstance(document, Mapping):
        return document
    try:
        doc = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(f"not JSON ({first})") from None
    if not isinstance(doc, Mapping):
        raise _fail("the top level is not an object")
    return doc


def _labels(doc: Mapping[str, Any]) -> dict[int, str]:
    ranges = doc.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise _fail("'ranges' is missing or empty")
    labels: dict[int, str] = {}
    for entry in ranges:
        if not isinstance(entry, Mapping):
            raise _fail("a 'ranges' entry is not an object")
        index, label = entry.get("index"), entry.get("label")
        if type(index) is not int or not isinstance(label, str) or not label:
            raise _fail(f"'ranges' entry {shorten(entry)} needs an integer index and a label")
        labels[index] = label
    return labels


def _number(value: Any, *, what: str) -> int | float:
    # JSON allows NaN and Infinity literals, and integers of any size.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{what} is {shorten(value)}, expected a number")
    try:
        finite = math.isfinite(value)
    except OverflowError:
        finite = False
    if not finite:
        raise _fail(f"{what} is {shorten(value)}, expected a finite number")
    number: int | float = value
    return number


def parse_advisor(
    document: bytes | str | Mapping[str, Any], *, observed_at: datetime
) -> list[dict[str, Any]]:
    """Linux region × type rows; raises :class:`SourceDataError` on any malformed part."""
    doc = load_document(document)
    labels = _labels(doc)
    advisor = doc.get("spot_advisor")
    if not isinstance(advisor, Mapping) or not advisor:
        raise _fail("'spot_advisor' is missing or empty")
    rows: list[dict[str, Any]] = []
    for region, by_os in advisor.items():
        if not isinstance(by_os, Mapping):
            raise _fail(f"spot_advisor[{shorten(region)}] is not an object")
        linux = by_os.get(ADVISOR_OS, {})
        if not isinstance(linux, Mapping):
            raise _fail(f"spot_advisor[{shorten(region)}][{ADVISOR_OS!r}] is not an object")
        for instance_type, cell in linux.items():
            where = f"spot_advisor[{shorten(region)}][{ADVISOR_OS!r}][{shorten(instance_type)}]"
            if not isinstance(cell, Mapping):
                raise _fail(f"{where} is not an object")
            bucket = _number(cell.get("r"), what=f"{where}.r")
            savings = _number(cell.get("s"), what=f"{where}.s")
            if bucket not in labels:
                raise _fail(f"{where}.r = {shorten(bucket)} is not an index of 'ranges'")
            row = {
                "cloud": "aws",
                "region": str(region),
                "zone_id": REGIONAL_ZONE,
                "instance_type": str(instance_type),
                "source": SOURCE,
                "observed_at": observed_at,
                "bucket": int(bucket),
                "label": labels[int(bucket)],
                "rate": None,
                "savings_pct": float(savings),
            }
            problem = row_problem("interruption_rates", row)
            if problem is not None:
                raise _fail(f"{where}: {problem}")
            rows.append(row)
    if not rows:
        raise _fail(f"no {ADVISOR_OS} rows in any region")
    return rows
