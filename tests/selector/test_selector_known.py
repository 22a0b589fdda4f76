"""Unknown regions and GPU models in a request: one error naming them, never an empty ranking."""

from __future__ import annotations

from typing import Any

import pytest

from selector import PoolIndex, PoolRecord, RequirementsError, parse_requirements, rank
from selector.known import MAX_LISTED, check_known_names
from tests.selector.factories import NOW, make_pool

MARKET = [
    make_pool(),
    make_pool(region="us-east-2", zone_id="use2-az1", instance_type="g5.xlarge", gpu_model="A10G"),
    make_pool(region="eu-west-1", zone_id="euw1-az1", instance_type="p3.2xlarge", gpu_model="V100"),
]


def _rank(pools: list[PoolRecord], **req: Any) -> Any:
    return rank(PoolIndex.build(pools, built_at=NOW), parse_requirements(req), now=NOW)


@pytest.mark.parametrize(
    ("req", "field", "shown"),
    [
        pytest.param({"regions": ["us-east-7"]}, "regions",
                     "unknown region 'us-east-7' (did you mean us-east-",
                     id="a typo names its closest regions"),
        pytest.param({"regions": ["us-east-1", "mars-1"]}, "regions", "unknown region 'mars-1';",
                     id="one unknown among known ones is still an error"),
        pytest.param({"regions": ["eu-wst-1", "zz"]}, "regions",
                     "unknown regions 'eu-wst-1' (did you mean eu-west-1",
                     id="several unknown, each with its matches"),
        pytest.param({"regions": ["ap-south-1"]}, "regions",
                     "the store holds 3 regions: eu-west-1, us-east-1, us-east-2",
                     id="a real region nobody collected lists what the store holds"),
        pytest.param({"gpu_models": ["A10GG"]}, "gpu_models",
                     "unknown GPU model 'A10GG' (did you mean A10G?)",
                     id="a GPU model typo"),
        pytest.param({"gpu_models": ["T4", "Quadro-9"]}, "gpu_models", "'QUADRO'",
                     id="an unknown model beside a known one"),
    ],
)  # fmt: skip
def test_unknown_names_are_one_error_naming_them(
    req: dict[str, Any], field: str, shown: str
) -> None:
    with pytest.raises(RequirementsError) as info:
        _rank(MARKET, **req)
    assert info.value.field == field
    message = str(info.value)
    assert message.startswith(f"{field}: unknown ")
    assert shown in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "req",
    [
        pytest.param({"regions": ["US-EAST-1"]}, id="regions compare like the filter: any case"),
        pytest.param({"gpu_models": ["inference-16-24gb"]},
                     id="a class whose models are partly missing from the store"),
        pytest.param({"gpu_models": ["H100"]}, id="a known model no collected region offers"),
        pytest.param({"regions": ["eu-west-1"], "gpu_models": ["T4"]},
                     id="known names that match no pool together: the usual explained answer"),
    ],
)  # fmt: skip
def test_known_names_rank_as_before(req: dict[str, Any]) -> None:
    ranking = _rank(MARKET, **req)
    assert ranking.candidates + sum(e.count for e in ranking.exclusions) == len(MARKET)


def test_an_empty_index_is_left_to_the_caller() -> None:
    check_known_names(
        PoolIndex.build([], built_at=NOW), parse_requirements({"regions": ["us-east-7"]})
    )


def test_a_huge_store_keeps_the_message_one_short_line() -> None:
    pools = [make_pool(region=f"us-east-1-sim{i}", zone_id=f"sim{i}-az1") for i in range(2, 300)]
    with pytest.raises(RequirementsError) as info:
        _rank(pools, regions=["x" * 10_000, *(f"nowhere-{i}" for i in range(20))])
    message = str(info.value)
    assert "the store holds 298 regions: us-east-1-sim10, " in message
    assert f"and {298 - MAX_LISTED} more" in message
    assert "and 16 more;" in message, "only the first unknown names are quoted"
    assert len(message) < 1_000
