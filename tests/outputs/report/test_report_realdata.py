"""The weekly report over real public data only (tests/real_store.py): the DescribeSpotPrice
History dump's prices (2022-05-31) ranked for a CPU profile, nothing labelled simulated."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import html5lib
from sqlalchemy import Engine

from core.settings import Settings
from core.weeks import IsoWeek
from outputs.profiles import parse_profile
from outputs.report import generate_report
from outputs.report.sections import SIMULATED_BANNER
from tests.real_store import REGION, load_real_store

# The dump's prices are changes of 2022-05-31; the store confirms them at this time.
STORE_NOW = datetime(2022, 6, 1, tzinfo=UTC)


def test_a_real_week_is_reported_without_the_simulated_label(
    engine: Engine, settings: Settings, shared_data: Path
) -> None:
    load_real_store(engine, settings, shared_data, now=STORE_NOW)
    profile = parse_profile(
        {"name": "batch", "requirements": {"gpus": 0, "vcpus": "2:16", "regions": [REGION],
                                           "nodes": 4}}
    )  # fmt: skip
    docs = generate_report(
        engine, week=IsoWeek.containing(STORE_NOW), profiles=[profile], now=STORE_NOW,
        previous=None,
    )  # fmt: skip
    assert not docs.simulated
    assert html.escape(SIMULATED_BANNER) not in docs.html
    assert SIMULATED_BANNER not in docs.markdown
    entry = docs.recommendations["profiles"]["batch"]
    assert entry["available"] is True
    assert entry["instance_types"]
    assert "week still running, data up to 2022-06-01 00:00 UTC" in docs.markdown
    assert '<svg class="chart price-chart"' in docs.html
    html5lib.HTMLParser(strict=True).parse(docs.html)
