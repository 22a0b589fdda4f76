"""Min-cost flow by successive shortest paths (Dijkstra on reduced costs, Johnson potentials).

Sized for diversification: a few hundred nodes, integer capacities and costs. Costs are Python
ints, so the large coverage rewards `selector.diversify` puts on some arcs stay exact. Arcs may
cost less than zero as long as the graph carries no flow yet and the caller gives a topological
order: the first potentials come from one pass over that order.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

__all__ = ["FlowGraph"]

_INF = float("inf")


class FlowGraph:
    """A directed graph of arcs (capacity, cost); arc `e` has its reverse at `e ^ 1`."""

    def __init__(self, nodes: int) -> None:
        self.nodes = nodes
        self.out: list[list[int]] = [[] for _ in range(nodes)]
        self.head: list[int] = []
        self.cap: list[int] = []
        self.cost: list[int] = []
        self.potential: list[float] = [_INF] * nodes

    def add(self, u: int, v: int, cap: int, cost: int) -> int:
        """Add the arc u -> v and return its id (skipped arcs of capacity 0 return -1)."""
        if cap <= 0:
            return -1
        head, caps, costs = self.head, self.cap, self.cost
        e = len(head)
        head.append(v)
        head.append(u)
        caps.append(cap)
        caps.append(0)
        costs.append(cost)
        costs.append(-cost)
        self.out[u].append(e)
        self.out[v].append(e + 1)
        return e

    def flow(self, e: int) -> int:
        """Units on arc `e` (0 for a skipped arc)."""
        return 0 if e < 0 else self.cap[e ^ 1]

    def residual(self, e: int) -> int:
        return 0 if e < 0 else self.cap[e]

    def run(self, source: int, sink: int, limit: int, order: Sequence[int]) -> int:
        """Send up to `limit` units source -> sink at least cost; return the units sent.

        `order` is a topological order of the nodes reachable from `source`. Afterwards
        `potential` holds node potentials under which every residual arc has a reduced cost
        >= 0: the certificate that the flow is the cheapest of its size.
        """
        pot = self.potential
        pot[source] = 0
        for u in order:  # shortest paths on the flow-free DAG, negative costs allowed
            if pot[u] == _INF:
                continue
            for e in self.out[u]:
                if self.cap[e] > 0 and pot[u] + self.cost[e] < pot[self.head[e]]:
                    pot[self.head[e]] = pot[u] + self.cost[e]
        # Potentials are kept as `base[v] + shift`: an augmentation moves every node not settled
        # before the sink by the sink's distance, which is one change of `shift`, and only the
        # settled nodes by their own distance (reduced costs only see differences, so the search
        # reads `base` directly).
        base = list(pot)
        shift: float = 0
        cap, head = self.cap, self.head
        sent = 0
        while sent < limit:
            dist, prev, settled = self._dijkstra(source, sink, base)
            if dist[sink] == _INF:
                break
            reach = dist[sink]
            shift += reach
            for v in settled:
                d = dist[v]
                if d < reach:
                    base[v] += d - reach
            push = limit - sent
            v = sink
            while v != source:
                e = prev[v]
                if cap[e] < push:
                    push = cap[e]
                v = head[e ^ 1]
            v = sink
            while v != source:
                e = prev[v]
                cap[e] -= push
                cap[e ^ 1] += push
                v = head[e ^ 1]
            sent += push
        self.potential = [b + shift for b in base]
        return sent

    def _dijkstra(
        self, source: int, sink: int, pot: list[float]
    ) -> tuple[list[float], list[int], list[int]]:
        """Reduced-cost distances under `pot`, stopping once the sink is settled; and the nodes
        settled before it."""
        head, cap, cost, out = self.head, self.cap, self.cost, self.out
        dist = [_INF] * self.nodes
        prev = [-1] * self.nodes
        settled: list[int] = []
        dist[source] = 0
        heap: list[tuple[float, int]] = [(0, source)]
        pop, push = heapq.heappop, heapq.heappush
        while heap:
            d, u = pop(heap)
            if d > dist[u]:
                continue
            if u == sink:
                break
            settled.append(u)
            base = d + pot[u]
            for e in out[u]:
                if cap[e] <= 0:
                    continue
                v = head[e]
                nd = base + cost[e] - pot[v]
                if nd < dist[v]:
                    dist[v] = nd
                    prev[v] = e
                    push(heap, (nd, v))
        return dist, prev, settled
