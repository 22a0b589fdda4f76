"""Step 5 of ranking: choose up to `top` pools and split `nodes` across them.

Greedy in quality order: first take pools that add a missing instance type, family or zone
until the coverage the constraints need is reached, then fill with the best remaining pools.
The node split puts each node on the best pool that keeps every instance type, family and
zone within its share cap (cost-optimal under the blast-radius caps). Whatever cannot be met
is reported, machine-readable and in words, and the best feasible answer is still returned.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Constraints", "Selection", "UnmetConstraint", "diversify"]

# Floating-point slack so that share 0.25 × 20 nodes gives a cap of exactly 5.
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class UnmetConstraint:
    """A diversification constraint the answer could not honour."""

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


@dataclass(frozen=True, slots=True)
class Selection:
    chosen: tuple[int, ...]  # positions into the candidate list, best first
    nodes: tuple[int, ...]  # suggested node count per chosen position
    unmet: tuple[UnmetConstraint, ...]


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

    `market_types` is the number of distinct instance types among all eligible pools, used
    to say whether a shortfall is the market's or the request's (`top` too small).
    """
    c = constraints
    dims = (
        ("max_share_per_type", "instance type", types, c.max_share_per_type),
        ("max_share_per_family", "family", families, c.max_share_per_family),
        ("max_share_per_zone", "zone", zones, c.max_share_per_zone),
    )
    caps = [_cap(share, c.nodes) for _, _, _, share in dims]
    # Distinct values needed so the nodes fit under each cap.
    need = [math.ceil(c.nodes / cap) if cap > 0 else 1 for cap in caps]
    need[0] = max(need[0], c.min_instance_types)
    need[2] = max(need[2], c.min_zones)

    chosen, covering = _cover(dims, need, c.top, len(types))
    split, blocked = _split(chosen, covering, dims, caps, c.nodes)
    unmet = _unmet(chosen, split, dims, blocked, c, market_types)
    return Selection(chosen=tuple(chosen), nodes=tuple(split), unmet=tuple(unmet))


def _cover(
    dims: tuple[tuple[str, str, Sequence[int], float], ...],
    need: list[int],
    top: int,
    n: int,
) -> tuple[list[int], frozenset[int]]:
    """The chosen positions, and those picked because they add a needed type / family / zone."""
    seen: list[set[int]] = [set() for _ in dims]
    picked: list[int] = []
    for pos in range(n):
        if len(picked) >= top or all(len(seen[d]) >= need[d] for d in range(len(dims))):
            break
        adds = any(
            values[pos] not in seen[d] and len(seen[d]) < need[d]
            for d, (_, _, values, _) in enumerate(dims)
        )
        if adds:
            picked.append(pos)
            for d, (_, _, values, _) in enumerate(dims):
                seen[d].add(values[pos])
    covering = frozenset(picked)
    for pos in range(n):
        if len(picked) >= top:
            break
        if pos not in covering:
            picked.append(pos)
    return sorted(picked), covering


def _split(
    chosen: list[int],
    covering: frozenset[int],
    dims: tuple[tuple[str, str, Sequence[int], float], ...],
    caps: list[int],
    nodes: int,
) -> tuple[list[int], set[int]]:
    """Node counts per chosen position, and the dimensions whose caps had to be broken.

    First one node on each pool that brought a needed type / zone (best first), so the
    diversity asked for carries real capacity rather than sitting in the list unused. Then
    fill the best pool until a cap binds, then the next: caps only ever close, so this is the
    node-by-node greedy done in bulk. Nodes left over go in a pass that ignores the fewest
    caps possible, and those caps are reported as unmet.
    """
    split = [0] * len(chosen)
    used: list[Counter[int]] = [Counter() for _ in dims]
    blocked: set[int] = set()
    remaining = nodes
    if not chosen:
        return split, blocked
    for i, pos in enumerate(chosen):
        if remaining == 0:
            break
        fits = all(caps[d] - used[d][values[pos]] > 0 for d, (_, _, values, _) in enumerate(dims))
        if pos in covering and fits:
            split[i] += 1
            remaining -= 1
            for d, (_, _, values, _) in enumerate(dims):
                used[d][values[pos]] += 1
    relaxations: tuple[frozenset[int], ...] = (
        frozenset(),
        *(frozenset(s) for s in ({0}, {1}, {2}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2})),
    )
    for ignore in relaxations:
        for i, pos in enumerate(chosen):
            if remaining == 0:
                break
            room = remaining
            for d, (_, _, values, _) in enumerate(dims):
                if d not in ignore:
                    room = min(room, caps[d] - used[d][values[pos]])
            if room <= 0:
                continue
            split[i] += room
            remaining -= room
            blocked |= ignore
            for d, (_, _, values, _) in enumerate(dims):
                used[d][values[pos]] += room
        if remaining == 0:
            break
    return split, blocked


def _unmet(
    chosen: list[int],
    split: list[int],
    dims: tuple[tuple[str, str, Sequence[int], float], ...],
    blocked: set[int],
    c: Constraints,
    market_types: int,
) -> list[UnmetConstraint]:
    out: list[UnmetConstraint] = []
    n_types = len({dims[0][2][p] for p in chosen})
    if n_types < c.min_instance_types:
        why = (
            f"only {market_types} distinct instance types match the requirements"
            if market_types < c.min_instance_types
            else f"top={c.top} leaves room for {n_types}"
        )
        out.append(
            UnmetConstraint(
                "min_instance_types",
                c.min_instance_types,
                n_types,
                f"wanted >= {c.min_instance_types} instance types, got {n_types}: {why}",
            )
        )
    n_zones = len({dims[2][2][p] for p in chosen})
    if n_zones < c.min_zones:
        out.append(
            UnmetConstraint(
                "min_zones",
                c.min_zones,
                n_zones,
                f"wanted >= {c.min_zones} zones, only {n_zones} have an eligible pool",
            )
        )
    for d, (code, noun, values, share) in enumerate(dims):
        load: Counter[int] = Counter()
        for i, pos in enumerate(chosen):
            load[values[pos]] += split[i]
        worst = max(load.values(), default=0) / c.nodes
        # One node is the least any pool can carry: with few nodes a share below 1/nodes
        # is met by one node per pool.
        if d in blocked or worst > max(share, 1 / c.nodes) + _EPS:
            out.append(
                UnmetConstraint(
                    code,
                    share,
                    worst,
                    f"max share per {noun} {share:.0%} not reachable with {c.nodes} node(s) "
                    f"over the eligible pools; largest {noun} share is {worst:.0%}",
                )
            )
    return out
