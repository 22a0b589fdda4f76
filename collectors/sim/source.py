"""The simulated market as a source: same surface and write path as a real cloud's."""

from __future__ import annotations

from dataclasses import dataclass

from collectors.base import CollectContext
from collectors.sim.market import SOURCE, generate
from core.clock import floor_hour, utcnow
from core.runs import CollectionResult

__all__ = ["SIM_SOURCE", "SimSource"]


@dataclass(frozen=True)
class SimSource:
    """SIMULATED data, clearly labelled: real instance types, made-up market signals.

    Options: ``seed`` (default from settings), ``scale`` (replicas of the real geography),
    ``as_of`` (a datetime; defaults to the run's hour, so re-runs within an hour are identical).
    """

    name: str = SOURCE
    description: str = "simulated market (real instance types, simulated prices and signals)"
    simulated: bool = True
    option_names: frozenset[str] = frozenset({"seed", "scale", "as_of"})

    def collect(self, ctx: CollectContext) -> CollectionResult:
        seed = int(ctx.options.get("seed", ctx.settings.sim_seed))
        scale = int(ctx.options.get("scale", ctx.settings.sim_scale))
        if scale < 1:
            raise ValueError("scale must be at least 1")
        as_of = floor_hour(ctx.options.get("as_of") or ctx.now)
        started = utcnow()
        rows, regions = generate(seed=seed, scale=scale, as_of=as_of, progress=ctx.progress)
        return CollectionResult(
            source=self.name,
            started_at=started,
            finished_at=utcnow(),
            regions=tuple(regions),
            rows=rows,
        )


SIM_SOURCE = SimSource()
