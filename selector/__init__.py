"""spotsel's pure ranking engine: frozen dataclasses in, frozen dataclasses out.

Imports nothing of the project but itself, no I/O libraries, and never reads the clock:
`now` is always an argument. Typical use::

    snapshot = PoolIndex.build(records, built_at=loaded_at)
    ranking = rank(snapshot, parse_requirements({"gpus": 1, "gpu_memory_gib": 16}), now=now)
"""

from selector.capacity import normalise_placement
from selector.cost import SpotVerdict
from selector.diversify import UnmetConstraint
from selector.errors import PoolIndexError, RequirementsError, SelectorError, SignalError
from selector.filters import Exclusion
from selector.gpus import GPU_CLASSES
from selector.hazard import Hazard, estimate_hazard
from selector.pool_index import PoolIndex
from selector.pools import PoolKey, PoolRecord
from selector.rank import rank
from selector.requirements import Range, Requirements, parse_range, parse_requirements
from selector.results import RankedPool, Ranking, SignalAges

__all__ = [
    "GPU_CLASSES",
    "Exclusion",
    "Hazard",
    "PoolIndex",
    "PoolIndexError",
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
    "SpotVerdict",
    "UnmetConstraint",
    "estimate_hazard",
    "normalise_placement",
    "parse_range",
    "parse_requirements",
    "rank",
]
