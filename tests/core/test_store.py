"""The shared write path: idempotent upserts, last-known-good, run bookkeeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.errors import SourceDataError
from core.runs import RegionError, RunStatus
from core.store import persist_run
from core.summary import source_statuses, store_totals
from core.tables import (
    CollectionRun,
    CollectionRunRegion,
    InstanceType,
    InterruptionRate,
    Offering,
    SpotPrice,
)
from tests.factories import T0, make_offering, make_result, make_spot_price, make_type


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _market(price: float = 0.41, zones: tuple[str, ...] = ("use1-az1", "use1-az2")) -> dict:
    return {
        "instance_types": [make_type()],
        "offerings": [make_offering(zone_id=z) for z in zones],
        "spot_prices": [make_spot_price(zone_id=z, price_usd_per_hour=price) for z in zones],
    }


def test_rerunning_the_same_collection_writes_no_duplicates(engine: Engine) -> None:
    first = persist_run(engine, make_result(_market()))
    second = persist_run(engine, make_result(_market()))
    assert first.rows_written == second.rows_written == 5
    assert first.rows_new == 5
    assert second.rows_new == 0
    assert _count(engine, Offering) == 2
    assert _count(engine, SpotPrice) == 2
    assert _count(engine, CollectionRun) == 2


def test_upsert_updates_values_but_keeps_first_seen(engine: Engine) -> None:
    persist_run(engine, make_result(_market(price=0.41)))
    later = T0 + timedelta(days=1)
    rows = _market(price=0.45)
    rows["offerings"] = [
        make_offering(zone_id="use1-az1", first_seen=later, last_seen=later, spot=False)
    ]
    persist_run(engine, make_result(rows))
    with Session(engine) as s:
        offering = s.scalars(select(Offering).where(Offering.zone_id == "use1-az1")).one()
        prices = s.scalars(select(SpotPrice.price_usd_per_hour)).all()
    assert offering.first_seen == T0, "first_seen must survive an update"
    assert offering.last_seen == later
    assert offering.spot is False
    assert sorted(prices) == [0.45, 0.45]


def test_duplicate_keys_within_one_batch_are_collapsed(engine: Engine) -> None:
    rows = {"spot_prices": [make_spot_price(price_usd_per_hour=p) for p in (0.1, 0.2, 0.3)]}
    run = persist_run(engine, make_result(rows))
    assert run.rows_written == 1
    with Session(engine) as s:
        assert s.scalars(select(SpotPrice.price_usd_per_hour)).all() == [0.3]


def test_small_batches_write_everything(engine: Engine) -> None:
    rows = {
        "spot_prices": [
            make_spot_price(ts=T0 - timedelta(minutes=i), price_usd_per_hour=0.1 + i / 1000)
            for i in range(257)
        ]
    }
    ticks: list[int] = []
    persist_run(engine, make_result(rows), batch_rows=50, progress=ticks.append)
    assert _count(engine, SpotPrice) == 257
    assert ticks == [50, 50, 50, 50, 50, 7]


def test_failed_region_keeps_last_known_good(engine: Engine) -> None:
    persist_run(engine, make_result(_market(price=0.41)))
    broken = make_result(
        _market(price=9.99),
        errors=(RegionError("us-east-1", "ThrottlingException", "Rate exceeded"),),
    )
    run = persist_run(engine, broken)
    assert run.status == RunStatus.FAILED
    assert run.error_class == "ThrottlingException"
    with Session(engine) as s:
        prices = s.scalars(select(SpotPrice.price_usd_per_hour)).all()
    assert sorted(prices) == [0.41, 0.41], "rows of a failed region must not be written"


def test_empty_region_is_a_failure_and_other_regions_still_land(engine: Engine) -> None:
    rows = _market()
    run = persist_run(engine, make_result(rows, regions=("us-east-1", "eu-west-1")))
    assert run.status == RunStatus.PARTIAL
    with Session(engine) as s:
        outcomes = dict(
            s.execute(select(CollectionRunRegion.region, CollectionRunRegion.error_class)).all()
        )
    assert outcomes == {"us-east-1": None, "eu-west-1": "EmptyResult"}
    assert _count(engine, Offering) == 2


@pytest.mark.parametrize(
    ("regions", "errors", "expected"),
    [
        pytest.param(("a",), (), RunStatus.OK, id="every region delivered"),
        pytest.param(("a", "b"), (RegionError("b", "X", "boom"),), RunStatus.PARTIAL,
                     id="one of two regions failed"),
        pytest.param(("a",), (RegionError("a", "X", "boom"),), RunStatus.FAILED,
                     id="the only region failed"),
        pytest.param(("a", "c"), (), RunStatus.PARTIAL, id="a region returned nothing"),
        pytest.param(("a",), (RegionError("*", "X", "advice refused"),), RunStatus.PARTIAL,
                     id="a source-wide extra failed, the only region delivered"),
    ],
)  # fmt: skip
def test_run_status_rules(
    regions: tuple[str, ...], errors: tuple[RegionError, ...], expected: RunStatus
) -> None:
    rows = {"offerings": [make_offering(region="a")]}
    assert make_result(rows, regions=regions, errors=errors).status == expected


BOOM = RegionError("eu-west-1", "Throttling", "rate exceeded")


@pytest.mark.parametrize(
    ("market", "regions", "errors", "summary"),
    [
        pytest.param(True, ("us-east-1", "eu-west-1"), (BOOM,),
                     "1 of 2 regions failed; eu-west-1: rate exceeded", id="one of two failed"),
        pytest.param(False, ("eu-west-1",), (BOOM,), "eu-west-1: rate exceeded",
                     id="the only region failed: no count to give"),
        pytest.param(False, (), (BOOM,), "eu-west-1: rate exceeded",
                     id="a failed run that listed no regions (was '1 of 0 regions failed')"),
        pytest.param(True, ("us-east-1",), (BOOM,),
                     "1 of 2 regions failed; eu-west-1: rate exceeded",
                     id="an error for a region not listed still counts it"),
        pytest.param(False, ("eu-west-1", "us-west-2"), (),
                     "all 2 regions failed; eu-west-1: the source returned no rows",
                     id="every region came back empty"),
        pytest.param(False, (), (RegionError("*", "SourceDataError", "feed is malformed"),),
                     "feed is malformed", id="a run refused as a whole counts no regions"),
    ],
)  # fmt: skip
def test_the_run_record_describes_its_failure(
    engine: Engine,
    market: bool,
    regions: tuple[str, ...],
    errors: tuple[RegionError, ...],
    summary: str,
) -> None:
    run = persist_run(engine, make_result(_market() if market else {}, regions=regions,
                                          errors=errors))  # fmt: skip
    assert run.error_message == summary
    assert " of 0 " not in summary
    with Session(engine) as s:
        [status] = source_statuses(s)
    assert status.last_error == summary, "what `spotsel status` shows"


def test_status_reports_latest_run_and_newest_data(engine: Engine) -> None:
    persist_run(engine, make_result(_market(), source="alpha"))
    persist_run(
        engine,
        make_result({}, source="alpha", errors=(RegionError("us-east-1", "Boom", "down"),)),
    )
    persist_run(engine, make_result(_market(), source="beta"))
    with Session(engine) as s:
        statuses = {st.source: st for st in source_statuses(s)}
        totals = store_totals(s)
    assert set(statuses) == {"alpha", "beta"}
    alpha = statuses["alpha"]
    assert alpha.runs == 2
    assert alpha.last_status == "failed"
    assert alpha.failed_regions == ("us-east-1",)
    assert alpha.data_as_of == T0, "the newest data survives a failed run"
    assert totals["pools"] == 2
    assert totals["instance_types"] == 1
    assert totals["gpu_instance_types"] == 1


def test_naive_timestamps_are_refused_on_every_write_path(engine: Engine) -> None:
    """PostgreSQL's COPY path must refuse what the ORM path refuses."""
    from datetime import datetime

    from sqlalchemy.exc import StatementError

    from core.store import upsert_rows

    naive = [make_spot_price(ts=datetime(2026, 1, 1))]
    with Session(engine) as s, pytest.raises((ValueError, StatementError), match="naive"):
        upsert_rows(s, "spot_prices", naive)
    assert _count(engine, SpotPrice) == 0


def _rate(**overrides: Any) -> dict[str, Any]:
    row = {
        "cloud": "aws", "region": "us-east-1", "zone_id": "", "instance_type": "g5.xlarge",
        "source": "aws-advisor", "observed_at": T0, "bucket": 0, "label": "<5%", "rate": None,
        "savings_pct": 70.0,
    }  # fmt: skip
    return row | overrides


@pytest.mark.parametrize(
    ("table", "row", "column"),
    [
        pytest.param("interruption_rates", _rate(region="r" * 65), "region",
                     id="65-character region"),
        pytest.param("interruption_rates", _rate(instance_type="t" * 129), "instance_type",
                     id="129-character type name"),
        pytest.param("interruption_rates", _rate(instance_type="m5\x00.large"), "instance_type",
                     id="NUL byte in a type name"),
        pytest.param("interruption_rates", _rate(bucket=2**63), "bucket", id="bucket 2^63"),
        pytest.param("interruption_rates", _rate(savings_pct=float("nan")), "savings_pct",
                     id="NaN savings"),
        pytest.param("spot_prices", make_spot_price(price_usd_per_hour=float("inf")),
                     "price_usd_per_hour", id="infinite price"),
    ],
)  # fmt: skip
def test_a_value_the_schema_cannot_hold_fails_the_run_and_writes_nothing(
    engine: Engine, table: str, row: dict[str, Any], column: str
) -> None:
    """Without the check PostgreSQL fails mid-transaction and SQLite stores the value."""
    rows = _market()
    rows.setdefault(table, []).append(row)
    with pytest.raises(SourceDataError, match=rf"^source test: {table}\.{column} ") as caught:
        persist_run(engine, make_result(rows))
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 300
    for model in (InstanceType, Offering, SpotPrice, InterruptionRate, CollectionRunRegion):
        assert _count(engine, model) == 0, f"{model.__tablename__} written"
    with Session(engine) as s:
        [run] = s.scalars(select(CollectionRun)).all()
    assert (run.status, run.rows_written, run.error_class) == ("failed", 0, "SourceDataError")
    assert f"{table}.{column}" in (run.error_message or "")


def test_an_over_long_region_of_the_run_itself_is_refused(engine: Engine) -> None:
    with pytest.raises(SourceDataError, match=r"collection_run_regions\.region"):
        persist_run(engine, make_result(_market(), regions=("us-east-1", "r" * 65)))
    assert _count(engine, Offering) == 0
    with Session(engine) as s:
        assert s.scalars(select(CollectionRun.status)).all() == ["failed"]


def test_the_run_record_fits_any_error_text(engine: Engine) -> None:
    """Error codes and messages come from clouds: the record must store whatever they say."""
    error = RegionError("us-east-1", "E" * 300, "bad\x00message \ud800")
    run = persist_run(engine, make_result(_market(), errors=(error,)))
    assert run.status == RunStatus.FAILED
    with Session(engine) as s:
        stored = s.scalars(select(CollectionRunRegion)).one()
    assert stored.error_class is not None
    assert len(stored.error_class) == 128
    assert stored.error_message == "bad\\x00message \\ud800"
