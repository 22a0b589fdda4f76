"""spotsel's pure ranking engine: frozen dataclasses in, frozen dataclasses out.

Imports nothing of the project but itself, no I/O libraries, and never reads the clock:
`now` is always an argument. Typical use::

    snapshot = Snapshot.build(records, built_at=loaded_at)
    ranking = rank(snapshot, parse_requirements({"gpus": 1, "gpu_memory_gib": 16}), now=now)
"""

from selector.capacity import normalise_placement
from selector.cost import SpotVerdict
from selector.diversify import UnmetConstraint
from selector.errors import RequirementsError, SelectorError, SignalError, SnapshotError
from selector.filters import Exclusion
from selector.gpus import GPU_CLASSES
from selector.hazard import Hazard, estimate_hazard
from selector.pools import PoolKey, PoolRecord
from selector.rank import rank
from selector.requirements import Range, Requirements, parse_range, parse_requirements
from selector.results import RankedPool, Ranking, SignalAges
from selector.snapshot import Snapshot

__all__ = [
    "GPU_CLASSES",
    "Exclusion",
    "Hazard",
    "PoolKey",
    "PoolRecord",
    "Range",
    "RankedPool",
    "Ranking",
    "Requirements",
    "RequirementsError",
    "SelectorError",
    "SignalAges",
    "SignalError",
    "Snapshot",
    "SnapshotError",
    "SpotVerdict",
    "UnmetConstraint",
    "estimate_hazard",
    "normalise_placement",
    "parse_range",
    "parse_requirements",
    "rank",
]
