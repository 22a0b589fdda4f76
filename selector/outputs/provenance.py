"""The simulated label every output carries when it was built from simulated data.

A ranking knows whether any of its pools rests on simulated rows (`Ranking.simulated`) and
which collector sources it used (`Ranking.sources`). Outputs built from such a ranking say so
where a cluster, a pipeline or an operator will see it: an annotation on NodePools, NodeOverlays
and the workload snippet's pods, a tag on the EC2 Fleet / Auto Scaling group. Outputs built
from real data carry no label at all, so the label's presence alone means "not for real".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from selector.results import Ranking


__all__ = [
    "SIMULATED_KEY",
    "SOURCES_KEY",
    "Provenance",
]

# Annotation keys (Kubernetes) and tag keys (EC2 / Auto Scaling) alike: both accept a DNS
# prefix, and one spelling everywhere lets an operator grep for a single string.
SIMULATED_KEY: Final = "spotsel.io/simulated"
SOURCES_KEY: Final = "spotsel.io/sources"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Whether an output rests on simulated data, and the sources behind it."""

    simulated: bool = False
    sources: tuple[str, ...] = ()

    @classmethod
    def of(cls, *rankings: Ranking | None) -> Provenance:
        """The union over the rankings an output was built from (None = not used)."""
        used = [r for r in rankings if r is not None]
        return cls(
            simulated=any(r.simulated for r in used),
            sources=tuple(sorted({s for r in used for s in r.sources})),
        )

    @classmethod
    def combine(cls, items: Iterable[Provenance]) -> Provenance:
        """The union of several outputs' provenance (one note for a whole run)."""
        listed = list(items)
        return cls(
            simulated=any(p.simulated for p in listed),
            sources=tuple(sorted({s for p in listed for s in p.sources})),
        )

    def annotations(self) -> dict[str, str]:
        """`{simulated: "true", sources: "a,b"}` for simulated data; empty for real data."""
        if not self.simulated:
            return {}
        return {SIMULATED_KEY: "true", SOURCES_KEY: ",".join(self.sources)}

    def tags(self) -> list[dict[str, Any]]:
        """The same as EC2 `Tags` entries (Key / Value); empty for real data."""
        return [{"Key": k, "Value": v} for k, v in self.annotations().items()]
