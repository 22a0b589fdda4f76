"""Diversification: coverage, share caps, the node split and unmet constraints."""

from __future__ import annotations

from collections import Counter

import pytest

from selector.diversify import Constraints, diversify


def _constraints(**overrides: float) -> Constraints:
    base = {
        "top": 10,
        "nodes": 1,
        "min_instance_types": 1,
        "min_zones": 1,
        "max_share_per_type": 1.0,
        "max_share_per_family": 1.0,
        "max_share_per_zone": 1.0,
    }
    base.update(overrides)
    return Constraints(**base)  # type: ignore[arg-type]


def test_coverage_pulls_in_new_types_before_better_duplicates() -> None:
    # Quality order: type 0 in three zones first, then type 1, then type 2.
    types, fams, zones = [0, 0, 0, 1, 2], [0, 0, 0, 1, 2], [0, 1, 2, 0, 0]
    sel = diversify(types, fams, zones, _constraints(top=3, min_instance_types=3), market_types=3)
    assert sel.chosen == (0, 3, 4)
    assert not sel.unmet


def test_split_respects_share_caps_and_sums_to_nodes() -> None:
    types = [0, 1, 2, 3, 4]
    fams = [0, 0, 1, 1, 2]
    zones = [0, 1, 0, 1, 2]
    c = _constraints(
        nodes=20, top=5, max_share_per_type=0.25, max_share_per_family=0.5, max_share_per_zone=0.5
    )
    sel = diversify(types, fams, zones, c, market_types=5)
    assert sum(sel.nodes) == 20
    assert not sel.unmet
    by = {name: Counter() for name in ("type", "family", "zone")}
    for pos, n in zip(sel.chosen, sel.nodes, strict=True):
        by["type"][types[pos]] += n
        by["family"][fams[pos]] += n
        by["zone"][zones[pos]] += n
    assert max(by["type"].values()) <= 5
    assert max(by["family"].values()) <= 10
    assert max(by["zone"].values()) <= 10
    # Cost-optimal under caps: the best pool is filled to its cap first.
    assert sel.nodes[0] == 5


@pytest.mark.parametrize(
    ("types", "constraints", "codes"),
    [
        pytest.param(
            [0, 0, 1],
            {"min_instance_types": 3},
            {"min_instance_types"},
            id="market has only two types",
        ),
        pytest.param(
            [0, 1, 2],
            {"min_instance_types": 3, "top": 2},
            {"min_instance_types"},
            id="top too small for the diversity asked",
        ),
        pytest.param(
            [0, 1],
            {"nodes": 1, "max_share_per_type": 0.5},
            set(),
            id="one node meets any share: a pool carries at least one node",
        ),
        pytest.param(
            [0, 0, 0],
            {"nodes": 4, "max_share_per_type": 0.5},
            {"max_share_per_type"},
            id="one type cannot hold 4 nodes at 50%",
        ),
        pytest.param(
            [0, 1],
            {"nodes": 10, "max_share_per_type": 0.25},
            {"max_share_per_type"},
            id="two types cannot hold 10 nodes at 25% each",
        ),
        pytest.param([0, 1, 2], {"min_zones": 2}, {"min_zones"}, id="all pools in one zone"),
    ],
)
def test_unmet_constraints_are_reported_with_best_effort(
    types: list[int], constraints: dict[str, float], codes: set[str]
) -> None:
    c = _constraints(**constraints)
    sel = diversify(types, types, [0] * len(types), c, market_types=len(set(types)))
    assert {u.code for u in sel.unmet} == codes
    assert all(u.message for u in sel.unmet)
    assert sum(sel.nodes) == c.nodes  # a best feasible answer is still returned
    assert sel.chosen


def test_no_candidates_gives_empty_selection_and_unmet() -> None:
    sel = diversify([], [], [], _constraints(min_instance_types=2), market_types=0)
    assert sel.chosen == ()
    # Nothing eligible: every coverage constraint is unmet, nothing is silently "fine".
    assert [u.code for u in sel.unmet] == ["min_instance_types", "min_zones"]


def test_required_diversity_carries_nodes_not_just_list_entries() -> None:
    """Without caps forcing it, the split still puts a node on every type asked for."""
    types = [0, 0, 0, 1, 2]
    c = _constraints(nodes=8, min_instance_types=3)
    sel = diversify(types, types, list(range(5)), c, market_types=3)
    nodes_per_type: dict[int, int] = {}
    for pos, n in zip(sel.chosen, sel.nodes, strict=True):
        nodes_per_type[types[pos]] = nodes_per_type.get(types[pos], 0) + n
    assert sel.unmet == ()
    assert sum(sel.nodes) == 8
    assert all(nodes_per_type.get(t, 0) >= 1 for t in (0, 1, 2)), nodes_per_type
    assert nodes_per_type[0] == 6, "the rest still goes to the best pool"
