"""spotsel's pure ranking engine: frozen dataclasses in, frozen dataclasses out.

Imports nothing of the project but itself, no I/O libraries, and never reads the clock:
`now` is always an argument. Typical use::

    snapshot = PoolIndex.build(records, built_at=loaded_at)
    ranking = rank(snapshot, parse_requirements({"gpus": 1, "gpu_memory_gib": 16}), now=now)
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selector.capacity import normalise_placement
    from selector.cost import SpotVerdict
    from selector.diversify import UnmetConstraint
    from selector.errors import PoolIndexError, RequirementsError, SelectorError, SignalError
    from selector.filters import Exclusion
    from selector.gpus import GPU_CLASSES
    from selector.hazard import Hazard, estimate_hazard
    from selector.pool_index import PoolIndex
    from selector.pools import PoolKey, PoolRecord
    from selector.rank import prepare, rank
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
    "prepare",
    "rank",
]

# Where each name lives. They are imported on first use (PEP 562), so importing a light module
# such as `selector.errors` (the CLI's error tree) does not load numpy and the whole ranking engine.
_HOMES = {
    "GPU_CLASSES": "selector.gpus",
    "Exclusion": "selector.filters",
    "Hazard": "selector.hazard",
    "PoolIndex": "selector.pool_index",
    "PoolIndexError": "selector.errors",
    "PoolKey": "selector.pools",
    "PoolRecord": "selector.pools",
    "Range": "selector.requirements",
    "RankedPool": "selector.results",
    "Ranking": "selector.results",
    "Requirements": "selector.requirements",
    "RequirementsError": "selector.errors",
    "SelectorError": "selector.errors",
    "SignalAges": "selector.results",
    "SignalError": "selector.errors",
    "SpotVerdict": "selector.cost",
    "UnmetConstraint": "selector.diversify",
    "estimate_hazard": "selector.hazard",
    "normalise_placement": "selector.capacity",
    "parse_range": "selector.requirements",
    "parse_requirements": "selector.requirements",
    "prepare": "selector.rank",
    "rank": "selector.rank",
}


class _Package(ModuleType):
    """This package: names resolved on first use; `rank` always the function.

    Importing a submodule binds it on its package, so importing `selector.rank` (the module)
    would otherwise hide `selector.rank` (the function) from later ``from selector import rank``.
    """

    def __getattr__(self, name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'selector' has no attribute {name!r}")
        value = getattr(import_module(home), name)
        self.__dict__[name] = value  # once: later look-ups are plain attribute reads
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOMES and isinstance(value, ModuleType):
            return  # a submodule named like one of our names (selector.rank) never hides it
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
