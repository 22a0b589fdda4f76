"""The node split of `selector.diversify` as a min-cost flow over the best candidates.

`Problem` holds the candidates, nodes and coverage; `Problem.solve` returns the optimal split
under any caps and `relax` loosens caps that no split meets together. The model (arcs, costs,
coverage rewards) is described in `selector.diversify`.

Speed. The flow runs on the best `PREFIX_START` distinct pools, doubling until the residual
potentials prove that no pool further down the list could lower the cost (a pool that would
close a cheaper cycle fails the check), so a few hundred candidates cost a few small flows.
When a binding family cap makes the type reward per family, the first prefix already holds
every type a reward could pay for (fewer cannot pass the check).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Final

import numpy as np
import numpy.typing as npt

from selector.flow import FlowGraph
from selector.strategies import first_positions

__all__ = ["FAMILY", "PREFIX_START", "TYPE", "ZONE", "Problem", "relax"]

# Distinct pools the first flow sees; doubled until the optimality check passes.
PREFIX_START: Final = 32
# Potentials are integers; float64 holds them exactly up to 2**53. Past this bound the
# optimality check runs in Python integers instead (never at realistic sizes).
_EXACT: Final = 2.0**52
# Column and cap indices: `cols` and `caps` are ordered (type, family, zone).
TYPE, FAMILY, ZONE = 0, 1, 2


class Problem:
    """The split for fixed candidates, nodes and coverage, under any caps."""

    def __init__(
        self, cols: tuple[Sequence[int], ...], nodes: int, k_types: int, k_zones: int
    ) -> None:
        types, families, _ = cols
        self.cols = cols
        self.nodes = nodes
        self.k_types = k_types
        self.k_zones = k_zones
        # Dense codes (0..k-1) of each column, for the vectorised optimality check.
        (t_code, f_code, z_code), self.values = _dense(cols)
        # The family of each type, as its first candidate says; one type, one family.
        type_first = _first_positions(t_code)
        self.family_of_code = f_code[type_first]
        if np.any(self.family_of_code[t_code] != f_code):
            _two_families(types, families)
        type_values, family_values, _ = self.values
        self.family_of = dict(
            zip(type_values.tolist(), family_values[self.family_of_code].tolist(), strict=True)
        )
        self.type_code, self.zone_code = t_code, z_code
        # The best position of each (zone, type), in order.
        pair = z_code * (int(t_code.max(initial=0)) + 1) + t_code
        self.pool_positions = np.sort(_first_positions(pair))
        self.pools: list[int] = self.pool_positions.tolist()
        # A reward above any rank sum: coverage first, then quality.
        self.reward = nodes * len(types) + 1
        # (pools up to each type's best pool, rank within its family), built on first use.
        self._type_starts: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
        # Per type and per zone, the index in `pools` of its first pool, ascending.
        self._firsts: tuple[npt.NDArray[np.int64], ...] | None = None

    def solve(self, caps: Sequence[int]) -> dict[int, int]:
        """The optimal split {position: nodes} under `caps` (less than `nodes` if unreachable)."""
        if caps[FAMILY] < self.nodes and self.k_types >= 2:
            # Without the family caps the type reward is global, so exact: when that optimum
            # happens to keep within the family caps it is optimal under them too.
            loose = list(caps)
            loose[FAMILY] = self.nodes
            split = self._solve(loose, type_cov=True)
            if sum(split.values()) == self.nodes and self._within_family_cap(split, caps):
                return split
            # Without the type reward the flow is exact too; if it spreads over enough types
            # anyway it is the answer, and the per-family reward (selector.diversify, Exactness)
            # is not needed.
            split = self._solve(caps, type_cov=False)
            if len({self.cols[TYPE][p] for p in split}) >= self.k_types:
                return split
        return self._solve(caps, type_cov=self.k_types >= 2)

    def _within_family_cap(self, split: dict[int, int], caps: Sequence[int]) -> bool:
        load: dict[int, int] = {}
        families = self.cols[FAMILY]
        for pos, k in split.items():
            load[families[pos]] = load.get(families[pos], 0) + k
        return max(load.values(), default=0) <= caps[FAMILY]

    def _solve(self, caps: Sequence[int], *, type_cov: bool) -> dict[int, int]:
        m = max(PREFIX_START, self._coverage_end(caps, type_cov=type_cov))
        if type_cov and caps[FAMILY] < self.nodes:
            # Per-family type rewards pay for up to `nodes` types: no prefix holding fewer of the
            # types that earn one can be optimal (the check would fail it), so skip its flow.
            m = max(m, self._rewarded_types_end(caps))
        while True:
            net = _Network(self, self.pools[:m], caps, type_cov=type_cov)
            sent = net.graph.run(0, 1, self.nodes, net.order)
            if m >= len(self.pools):
                return net.split()
            if sent == self.nodes and net.certifies(self.pool_positions[m:]):
                return net.split()
            m *= 2

    def _coverage_end(self, caps: Sequence[int], *, type_cov: bool) -> int:
        """Pools the prefix needs to hold as many types and zones as the caps let carry the
        nodes, and as the coverage rewards pay for: a prefix with fewer sends too few nodes
        or fails the check (a pool adding a rewarded type or zone lowers the cost)."""
        if self._firsts is None:
            in_order = (self.type_code[self.pool_positions], self.zone_code[self.pool_positions])
            self._firsts = tuple(np.sort(_first_positions(codes)) for codes in in_order)
        wants = (
            max(-(-self.nodes // caps[TYPE]), self.k_types if type_cov else 1),
            max(-(-self.nodes // caps[ZONE]), self.k_zones),
        )
        end = 0
        for firsts, want in zip(self._firsts, wants, strict=True):
            if firsts.size:
                end = max(end, int(firsts[min(want, firsts.size) - 1]) + 1)
        return end

    def _rewarded_types_end(self, caps: Sequence[int]) -> int:
        """Pools the prefix needs to hold every type a per-family reward could pay for.

        A family pays for at most min(k_types, its cap) types, all the flow at most `nodes`;
        those are, at best, the first types of each family in candidate order.
        """
        if self._type_starts is None:
            firsts = _first_positions(self.type_code)
            firsts.sort()
            family = self.family_of_code[self.type_code[firsts]]
            # Rank of each type within its family, in order of the type's best position.
            by_family = np.argsort(family, kind="stable")
            counts = np.bincount(family)
            starts = np.repeat(np.cumsum(counts) - counts, counts)
            within = np.empty_like(by_family)
            within[by_family] = np.arange(by_family.size) - starts
            ends = np.searchsorted(self.pool_positions, firsts) + 1
            self._type_starts = (ends, within)
        ends, within = self._type_starts
        paid = ends[within < min(self.k_types, caps[FAMILY])]
        if paid.size == 0:
            return 0
        return int(paid[min(self.nodes, paid.size) - 1])


def _dense(
    cols: tuple[Sequence[int], ...],
) -> tuple[tuple[npt.NDArray[np.int64], ...], tuple[npt.NDArray[np.int64], ...]]:
    """Each column as dense codes 0..k-1, and the values the codes stand for (sorted)."""
    codes, values = [], []
    for col in cols:
        array = np.asarray(col, dtype=np.int64).reshape(-1)
        uniq, inverse = np.unique(array, return_inverse=True)
        codes.append(inverse.astype(np.int64).reshape(-1))
        values.append(uniq)
    return tuple(codes), tuple(values)


def _first_positions(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The first position of each distinct code (dense codes 0..k-1)."""
    return first_positions(codes)


def _magnitude(values: npt.NDArray[np.float64]) -> float:
    """The largest finite magnitude in `values` (+inf compares exactly in floats too)."""
    finite = values[np.isfinite(values) | (values < 0)]
    return float(np.abs(finite).max(initial=0.0))


def _two_families(types: Sequence[int], families: Sequence[int]) -> None:
    """Raise on the first type seen with a second family (the caller found one)."""
    family_of: dict[int, int] = {}
    for t, f in zip(types, families, strict=True):
        if family_of.setdefault(t, f) != f:
            raise ValueError(f"instance type code {t} has two families ({family_of[t]}, {f})")


class _Network:
    """source → zone → type → (family) → sink over some pools, with coverage rewards."""

    def __init__(
        self, problem: Problem, pools: Sequence[int], caps: Sequence[int], *, type_cov: bool
    ) -> None:
        types, _, zones = problem.cols
        n = problem.nodes
        self.problem = problem
        self.caps = caps
        self.zone_cov = problem.k_zones >= 2  # one node always covers one type and one zone
        self.type_cov = type_cov
        self.family_layer = caps[FAMILY] < n
        ids = iter(range(4, 1 << 62))
        # 0 source, 1 sink, 2 first nodes of zones, 3 first nodes of types (no family layer).
        self.zone = {zones[p]: next(ids) for p in pools}
        self.type = {types[p]: next(ids) for p in pools}
        fams = {problem.family_of[t] for t in self.type} if self.family_layer else set()
        self.family = {f: next(ids) for f in fams}
        self.first = {f: next(ids) for f in fams} if self.type_cov else {}
        self.graph = g = FlowGraph(next(ids))
        self.order = [0, 2, *self.zone.values(), *self.type.values()]
        self.order += [*self.first.values(), *self.family.values(), 3, 1]
        reward = problem.reward
        if self.zone_cov:
            g.add(0, 2, problem.k_zones, -reward)
            g.add(0, 2, n, 0)
        for v in self.zone.values():
            if self.zone_cov:
                g.add(0, v, caps[ZONE] - 1, 0)
                g.add(2, v, 1, 0)
            else:
                g.add(0, v, caps[ZONE], 0)
        self.arcs = {p: g.add(self.zone[zones[p]], self.type[types[p]], n, p) for p in pools}
        for t, v in self.type.items():
            f = problem.family_of[t]
            after = self.family[f] if self.family_layer else 1
            if self.type_cov:
                g.add(v, after, caps[TYPE] - 1, 0)
                g.add(v, self.first[f] if self.family_layer else 3, 1, 0)
            else:
                g.add(v, after, caps[TYPE], 0)
        for f, v in self.family.items():
            g.add(v, 1, caps[FAMILY], 0)
            if self.type_cov:
                g.add(self.first[f], v, problem.k_types, -reward)
                g.add(self.first[f], v, n, 0)
        if self.type_cov and not self.family_layer:
            g.add(3, 1, problem.k_types, -reward)
            g.add(3, 1, n, 0)

    def split(self) -> dict[int, int]:
        return {p: k for p, e in self.arcs.items() if (k := self.graph.flow(e)) > 0}

    def certifies(self, rest: npt.NDArray[np.int64]) -> bool:
        """Whether no pool of `rest` (positions) could lower the cost: the flow is optimal over
        all pools.

        With valid potentials π, adding the arc zone → type of cost p keeps every reduced
        cost >= 0 iff π(zone) + p >= π(type); then no cheaper flow of the same size exists.
        Zones are pushed up and types down as far as their residual arcs allow (still
        valid) so the check rejects as few pools as it can. The test runs over every pool of
        `rest` at once, on per-type and per-zone potentials (a type the prefix lacks takes
        its potential from its family's arcs).
        """
        g = self.graph
        pot = list(g.potential)
        problem = self.problem
        caps = self.caps

        def lowest(v: int) -> float:  # the least potential v's residual out-arcs allow
            arcs = (pot[g.head[e]] - g.cost[e] for e in g.out[v] if g.cap[e] > 0)
            return max(arcs, default=pot[v])

        def highest(v: int) -> float:  # the greatest potential v's residual in-arcs allow
            arcs = (pot[g.head[e]] + g.cost[e ^ 1] for e in g.out[v] if g.cap[e ^ 1] > 0)
            return min(arcs, default=pot[v])

        # Lowering a node to what its residual out-arcs allow keeps every in-arc valid, so the
        # nodes between the types and the sink sink first, nearest the sink first: the types
        # (those the prefix lacks included) then see the lowest potentials their arcs reach.
        # Without this a saturated reward node keeps its flow-time potential, up to a reward
        # above the sink, and fails pools of a new type that could not lower the cost.
        downstream = [*self.family.values(), *self.first.values()]
        if self.type_cov and not self.family_layer:
            downstream.append(3)
        for v in downstream:
            pot[v] = lowest(v)
        type_pot = {t: lowest(v) for t, v in self.type.items()}
        for t, v in self.type.items():  # zones see the lowered types: together still valid
            pot[v] = type_pot[t]
        if self.zone_cov:  # likewise raised: zones the prefix lacks take its potential
            pot[2] = highest(2)
        zone_pot = {z: highest(v) for z, v in self.zone.items()}
        # A zone or type no pool of the prefix has: its potential from its arcs, analytically.
        new_zone = min(
            pot[0] if not self.zone_cov or caps[ZONE] > 1 else math.inf,
            pot[2] if self.zone_cov else math.inf,
        )
        types, _, zones = problem.values
        # A new type's potential depends on its family only, and only on whether the prefix has
        # that family: one value for every family it lacks.
        families = problem.values[1]
        by_family = np.full(families.size, self._new_type_family(None, pot), dtype=np.float64)
        for f in self.family:
            by_family[np.searchsorted(families, f)] = self._new_type_family(f, pot)
        type_level = by_family[problem.family_of_code]
        if type_pot:
            type_level[np.searchsorted(types, list(type_pot))] = list(type_pot.values())
        zone_level = np.full(zones.size, new_zone, dtype=np.float64)
        if zone_pot:
            zone_level[np.searchsorted(zones, list(zone_pot))] = list(zone_pot.values())
        levels = (type_level, zone_level, by_family)
        if max(_magnitude(x) for x in levels) > _EXACT:
            return self._certifies_exactly(rest, type_pot, zone_pot, new_zone, pot)
        fails = zone_level[problem.zone_code[rest]] + rest < type_level[problem.type_code[rest]]
        return not bool(fails.any())

    def _certifies_exactly(
        self,
        rest: npt.NDArray[np.int64],
        type_pot: dict[int, float],
        zone_pot: dict[int, float],
        new_zone: float,
        pot: list[float],
    ) -> bool:
        """The check pool by pool in Python numbers, for potentials past float precision."""
        types, _, zones = self.problem.cols
        for p in rest.tolist():
            t, z = types[p], zones[p]
            tp = type_pot.get(t)
            if tp is None:
                tp = self._new_type(t, pot)
            zp = zone_pot.get(z, new_zone)
            if zp + p < tp:
                return False
        return True

    def _new_type(self, t: int, pot: list[float]) -> float:
        return self._new_type_family(self.problem.family_of[t], pot)

    def _new_type_family(self, f: int | None, pot: list[float]) -> float:
        """The potential a type of family `f` (None: one the prefix lacks) that no pool of the
        prefix has would take, under the potentials `pot`."""
        caps, sink = self.caps, pot[1]
        after = pot[self.family[f]] if f in self.family else sink
        if not self.type_cov:
            return after
        if not self.family_layer:
            first = pot[3]
        elif f in self.first:
            first = pot[self.first[f]]
        else:  # a new family: its reward arc is unused
            first = after + self.problem.reward
        return max(first, after) if caps[TYPE] > 1 else first


def relax(problem: Problem, caps: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Caps unreachable together: loosen the fewest dimensions, each as little as possible.

    Returns the split and {dimension: loosened cap}. The best single dimension (smallest
    resulting cap) wins; pairs only when no single one suffices.
    """
    n = problem.nodes
    for size in (1, 2, 3):
        best: tuple[int, dict[int, int], dict[int, int]] | None = None
        for dims in combinations(range(3), size):
            trial = list(caps)
            for d in dims:
                trial[d] = n
            if sum(problem.solve(trial).values()) < n:
                continue
            lo, hi = max(caps[d] for d in dims), n  # hi feasible: bisect the least cap
            while lo < hi:
                mid = (lo + hi) // 2
                for d in dims:
                    trial[d] = max(caps[d], mid)
                if sum(problem.solve(trial).values()) == n:
                    hi = mid
                else:
                    lo = mid + 1
            for d in dims:
                trial[d] = max(caps[d], hi)
            if best is None or hi < best[0]:
                best = (hi, problem.solve(trial), {d: trial[d] for d in dims})
        if best is not None:
            return best[1], best[2]
    return {}, {}  # unreachable: every dimension relaxed always carries the nodes
