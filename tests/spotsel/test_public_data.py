"""Real data without credentials, through the CLI on both engines: the public Spot Advisor and
the public spot price feed make a rankable store; what the store lacks is said by name."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from collectors.aws.accelerators import looks_accelerated
from core.errors import SpotselError
from core.settings import Settings
from outputs.crds import load_crds, manifest_errors, validate_manifests
from selector import PoolIndex, parse_requirements, rank
from selector.outputs import ZONE_ID_KEY, karpenter_documents
from spotsel.cli import app
from spotsel.state import AppState
from tests.outputs.helpers import CRDS
from tests.selector.factories import NOW, make_pool
from tests.selector.outputs.fixtures import profile, ranking

runner = CliRunner()
FEED = ("aws-spot-price-history", "spotinfo_spot-js-price-test-data_2021-04-06.json", "2021-04-06")
ADVISOR_2025 = ("aws-spot-advisor", "spot-advisor-data_2025-06-28.json", "2025-06-28")
ADVISOR_2021 = ("aws-spot-advisor", "spot-advisor-data_2021-02-10.json", "2021-02-10")
# An hour after the feed's date: its prices are fresh then (the default age limit is 6 h).
FEED_TIME = "2021-04-06T01:00:00"
GPU_REQUEST = ("--gpus", "1", "--gpu-memory", "16", "--regions", "us-east-1")


def _cli(settings: Settings, *args: str) -> Any:
    return runner.invoke(app, list(args), obj=AppState(settings=settings), catch_exceptions=False)


def _collect(settings: Settings, shared_data: Path, source: str, file: tuple[str, str, str]) -> Any:
    path = shared_data / file[0] / file[1]
    result = _cli(settings, "collect", source, "--source-url", path.as_uri(), "--as-of", file[2])
    assert result.exit_code == 0, result.output
    return result


def _rank(settings: Settings, *args: str) -> dict[str, Any]:
    result = _cli(settings, "rank", *args, "-o", "json")
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@pytest.fixture
def store(settings: Settings) -> Settings:
    assert _cli(settings, "db", "upgrade").exit_code == 0
    return settings


def test_acceptance_public_feeds_rank_real_gpu_types(store: Settings, shared_data: Path) -> None:
    """The README's sequence: advisor 2025-06-28, spot.js 2021-04-06, then rank as of the feed."""
    _collect(store, shared_data, "aws-advisor", ADVISOR_2025)
    _collect(store, shared_data, "aws-public", FEED)
    answer = _rank(store, *GPU_REQUEST, "--as-of", FEED_TIME)
    types = {p["instance_type"] for p in answer["pools"]}
    assert len(types) >= 3, types
    assert answer["simulated"] is False
    assert answer["sources"]
    assert "sim" not in answer["sources"]
    assert set(answer["sources"]) <= {"aws-public", "aws-advisor", "aws-public-derived"}
    for pool in answer["pools"]:
        assert (pool["region"], pool["zone_id"], pool["gpu_count"]) == ("us-east-1", "", 1)
        assert pool["gpu_memory_gib"] >= 16
        assert "regional-pool" in pool["flags"]
        assert pool["simulated"] is False


def test_same_day_feeds_give_derived_on_demand_and_advisor_hazards(
    store: Settings, shared_data: Path
) -> None:
    _collect(store, shared_data, "aws-public", FEED)
    _collect(store, shared_data, "aws-advisor", ADVISOR_2021)
    answer = _rank(store, *GPU_REQUEST, "--as-of", FEED_TIME)
    assert len({p["instance_type"] for p in answer["pools"]}) >= 3
    spot = [p for p in answer["pools"] if p["capacity_type"] == "spot"]
    assert spot
    for pool in spot:
        assert "derived-on-demand-price" in pool["flags"]
        assert pool["hazard"]["source"] == "aws-advisor"
        assert pool["on_demand_price"] > 0
    assert "aws-public-derived" in answer["sources"]


def test_cpu_only_never_returns_an_accelerated_type(store: Settings, shared_data: Path) -> None:
    _collect(store, shared_data, "aws-advisor", ADVISOR_2025)
    _collect(store, shared_data, "aws-public", FEED)
    feed = json.loads((shared_data / FEED[0] / FEED[1]).read_bytes())
    in_feed = {s["size"] for r in feed["config"]["regions"] for g in r["instanceTypes"]
               for s in g["sizes"]}  # fmt: skip
    assert {"f1.2xlarge", "inf1.xlarge", "g4dn.xlarge"} <= in_feed, "the feed sells accelerators"
    answer = _rank(store, "--gpus", "0", "--as-of", FEED_TIME, "--top", "200",
                   "--min-instance-types", "1")  # fmt: skip
    returned = {p["instance_type"] for p in answer["pools"]}
    assert len(returned) > 50
    assert not {t for t in returned if looks_accelerated(t)}
    assert all(p["gpu_count"] == 0 for p in answer["pools"])


@pytest.mark.parametrize(
    "kind", ["gpu", "inferentia", "trainium", "fpga", "media", "gaudi", "qualcomm-ai100"]
)
def test_cpu_only_excludes_every_accelerator_kind_even_without_a_device_count(kind: str) -> None:
    accelerated = make_pool(instance_type="x9.large", accelerator_kind=kind, gpu_count=0,
                            gpu_model=None, gpu_memory_gib=None)  # fmt: skip
    cpu = make_pool(instance_type="m5.large", accelerator_kind="none", gpu_count=0,
                    gpu_model=None, gpu_memory_gib=None)  # fmt: skip
    index = PoolIndex.build([accelerated, cpu], built_at=NOW)
    req = parse_requirements(
        {"gpus": 0, "min_instance_types": 1, "min_zones": 1, "capacity_types": ["spot"]}
    )
    answer = rank(index, req, now=NOW)
    assert [p.key.instance_type for p in answer.pools] == ["m5.large"]
    assert {e.code: e.count for e in answer.exclusions}["gpus"] == 1


def test_regional_pools_leave_the_nodepool_zone_open_and_pass_the_crds() -> None:
    pools = [
        make_pool(instance_type=name, zone_id="", gpu_model=model, spot_price=price)
        for name, model, price in (("g4dn.xlarge", "T4", 0.16), ("g5.xlarge", "A10G", 0.30),
                                   ("g6.xlarge", "L4", 0.25))
    ]  # fmt: skip
    p = profile()
    index = PoolIndex.build(pools, built_at=NOW)
    spot = ranking(p, "spot", index)
    assert len(spot.pools) == 3
    assert all("regional-pool" in pool.flags for pool in spot.pools)
    docs = karpenter_documents(p, spot=spot, on_demand=ranking(p, "on-demand", index))
    nodepools = [d for d in docs.manifests if d["kind"] == "NodePool"]
    assert len(nodepools) >= 2, "spot and the on-demand fallback"
    for nodepool in nodepools:
        keys = [r["key"] for r in nodepool["spec"]["template"]["spec"]["requirements"]]
        assert ZONE_ID_KEY not in keys, "a regional pool may launch in any zone"
    overlays = [d for d in docs.manifests if d["kind"] == "NodeOverlay"]
    assert len(overlays) == 3, "one zone-less overlay per type, none with an empty zone"
    crds = load_crds(CRDS)
    for doc in docs.manifests:
        assert manifest_errors(doc, crds) == [], doc["metadata"]["name"]
    validate_manifests(docs.manifests, crds)


def test_old_prices_say_the_newest_date_and_the_way_forward(
    store: Settings, shared_data: Path
) -> None:
    _collect(store, shared_data, "aws-advisor", ADVISOR_2025)
    _collect(store, shared_data, "aws-public", FEED)
    answer = _rank(store, *GPU_REQUEST)
    assert answer["pools"] == []
    assert "2021-04-06T00:00:00+00:00" in answer["hint"]
    assert "--as-of" in answer["hint"]
    assert "--max-price-age-hours" in answer["hint"]
    table = _cli(store, "rank", *GPU_REQUEST)
    assert table.exit_code == 0
    assert "Hint: every matching price is older than 6 h" in table.stdout
    fresh = _rank(store, *GPU_REQUEST, "--as-of", FEED_TIME)
    assert "hint" not in fresh


def _error(settings: Settings, *args: str) -> str:
    """The one-line error the command raises (`spotsel.cli.main` prints it and exits 1)."""
    with pytest.raises(SpotselError) as caught:
        _cli(settings, *args)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_what_the_store_lacks_is_said_with_the_command_that_fills_it(
    store: Settings, shared_data: Path
) -> None:
    empty = _error(store, "rank", "--gpus", "1")
    for command in ("aws-advisor", "aws-public", "collect aws`", "collect sim"):
        assert command in empty
    _collect(store, shared_data, "aws-advisor", ADVISOR_2025)
    no_prices = _error(store, "rank", "--gpus", "1")
    assert "no offerings or prices" in no_prices
    assert "spotsel collect aws-public" in no_prices
    before = _error(store, "rank", "--gpus", "1", "--as-of", "2020-01-01")
    assert "no offerings or prices" in before


def test_feed_only_asks_for_the_advisor(store: Settings, shared_data: Path) -> None:
    _collect(store, shared_data, "aws-public", FEED)
    message = _error(store, "rank", "--gpus", "1", "--as-of", FEED_TIME)
    assert "no instance specs" in message
    assert "spotsel collect aws-advisor" in message
    _collect(store, shared_data, "aws-advisor", ADVISOR_2025)
    early = _error(store, "rank", "--gpus", "1", "--as-of", "2021-04-05")
    assert "no pool was offered yet" in early
    assert "2021-04-06T00:00:00+00:00" in early


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("rank", "--as-of", "2999-01-01"), "in the future"),
        (("rank", "--as-of", "last week"), "ISO 8601"),
    ],
)
def test_bad_as_of_is_one_line(store: Settings, args: tuple[str, ...], reason: str) -> None:
    assert reason in _error(store, *args)


def test_a_feed_copy_without_a_date_is_refused_before_a_run(
    store: Settings, shared_data: Path
) -> None:
    path = (shared_data / FEED[0] / FEED[1]).as_uri()
    message = _error(store, "collect", "aws-public", "--source-url", path)
    assert message.endswith("give --as-of with the time AWS published it (e.g. --as-of 2025-06-28)")
    assert "spot price feed file" in message
    status = json.loads(_cli(store, "status", "--output", "json").stdout)
    [public] = [s for s in status["sources"] if s["source"] == "aws-public"] or [None]
    assert public is None or public["last_run"] is None, "no run recorded"


def test_rank_as_of_measures_ages_from_then(store: Settings, shared_data: Path) -> None:
    _collect(store, shared_data, "aws-advisor", ADVISOR_2021)
    _collect(store, shared_data, "aws-public", FEED)
    answer = _rank(store, *GPU_REQUEST, "--as-of", FEED_TIME)
    assert datetime.fromisoformat(answer["now"]) == datetime.fromisoformat(FEED_TIME + "+00:00")
    assert {p["ages_seconds"]["spot_price"] for p in answer["pools"]} == {3600.0}
