"""Step 5 of ranking: split `nodes` across the candidates exactly, then list the pools.

The split is a min-cost flow  source → zone → type → family → sink: a pool is one zone × one
type and a type has one family, so every share cap is an arc capacity and the flow meets all
caps whenever any split does. A node on the candidate at position p costs p (candidates arrive
best first): among the splits that meet the caps the answer minimises the nodes' summed rank.
Coverage — nodes on at least min(min_instance_types, nodes) types and min(min_zones, nodes)
zones — is a reward on each type's and zone's first node, up to the number asked, larger than
any rank sum: coverage comes first whenever the caps allow it, quality decides the rest.

Exactness. Caps and coverage: met whenever reachable over the candidates. Quality: optimal,
except when a family cap binds, the split that best meets the caps alone lacks the type
coverage, *and* the best split with coverage but without the family caps breaks one of them;
then the reward counts types per family (a flow cannot count one type both in its family and
in a global total), which may spread over more types than asked, never fewer.

Speed: the flow (`selector.split_flow`) runs on a prefix of the best pools, grown until its
potentials prove no pool further down could lower the cost.

Listing: every pool that carries nodes, then the best pools adding a missing type or zone until
the list shows `min_instance_types` types and `min_zones` zones, then the best others up to
`top`. `top` caps only those alternates: when the constraints need more pools than `top`, all
of them are listed and `Selection.note` says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from selector.requirements import Requirements
from selector.split_flow import TYPE, ZONE, Problem, relax

__all__ = ["Constraints", "Selection", "UnmetConstraint", "constraints_of", "diversify"]

# Floating-point slack so that share 0.25 × 20 nodes gives a cap of exactly 5.
_EPS = 1e-9
# The share caps, in the order of TYPE, FAMILY, ZONE: (Requirements field, noun).
_DIMS: Final = (
    ("max_share_per_type", "instance type"),
    ("max_share_per_family", "family"),
    ("max_share_per_zone", "zone"),
)


@dataclass(frozen=True, slots=True)
class UnmetConstraint:
    """A diversification constraint the answer could not honour (the market's, not top's)."""

    code: str  # the Requirements field: "min_instance_types", "max_share_per_zone", ...
    required: float
    achieved: float
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "required": self.required,
            "achieved": self.achieved,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Constraints:
    top: int
    nodes: int
    min_instance_types: int
    min_zones: int
    max_share_per_type: float
    max_share_per_family: float
    max_share_per_zone: float


def constraints_of(req: Requirements) -> Constraints:
    """The diversification part of a request."""
    return Constraints(
        top=req.top,
        nodes=req.nodes,
        min_instance_types=req.min_instance_types,
        min_zones=req.min_zones,
        max_share_per_type=req.max_share_per_type,
        max_share_per_family=req.max_share_per_family,
        max_share_per_zone=req.max_share_per_zone,
    )


@dataclass(frozen=True, slots=True)
class Selection:
    chosen: tuple[int, ...]  # positions into the candidate list, best first
    nodes: tuple[int, ...]  # suggested node count per chosen position
    unmet: tuple[UnmetConstraint, ...]
    needed: int = 0  # pools the constraints need listed (carriers + coverage); may exceed top
    note: str | None = None  # why more than `top` pools are listed, when they are


def _cap(share: float, nodes: int) -> int:
    """Nodes one type / family / zone may carry: the share, but never less than one node."""
    return max(1, math.floor(share * nodes + _EPS))


def diversify(
    types: Sequence[int],
    families: Sequence[int],
    zones: Sequence[int],
    constraints: Constraints,
    *,
    market_types: int,
) -> Selection:
    """Pick positions (candidates are in quality order) and a node split.

    A type must have one family throughout (checked when nodes are split, `nodes` > 1).
    `market_types` is the number of distinct instance types among all eligible pools (the
    candidates hold at least the best pool of each, so it only ever confirms what the
    candidates show).
    """
    c = constraints
    cols = (types, families, zones)
    n_types = max(market_types, len(set(types)))
    if not types:
        return Selection((), (), tuple(_coverage_unmet(c, 0, 0, n_types, 0, 0)))
    caps = [_cap(share, c.nodes) for share in _shares(c)]
    relaxed: dict[int, int] = {}
    if c.nodes == 1:
        # One unit, no coverage reward (both coverages are min(…, nodes) = 1) and every cap at
        # least 1: the flow would take its one cheapest arc, the best pool (position 0). No
        # family is read, so none is checked.
        split = {0: 1}
    else:
        k_types, k_zones = min(c.min_instance_types, c.nodes), min(c.min_zones, c.nodes)
        problem = Problem(cols, c.nodes, k_types, k_zones)
        split = problem.solve(caps)
        if sum(split.values()) < c.nodes:
            split, relaxed = relax(problem, caps)
    carriers = sorted(pos for pos, k in split.items() if k > 0)
    listed = _list(cols, carriers, c)
    needed = len(listed)
    chosen = sorted(set(listed) | set(_alternates(len(types), set(listed), c.top)))
    carried = [len({col[p] for p in carriers}) for col in cols]
    shown = [len({col[p] for p in chosen}) for col in cols]
    unmet = _coverage_unmet(
        c,
        shown[TYPE],
        shown[ZONE],
        n_types,
        carried[TYPE],
        carried[ZONE],
    )
    unmet += _cap_unmet(cols, split, caps, relaxed, c)
    note = None
    if needed > c.top:
        extra = needed - len(carriers)
        note = (
            f"listed {len(chosen)} pools, more than top={c.top}, because the constraints need "
            f"{needed}: {len(carriers)} carry the {c.nodes} node(s) within the share caps"
            + (f", {extra} more list the instance types and zones asked" if extra else "")
        )
    return Selection(
        chosen=tuple(chosen),
        nodes=tuple(split.get(p, 0) for p in chosen),
        unmet=tuple(unmet),
        needed=needed,
        note=note,
    )


def _shares(c: Constraints) -> tuple[float, float, float]:
    return (c.max_share_per_type, c.max_share_per_family, c.max_share_per_zone)


def _list(cols: tuple[Sequence[int], ...], carriers: list[int], c: Constraints) -> list[int]:
    """Carriers, plus the best pools that add a type or zone the list still lacks."""
    types, _, zones = cols
    listed = list(carriers)
    have_t = {types[p] for p in carriers}
    have_z = {zones[p] for p in carriers}
    taken = set(carriers)
    for pos in range(len(types)):
        if len(have_t) >= c.min_instance_types and len(have_z) >= c.min_zones:
            break
        if pos in taken:
            continue
        adds_t = len(have_t) < c.min_instance_types and types[pos] not in have_t
        adds_z = len(have_z) < c.min_zones and zones[pos] not in have_z
        if adds_t or adds_z:
            listed.append(pos)
            have_t.add(types[pos])
            have_z.add(zones[pos])
    return listed


def _alternates(n: int, listed: set[int], top: int) -> list[int]:
    room = top - len(listed)
    out: list[int] = []
    for pos in range(n):
        if len(out) >= room:
            break
        if pos not in listed:
            out.append(pos)
    return out


def _coverage_unmet(
    c: Constraints,
    shown_types: int,
    shown_zones: int,
    market_types: int,
    carried_types: int,
    carried_zones: int,
) -> list[UnmetConstraint]:
    out: list[UnmetConstraint] = []
    for code, wanted, noun, shown, carried, short in (
        ("min_instance_types", c.min_instance_types, "instance types", shown_types,
         carried_types, f"only {market_types} distinct instance types match the requirements"),
        ("min_zones", c.min_zones, "zones", shown_zones, carried_zones,
         f"only {shown_zones} have an eligible pool"),
    ):  # fmt: skip
        if shown < wanted:
            out.append(
                UnmetConstraint(
                    code, wanted, shown, f"wanted >= {wanted} {noun}, got {shown}: {short}"
                )
            )
        elif shown and carried < min(wanted, c.nodes):
            reach = min(wanted, c.nodes)
            out.append(
                UnmetConstraint(
                    code,
                    reach,
                    carried,
                    f"wanted nodes on >= {reach} {noun}, the share caps over the eligible pools "
                    f"allow {carried}",
                )
            )
    return out


def _cap_unmet(
    cols: tuple[Sequence[int], ...],
    split: dict[int, int],
    caps: list[int],
    relaxed: dict[int, int],
    c: Constraints,
) -> list[UnmetConstraint]:
    out: list[UnmetConstraint] = []
    shares = _shares(c)
    for d in sorted(relaxed):
        code, noun = _DIMS[d]
        load: dict[int, int] = {}
        for pos, k in split.items():
            load[cols[d][pos]] = load.get(cols[d][pos], 0) + k
        worst = max(load.values(), default=0) / c.nodes
        distinct = len(set(cols[d]))
        need = math.ceil(c.nodes / caps[d])
        why = (
            f"only {distinct} {noun}s are eligible and {c.nodes} node(s) at most {caps[d]} per "
            f"{noun} need {need}"
            if distinct < need
            else f"the eligible pools' other share caps leave too few {noun}s to spread over"
        )
        out.append(
            UnmetConstraint(
                code,
                shares[d],
                worst,
                f"max share per {noun} {shares[d]:.0%} not reachable with {c.nodes} node(s) over "
                f"the eligible pools ({why}); largest {noun} share is {worst:.0%}",
            )
        )
    return out
