"""`aws-public`: the spot.js parser on the real sample, region names, N/A, malformed documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.aws.public import (
    LEGACY_REGIONS,
    NOT_OFFERED,
    SOURCE,
    parse_spot_feed,
    real_region,
)
from core.errors import SourceDataError

AS_OF = datetime(2021, 4, 6, tzinfo=UTC)


def _sample(shared_data: Path) -> bytes:
    path = (
        shared_data / "aws-spot-price-history" / "spotinfo_spot-js-price-test-data_2021-04-06.json"
    )
    return path.read_bytes()


def _linux_cells(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(feed region, type, linux price text) of every size in the document."""
    return [
        (region["region"], size["size"], column["prices"]["USD"])
        for region in doc["config"]["regions"]
        for group in region["instanceTypes"]
        for size in group["sizes"]
        for column in size["valueColumns"]
        if column["name"] == "linux"
    ]


def test_every_linux_price_of_the_real_sample(shared_data: Path) -> None:
    raw = _sample(shared_data)
    cells = _linux_cells(json.loads(raw))
    offered = [(r, t, p) for r, t, p in cells if p != NOT_OFFERED]
    feed = parse_spot_feed(raw, observed_at=AS_OF)
    assert len(feed.prices) == len(offered) == len(feed.offerings)
    assert len(offered) < len(cells), "the sample holds N/A* cells: they must be skipped"
    by_key = {(r["region"], r["instance_type"]): r for r in feed.prices}
    for region, itype, price in offered:
        row = by_key[(LEGACY_REGIONS.get(region, region), itype)]
        assert row["price_usd_per_hour"] == float(price)
    assert all(r["zone_id"] == "" and r["source"] == SOURCE for r in feed.prices)
    assert all(r["ts"] == r["observed_at"] == AS_OF for r in feed.prices)
    assert all(o["spot"] and o["on_demand"] for o in feed.offerings)
    assert feed.unknown_regions == ()


def test_the_sample_regions_map_to_real_names(shared_data: Path) -> None:
    raw = _sample(shared_data)
    names = [r["region"] for r in json.loads(raw)["config"]["regions"]]
    feed = parse_spot_feed(raw, observed_at=AS_OF)
    assert feed.regions == tuple(LEGACY_REGIONS.get(n, n) for n in names)
    assert set(feed.regions) == {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "eu-west-1",
        "ap-southeast-2",
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("us-east", "us-east-1"),  # the legacy names of spotinfo's table
        ("us-west", "us-west-1"),
        ("eu-ireland", "eu-west-1"),
        ("apac-sin", "ap-southeast-1"),
        ("apac-syd", "ap-southeast-2"),
        ("apac-tokyo", "ap-northeast-1"),
        ("us-west-2", "us-west-2"),  # a real name is kept as is
        ("eu-central-1", "eu-central-1"),
        ("us-gov-west-1", "us-gov-west-1"),
        ("eu-frankfurt", None),  # neither legacy nor real: never guessed
        ("us-east-1a", None),  # a zone name is no region
        ("", None),
    ],
)
def test_region_names(name: str, expected: str | None) -> None:
    assert real_region(name) == expected


def _doc(regions: list[dict[str, Any]], **config: Any) -> bytes:
    base = {"rate": "perhr", "valueColumns": ["linux", "mswin"], "currencies": ["USD"]}
    return json.dumps({"vers": 0.01, "config": base | config | {"regions": regions}}).encode()


def _region(name: str, *sizes: tuple[str, str]) -> dict[str, Any]:
    return {
        "region": name,
        "instanceTypes": [
            {
                "type": "gpuCurrentGen",
                "sizes": [
                    {"size": size, "valueColumns": [
                        {"name": "linux", "prices": {"USD": price}},
                        {"name": "mswin", "prices": {"USD": "N/A*"}},
                    ]}
                    for size, price in sizes
                ],
            }
        ],
    }  # fmt: skip


def test_unknown_region_is_skipped_and_reported() -> None:
    doc = _doc(
        [_region("us-east", ("g4dn.xlarge", "0.1578")), _region("mars-1", ("m5.large", "1"))]
    )
    feed = parse_spot_feed(doc, observed_at=AS_OF)
    assert feed.regions == ("us-east-1",)
    assert feed.unknown_regions == ("mars-1",)
    assert {r["region"] for r in feed.prices} == {"us-east-1"}


def test_jsonp_wrapper_is_optional(shared_data: Path) -> None:
    raw = _sample(shared_data)
    wrapped = b"callback(" + raw + b");\n"
    assert parse_spot_feed(wrapped, observed_at=AS_OF) == parse_spot_feed(raw, observed_at=AS_OF)


def test_not_offered_and_missing_linux_column_write_nothing() -> None:
    doc = _doc([_region("us-east", ("g4dn.xlarge", NOT_OFFERED), ("p3.2xlarge", "0.918"))])
    feed = parse_spot_feed(doc, observed_at=AS_OF)
    assert [r["instance_type"] for r in feed.prices] == ["p3.2xlarge"]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param(b"<html>Access Denied</html>", "not JSON", id="an error page"),
        pytest.param(b"[]", "top level", id="not an object"),
        pytest.param(b'{"config": {"rate": "perhr"}}', "'config.regions'", id="no regions"),
        pytest.param(_doc([], rate="permonth"), "'config.rate'", id="another rate"),
        pytest.param(_doc([], currencies=["EUR"]), "currencies", id="another currency"),
        pytest.param(_doc([]), "empty", id="empty regions"),
        pytest.param(_doc([_region("us-east", ("g4dn.xlarge", "cheap"))]), "not a number",
                     id="a price that is no number"),
        pytest.param(_doc([_region("us-east", ("g4dn.xlarge", "-1"))]), "not a positive",
                     id="a negative price"),
        pytest.param(_doc([_region("us-east", ("g4dn.xlarge", "nan"))]), "not a positive",
                     id="NaN"),
        pytest.param(_doc([_region("us-east", ("g4dn.xlarge", "1"), ("g4dn.xlarge", "2"))]),
                     "twice", id="a type twice in a region"),
        pytest.param(_doc([_region("us-east", ("a", "1")), _region("us-east-1", ("b", "1"))]),
                     "twice", id="a legacy and a real name of one region"),
        pytest.param(_doc([_region("us-east", ("t" * 129, "1"))]), "instance_type",
                     id="a type name the store cannot hold"),
        pytest.param(_doc([_region("bad\x00name", ("m5.large", "1"))]), "control character",
                     id="an unknown region name the run record cannot hold"),
        pytest.param(_doc([_region("us-east", ("g4dn.xlarge", NOT_OFFERED))]), "no linux",
                     id="nothing offered anywhere"),
    ],
)  # fmt: skip
def test_malformed_documents_are_refused_whole(document: bytes, reason: str) -> None:
    with pytest.raises(SourceDataError, match=reason) as caught:
        parse_spot_feed(document, observed_at=AS_OF)
    message = str(caught.value)
    assert message.startswith("the spot price feed is malformed")
    assert "\n" not in message


def test_one_bad_price_refuses_the_real_sample_whole(shared_data: Path) -> None:
    doc = json.loads(_sample(shared_data))
    last = doc["config"]["regions"][-1]["instanceTypes"][-1]["sizes"][-1]
    next(c for c in last["valueColumns"] if c["name"] == "linux")["prices"]["USD"] = "0,12"
    with pytest.raises(SourceDataError, match="not a number"):
        parse_spot_feed(json.dumps(doc).encode(), observed_at=AS_OF)
