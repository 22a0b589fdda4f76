"""Column limits: read from the schema, one definition, and every kind of bad value refused."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from sqlalchemy import Integer, String

from core import tables
from core.errors import SourceDataError
from core.limits import (
    INT32_RANGE,
    MAX_SHOWN_CHARS,
    check_rows,
    column_limits,
    row_problem,
    shorten,
    storable,
)
from core.tables import Base
from tests.factories import make_spot_price, make_type

# Every bounded text column of the schema and its length: the validator must report exactly
# these. Changing a column's length (or adding one) without updating this table fails here,
# and tests/core/test_migrations.py fails if the migrations disagree with the models.
STRING_COLUMNS: dict[tuple[str, str], int] = {
    **{(t, "cloud"): 16 for t in (
        "instance_types", "zones", "offerings", "spot_prices", "on_demand_prices",
        "placement_scores", "interruption_rates", "fleet_events",
    )},
    **{(t, "region"): 64 for t in (
        "zones", "offerings", "spot_prices", "on_demand_prices", "placement_scores",
        "interruption_rates", "fleet_events", "collection_run_regions",
    )},
    **{(t, "zone_id"): 64 for t in (
        "zones", "offerings", "spot_prices", "placement_scores", "interruption_rates",
        "fleet_events",
    )},
    **{(t, "instance_type"): 128 for t in (
        "offerings", "spot_prices", "on_demand_prices", "interruption_rates", "fleet_events",
    )},
    **{(t, "source"): 64 for t in (
        "instance_types", "zones", "offerings", "spot_prices", "on_demand_prices",
        "placement_scores", "interruption_rates", "fleet_events", "collection_runs",
    )},
    ("instance_types", "name"): 128,
    ("instance_types", "family"): 64,
    ("instance_types", "size"): 64,
    ("instance_types", "arch"): 16,
    ("instance_types", "gpu_model"): 64,
    ("instance_types", "accelerator_kind"): 16,
    ("zones", "account"): 64,
    ("zones", "zone_name"): 64,
    ("on_demand_prices", "os"): 32,
    ("placement_scores", "raw"): 64,
    ("interruption_rates", "label"): 32,
    ("fleet_events", "kind"): 32,
    ("fleet_events", "external_id"): 128,
    ("collection_runs", "status"): 16,
    ("collection_runs", "error_class"): 128,
    ("collection_run_regions", "status"): 16,
    ("collection_run_regions", "error_class"): 128,
    ("fleet_instances", "cloud"): 16,
    ("fleet_instances", "region"): 64,
    ("fleet_instances", "zone_id"): 64,
    ("fleet_instances", "zone_name"): 64,
    ("fleet_instances", "account"): 64,
    ("fleet_instances", "instance_id"): 64,
    ("fleet_instances", "instance_type"): 128,
    ("fleet_instances", "capacity_type"): 16,
    ("fleet_instances", "source"): 64,
    ("fleet_instances", "nodeclaim"): 253,  # a Kubernetes object name (DNS subdomain)
    ("fleet_instances", "node_name"): 253,
    ("fleet_events_unmapped", "instance_id"): 64,
    ("fleet_events_unmapped", "kind"): 32,
    ("fleet_events_unmapped", "source"): 64,
    ("fleet_events_unmapped", "external_id"): 128,
    ("fleet_events_rejected", "source"): 64,
    ("fleet_events_rejected", "external_id"): 128,
    ("weekly_reports", "week"): 8,  # "YYYY-Www"
}  # fmt: skip


def _schema_string_columns() -> dict[tuple[str, str], int]:
    return {
        (t.name, c.name): int(c.type.length)
        for t in Base.metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, String) and c.type.length is not None
    }


def test_every_bounded_column_is_listed_with_its_length() -> None:
    assert _schema_string_columns() == STRING_COLUMNS


@pytest.mark.parametrize(("table", "column"), sorted(STRING_COLUMNS))
def test_validator_limit_is_the_column_length(table: str, column: str) -> None:
    """The validator's limit, the declared length and this table agree; n fits, n + 1 not."""
    n = STRING_COLUMNS[(table, column)]
    assert column_limits(table)[column].max_chars == n
    assert row_problem(table, {column: "x" * n}) is None
    problem = row_problem(table, {column: "x" * (n + 1)})
    assert problem is not None
    assert f"{n + 1} characters, longer than the {n}" in problem


@pytest.mark.parametrize(
    ("constant", "table", "column"),
    [
        ("CLOUD_CHARS", "offerings", "cloud"),
        ("REGION_CHARS", "offerings", "region"),
        ("ZONE_CHARS", "offerings", "zone_id"),
        ("TYPE_NAME_CHARS", "offerings", "instance_type"),
        ("TYPE_NAME_CHARS", "instance_types", "name"),
        ("SOURCE_CHARS", "collection_runs", "source"),
    ],
)
def test_named_lengths_are_the_ones_the_columns_use(constant: str, table: str, column: str) -> None:
    assert getattr(tables, constant) == STRING_COLUMNS[(table, column)]


def test_integer_columns_use_the_sql_integer_range() -> None:
    integer_columns = [
        (t.name, c.name)
        for t in Base.metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, Integer)
    ]
    assert ("interruption_rates", "bucket") in integer_columns
    for table, column in integer_columns:
        assert column_limits(table)[column].int_range == INT32_RANGE, (table, column)


@pytest.mark.parametrize(
    ("table", "row", "fragment"),
    [
        # why: PostgreSQL INTEGER ends at 2^31 - 1; the advisor's bucket once came as 2^63
        ("interruption_rates", {"bucket": 2**63}, "outside the column's range"),
        ("interruption_rates", {"bucket": 2**31}, "outside the column's range"),
        ("interruption_rates", {"bucket": -(2**31) - 1}, "outside the column's range"),
        ("interruption_rates", {"bucket": 1.5}, "expected a whole number"),
        # why: NaN and infinities compare false with everything and poison every ranking
        ("interruption_rates", {"savings_pct": math.nan}, "expected a finite number"),
        ("spot_prices", {"price_usd_per_hour": math.inf}, "expected a finite number"),
        ("spot_prices", {"price_usd_per_hour": -math.inf}, "expected a finite number"),
        ("spot_prices", {"price_usd_per_hour": 10**400}, "too large for a float"),
        ("spot_prices", {"price_usd_per_hour": "0.41"}, "expected a number"),
        # why: PostgreSQL refuses NUL in any text; names hold no control characters at all
        ("spot_prices", {"instance_type": "m5\x00.large"}, "control character"),
        ("spot_prices", {"zone_id": "use1-az1\n"}, "control character"),
        ("spot_prices", {"region": "us-east-1\x85"}, "control character"),
        ("collection_runs", {"error_message": "boom\x00"}, "NUL byte"),
        # why: a lone surrogate is not UTF-8; neither driver can encode it
        ("collection_runs", {"error_message": "bad \ud800 text"}, "lone surrogate"),
        # why: the sorted type list of a placement score is a key, so a name
        ("placement_scores", {"instance_types": "a,b\tc"}, "control character"),
        ("spot_prices", {"region": 17}, "expected text"),
    ],
)
def test_bad_values_are_named(table: str, row: dict[str, Any], fragment: str) -> None:
    problem = row_problem(table, row)
    assert problem is not None
    assert problem.startswith(f"{next(iter(row))} ")
    assert fragment in problem
    assert "\n" not in problem
    assert "\x00" not in problem


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("interruption_rates", {"bucket": 2**31 - 1, "savings_pct": -62.0, "label": None}),
        ("collection_runs", {"error_message": "line one\nline two\ttabbed"}),
        ("spot_prices", {"price_usd_per_hour": 0, "instance_type": "Standard_NC4as_T4_v3"}),
    ],
)
def test_good_values_pass(table: str, row: dict[str, Any]) -> None:
    assert row_problem(table, row) is None


def test_check_rows_finds_one_bad_value_among_many() -> None:
    rows = [make_spot_price(zone_id=f"use1-az{i % 6}") for i in range(5_000)]
    check_rows("spot_prices", rows, where="test")
    rows[3_210] = make_spot_price(instance_type="x" * 129)
    with pytest.raises(SourceDataError) as caught:
        check_rows("spot_prices", rows, where="test")
    message = str(caught.value)
    assert message.startswith("test: spot_prices.instance_type ")
    assert "129 characters" in message
    assert len(message) < 200, "the value is quoted cut short"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("memory_gib", math.nan),
        ("generation", 2**63),
        ("name", "p5\x00"),
        ("gpu_model", None),  # NULL passes: NOT NULL is the database's own check
    ],
)
def test_check_rows_agrees_with_row_problem(column: str, value: Any) -> None:
    rows = [make_type(name=f"t{i}.large") for i in range(50)] + [make_type(**{column: value})]
    expected = row_problem("instance_types", rows[-1])
    if expected is None:
        check_rows("instance_types", rows, where="test")
        return
    with pytest.raises(SourceDataError, match=f"^test: instance_types.{column} "):
        check_rows("instance_types", rows, where="test")


def test_shorten_keeps_messages_short_and_fast() -> None:
    assert len(shorten("x" * 1_000_000)) <= MAX_SHOWN_CHARS + 2
    assert shorten("a\x00b") == "'a\\x00b'"
    laughs: Any = ["lol"] * 9
    for _ in range(9):
        laughs = [laughs] * 9  # 9^10 leaves, shared: the shape YAML aliases build
    started = time.perf_counter()
    text = shorten(laughs)
    assert time.perf_counter() - started < 0.1
    assert len(text) < 200
    assert shorten(10**5000).endswith("too large to show>")


def test_storable_fits_our_own_records() -> None:
    assert storable("a\x00b") == "a\\x00b"
    assert storable("x" * 200, max_chars=128) == "x" * 127 + "…"
    fitted = storable("E" * 500, max_chars=128)
    assert row_problem("collection_runs", {"error_class": fitted}) is None
