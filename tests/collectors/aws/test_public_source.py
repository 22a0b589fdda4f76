"""`aws-public` and `aws-advisor` together, on both engines: reloads, derived on-demand prices in
either order, real specs and prices never overwritten, dating, partial and failed runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from collectors import get_source
from collectors.aws.public import LEGACY_REGIONS, NOT_OFFERED
from collectors.aws.public_derive import DERIVED_SOURCE
from collectors.base import CollectContext
from collectors.runner import run_source
from core.errors import SourceDataError
from core.settings import Settings
from core.store import persist_run
from core.tables import (
    Base,
    CollectionRun,
    CollectionRunRegion,
    InstanceType,
    OnDemandPrice,
    SpotPrice,
)
from selector.explain import DERIVED_SOURCE_SUFFIX
from tests.factories import make_result, make_type

ADVISOR_DAY = datetime(2025, 6, 28, tzinfo=UTC)
FEED_DAY = datetime(2021, 4, 6, tzinfo=UTC)
DATA_TABLES = ("instance_types", "offerings", "spot_prices", "on_demand_prices",
               "interruption_rates")  # fmt: skip


def _advisor_path(shared_data: Path) -> Path:
    return shared_data / "aws-spot-advisor" / "spot-advisor-data_2025-06-28.json"


def _feed_path(shared_data: Path) -> Path:
    return (
        shared_data / "aws-spot-price-history" / "spotinfo_spot-js-price-test-data_2021-04-06.json"
    )


def _ctx(settings: Settings, now: datetime, handler: Any = None, **options: Any) -> CollectContext:
    factory = None
    if handler is not None:
        factory = lambda: httpx.Client(transport=httpx.MockTransport(handler))  # noqa: E731
    return CollectContext(settings=settings, now=now, options=options, http_client_factory=factory)


def _load_advisor(engine: Engine, settings: Settings, now: datetime, shared_data: Path) -> Any:
    ctx = _ctx(settings, now, source_url=_advisor_path(shared_data).as_uri(), as_of=ADVISOR_DAY)
    return run_source(engine, get_source("aws-advisor"), ctx)


def _load_feed(engine: Engine, settings: Settings, now: datetime, shared_data: Path) -> Any:
    ctx = _ctx(settings, now, source_url=_feed_path(shared_data).as_uri(), as_of=FEED_DAY)
    return run_source(engine, get_source("aws-public"), ctx)


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with Session(engine) as session:
        for name in DATA_TABLES:
            table = Base.metadata.tables[name]
            out[name] = sorted(tuple(row) for row in session.execute(select(table)))
    return out


def _wipe(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


def _expected_derived(shared_data: Path) -> dict[tuple[str, str], float]:
    """spot / (1 − s/100) for every (region, type) in both files, computed from the files."""
    advisor = json.loads(_advisor_path(shared_data).read_bytes())["spot_advisor"]
    feed = json.loads(_feed_path(shared_data).read_bytes())
    out = {}
    for region in feed["config"]["regions"]:
        real = LEGACY_REGIONS.get(region["region"], region["region"])
        for group in region["instanceTypes"]:
            for size in group["sizes"]:
                price = next(c for c in size["valueColumns"] if c["name"] == "linux")
                text = price["prices"]["USD"]
                cell = advisor.get(real, {}).get("Linux", {}).get(size["size"])
                if text != NOT_OFFERED and cell is not None and cell["s"] < 100:
                    out[(real, size["size"])] = float(text) / (1 - cell["s"] / 100)
    return out


def test_reloading_the_same_feed_writes_nothing_new(
    engine: Engine, settings: Settings, now: datetime, shared_data: Path
) -> None:
    first = _load_feed(engine, settings, now, shared_data)
    assert first.status == "ok"
    assert first.rows_new == first.rows_written > 0
    before = _snapshot(engine)
    again = _load_feed(engine, settings, now, shared_data)
    assert (again.status, again.rows_new) == ("ok", 0)
    assert _snapshot(engine) == before
    assert again.data_as_of == FEED_DAY, "dated by --as-of, not by the file's mtime"


def test_derived_on_demand_is_the_same_in_either_order(
    engine: Engine, settings: Settings, now: datetime, shared_data: Path
) -> None:
    _load_advisor(engine, settings, now, shared_data)
    second = _load_feed(engine, settings, now, shared_data)
    advisor_first = _snapshot(engine)
    _wipe(engine)
    _load_feed(engine, settings, now, shared_data)
    last = _load_advisor(engine, settings, now, shared_data)
    assert _snapshot(engine) == advisor_first, "either order ends in the same store"
    assert second.status == last.status == "ok"

    expected = _expected_derived(shared_data)
    with Session(engine) as session:
        rows = session.scalars(select(OnDemandPrice)).all()
    assert {(r.region, r.instance_type) for r in rows} == expected.keys()
    for row in rows:
        # Stored to the micro-dollar.
        want = expected[(row.region, row.instance_type)]
        assert row.price_usd_per_hour == pytest.approx(want, abs=1e-6)
        assert (row.source, row.os) == (DERIVED_SOURCE, "linux")
        assert row.observed_at == max(ADVISOR_DAY, FEED_DAY), "known once both inputs were"
    assert DERIVED_SOURCE.endswith(DERIVED_SOURCE_SUFFIX), "the ranking flags it as derived"


def test_real_prices_and_specs_are_never_overwritten(
    engine: Engine, settings: Settings, now: datetime, shared_data: Path
) -> None:
    real_price = {"cloud": "aws", "region": "us-east-1", "instance_type": "g4dn.xlarge",
                  "os": "linux", "price_usd_per_hour": 0.526, "source": "aws",
                  "observed_at": now}  # fmt: skip
    real_spec = make_type(name="g4dn.xlarge", family="g4dn", vcpus=4, memory_gib=16.0,
                          gpu_model="T4", gpu_memory_gib=15.0, source="aws",
                          network_gbps=25.0)  # fmt: skip
    persist_run(engine, make_result({"instance_types": [real_spec],
                                     "on_demand_prices": [real_price]}))  # fmt: skip
    _load_feed(engine, settings, now, shared_data)
    _load_advisor(engine, settings, now, shared_data)
    with Session(engine) as session:
        od = session.scalars(select(OnDemandPrice).where(OnDemandPrice.region == "us-east-1",
                             OnDemandPrice.instance_type == "g4dn.xlarge")).one()  # fmt: skip
        spec = session.get(InstanceType, ("aws", "g4dn.xlarge"))
        derived = session.scalar(select(func.count()).where(OnDemandPrice.source == DERIVED_SOURCE))
    assert (od.source, od.price_usd_per_hour) == ("aws", 0.526)
    assert spec is not None
    assert (spec.source, spec.gpu_memory_gib, spec.network_gbps) == (
        "aws",
        15.0,
        25.0,
    )
    assert derived == len(_expected_derived(shared_data)) - 1, "every other pair derives"


def test_http_is_dated_by_last_modified_and_uses_the_etag(
    engine: Engine, settings: Settings, now: datetime, shared_data: Path
) -> None:
    body = b"callback(" + _feed_path(shared_data).read_bytes() + b");"
    modified = datetime(2021, 4, 6, 9, 30, tzinfo=UTC)
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        headers = {"ETag": '"v1"', "Last-Modified": format_datetime(modified, usegmt=True)}
        return httpx.Response(200, content=body, headers=headers)

    source = get_source("aws-public")
    first = run_source(engine, source, _ctx(settings, now, handler))
    assert first.data_as_of == modified
    second = run_source(engine, source, _ctx(settings, now, handler))
    assert seen == [None, '"v1"']
    assert (second.status, second.rows_new) == ("ok", 0), "304: confirmed, nothing new"


def test_an_unknown_region_makes_the_run_partial(
    engine: Engine, settings: Settings, now: datetime, tmp_path: Path
) -> None:
    size = {"size": "m5.large", "valueColumns": [{"name": "linux", "prices": {"USD": "0.04"}}]}
    regions = [{"region": name, "instanceTypes": [{"type": "general", "sizes": [size]}]}
               for name in ("us-east", "mars-north")]  # fmt: skip
    path = tmp_path / "spot.js"
    path.write_text(json.dumps({"config": {"rate": "perhr", "regions": regions}}))
    ctx = _ctx(settings, now, source_url=path.as_uri(), as_of=FEED_DAY)
    run = run_source(engine, get_source("aws-public"), ctx)
    assert run.status == "partial"
    assert "mars-north" in (run.error_message or "")
    with Session(engine) as session:
        outcome = dict(session.execute(
            select(CollectionRunRegion.region, CollectionRunRegion.status)).all())  # fmt: skip
        stored = session.scalars(select(SpotPrice.region)).all()
    assert outcome == {"us-east-1": "ok", "mars-north": "failed"}
    assert stored == ["us-east-1"]


def test_a_malformed_feed_fails_the_run_and_writes_nothing(
    engine: Engine, settings: Settings, now: datetime, tmp_path: Path
) -> None:
    path = tmp_path / "spot.js"
    path.write_text('callback({"config": {"rate": "perhr", "regions": [{"region": "us-east"}]}});')
    ctx = _ctx(settings, now, source_url=path.as_uri(), as_of=FEED_DAY)
    with pytest.raises(SourceDataError, match="instanceTypes"):
        run_source(engine, get_source("aws-public"), ctx)
    assert all(not rows for rows in _snapshot(engine).values())
    with Session(engine) as session:
        [run] = session.scalars(select(CollectionRun)).all()
    assert (run.status, run.error_class) == ("failed", "SourceDataError")


def test_a_scheduled_run_reads_the_configured_feed(
    engine: Engine, settings: Settings, now: datetime, shared_data: Path
) -> None:
    """No --source-url (the scheduler's case): SPOTSEL_AWS_PUBLIC_URL is the feed fetched."""
    mirror = "https://mirror.internal/spot.js"
    body = _feed_path(shared_data).read_bytes()
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        modified = format_datetime(datetime(2021, 4, 6, tzinfo=UTC), usegmt=True)
        return httpx.Response(200, content=body, headers={"Last-Modified": modified})

    configured = settings.model_copy(update={"aws_public_url": mirror})
    result = run_source(engine, get_source("aws-public"), _ctx(configured, now, handler))
    assert asked == [mirror]
    assert result.status == "ok"
    assert "aws-public" in Settings().schedule, "scheduled by default: it needs no credentials"
