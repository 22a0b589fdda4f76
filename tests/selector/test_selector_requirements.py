"""Requirements vocabulary: valid input parses, invalid input names the field."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import pytest

from selector import Range, Requirements, RequirementsError, parse_range, parse_requirements
from selector.gpus import GPU_CLASSES


def test_defaults_cover_both_capacity_types_and_effective_cost() -> None:
    req = parse_requirements({})
    assert req.capacity_types == ("on-demand", "spot")
    assert req.strategy == "effective-cost"
    assert (req.nodes, req.top, req.gpus) == (1, 20, None)
    assert not req.wants_gpu


@pytest.mark.parametrize(
    ("mapping", "attr", "expected"),
    [
        pytest.param({"vcpus": {"min": 4, "max": 16}}, "vcpus", Range(4, 16), id="mapping range"),
        pytest.param({"memory_gib": "16:"}, "memory_gib", Range(16, None), id="CLI string range"),
        pytest.param({"vcpus": 8}, "vcpus", Range(8, 8), id="bare number means exactly"),
        pytest.param({"gpus": 0}, "gpus", 0, id="zero GPUs means CPU only, not don't-care"),
        pytest.param({"arch": "aarch64"}, "arch", "arm64", id="arch alias normalised"),
        pytest.param(
            {"gpu_models": ["t4", "nvidia a10g"]},
            "gpu_models",
            ("A10G", "T4"),
            id="models case-insensitive, vendor prefix dropped, sorted",
        ),
        pytest.param(
            {"gpu_models": ["inference-16-24gb"]},
            "gpu_models",
            tuple(sorted(GPU_CLASSES["inference-16-24gb"])),
            id="class name expands",
        ),
        pytest.param({"capacity_types": ["spot"]}, "capacity_types", ("spot",), id="spot only"),
        pytest.param(
            {"regions": ["us-east-1", "us-east-1"]},
            "regions",
            ("us-east-1",),
            id="duplicate regions collapse",
        ),
        pytest.param({"clouds": "aws,gcp"}, "clouds", ("aws", "gcp"), id="comma list from CLI"),
        pytest.param(
            {"strategy": "Price-Capacity"},
            "strategy",
            "price-capacity",
            id="strategy case-insensitive",
        ),
        pytest.param({"max_share_per_zone": 0.5}, "max_share_per_zone", 0.5, id="share fraction"),
        pytest.param({"top": 200}, "top", 200, id="top at its cap"),
    ],
)
def test_valid_fields_parse(mapping: dict[str, Any], attr: str, expected: object) -> None:
    assert getattr(parse_requirements(mapping), attr) == expected


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        pytest.param({"vcpu": 4}, "vcpu", id="unknown key (typo) is rejected, not ignored"),
        pytest.param({"vcpus": {"min": 16, "max": 4}}, "vcpus", id="min > max"),
        pytest.param({"vcpus": {"max": 200_000}}, "vcpus", id="absurd vcpus"),
        pytest.param({"vcpus": {"min": -1}}, "vcpus", id="negative size"),
        pytest.param({"vcpus": {"lo": 1}}, "vcpus", id="unknown range key"),
        pytest.param({"memory_gib": {"min": math.nan}}, "memory_gib.min", id="NaN"),
        pytest.param({"max_price": math.inf}, "max_price", id="infinite price"),
        pytest.param({"nodes": 100_001}, "nodes", id="absurd node count"),
        pytest.param({"gpus": 10**400}, "gpus", id="integer too large for a float"),
        pytest.param({"nodes": 0}, "nodes", id="zero nodes"),
        pytest.param({"nodes": 2.5}, "nodes", id="fractional nodes"),
        pytest.param({"gpus": True}, "gpus", id="bool is not a count"),
        pytest.param({"gpus": "1"}, "gpus", id="string is not a number in a typed body"),
        pytest.param(
            {"gpus": 0, "gpu_memory_gib": 16},
            "gpu_memory_gib",
            id="CPU only contradicts a GPU memory minimum",
        ),
        pytest.param({"gpus": 0, "gpu_models": ["T4"]}, "gpu_models", id="CPU only vs models"),
        pytest.param({"arch": "sparc"}, "arch", id="unknown arch"),
        pytest.param({"clouds": ["oracle"]}, "clouds", id="unknown cloud"),
        pytest.param({"capacity_types": ["reserved"]}, "capacity_types", id="unknown type"),
        pytest.param({"strategy": "cheapest"}, "strategy", id="unknown strategy"),
        pytest.param({"top": 201}, "top", id="top above cap"),
        pytest.param({"max_share_per_type": 0}, "max_share_per_type", id="zero share"),
        pytest.param({"max_share_per_family": 1.5}, "max_share_per_family", id="share > 1"),
        pytest.param({"regions": [""]}, "regions", id="empty region name"),
        pytest.param({"regions": [3]}, "regions", id="non-string region"),
        pytest.param({"max_price_age_hours": 0}, "max_price_age_hours", id="zero freshness"),
        pytest.param(
            {"checkpoint_interval_minutes": -5},
            "checkpoint_interval_minutes",
            id="negative checkpoint interval",
        ),
    ],
)
def test_invalid_fields_raise_naming_the_field(mapping: dict[str, Any], field: str) -> None:
    with pytest.raises(RequirementsError) as info:
        parse_requirements(mapping)
    assert info.value.field == field
    assert info.value.to_dict()["error"] == "invalid_requirements"


def test_non_mapping_is_rejected() -> None:
    with pytest.raises(RequirementsError):
        parse_requirements(["gpus", 1])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("4:16", Range(4, 16), id="both ends"),
        pytest.param("16:", Range(16, None), id="at least"),
        pytest.param(":8", Range(None, 8), id="at most"),
        pytest.param("8", Range(8, 8), id="exactly"),
        pytest.param(" 0.5 : 2 ", Range(0.5, 2), id="whitespace and fractions"),
    ],
)
def test_parse_range(text: str, expected: Range) -> None:
    assert parse_range(text, field="vcpus") == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("a:b", id="not numbers"),
        pytest.param("16:4", id="reversed"),
        pytest.param("-1:", id="negative"),
        pytest.param("nan", id="NaN"),
    ],
)
def test_parse_range_rejects(text: str) -> None:
    with pytest.raises(RequirementsError) as info:
        parse_range(text, field="memory_gib")
    assert info.value.field == "memory_gib"


def test_to_dict_round_trips_through_parse() -> None:
    req = parse_requirements({"vcpus": "4:16", "gpus": 1, "regions": ["us-east-1"], "top": 5})
    assert parse_requirements(req.to_dict()) == req


def _nested_bomb() -> Any:
    value: Any = ["lol"] * 9
    for _ in range(8):
        value = [value] * 9  # 9^9 leaves, shared: what YAML aliases or a big body can build
    return value


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        pytest.param({"arch": "x" * 1_000_000}, "arch", id="huge arch"),
        pytest.param({"strategy": _nested_bomb()}, "strategy", id="nested strategy"),
        pytest.param({"clouds": ["x" * 1_000_000]}, "clouds", id="huge list item"),
        pytest.param({"regions": [_nested_bomb()]}, "regions", id="nested list item"),
        pytest.param({"vcpus": "9" * 1_000_000 + ":x"}, "vcpus", id="huge range text"),
        pytest.param({"vcpus": {f"k{i}": 1 for i in range(10_000)}}, "vcpus",
                     id="many unknown range keys"),
        pytest.param({"y" * 1_000_000: 1}, "'yyy", id="huge unknown field"),
    ],
)  # fmt: skip
def test_messages_quote_values_cut_short(mapping: dict[str, Any], field: str) -> None:
    with pytest.raises(RequirementsError) as caught:
        parse_requirements(mapping)
    message = str(caught.value)
    assert message.startswith(field), message
    # Our own words: at most the list of known fields plus ~100 characters; a value adds ~60.
    known = len(str(sorted(f.name for f in fields(Requirements))))
    assert len(message) < known + 200, message
    assert "\n" not in message
