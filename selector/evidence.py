"""What the user's own fleet told the ranking about one pool, and how it moved the pool.

Interruptions and instance-hours update λ (Gamma-Poisson, `selector.hazard`); recent
insufficient-capacity errors lower capacity (`selector.capacity.ice_weight`, remembered for
ICE_TTL_HOURS). `FleetEvidence.notes` says both in one line each, with the before → after numbers,
so a recommendation explains where fleet evidence changed its mind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from selector.capacity import ICE_TTL_HOURS

__all__ = ["FleetEvidence", "format_hours", "format_rate"]


def format_rate(rate: float) -> str:
    """λ per hour to two significant digits (0.07, 0.0041, 1.2)."""
    return f"{rate:.2g}"


def format_hours(hours: float) -> str:
    """Instance-hours or an age in hours, to what a reader compares (41, 6.5, 0.25)."""
    return f"{hours:.0f}" if hours >= 10 else f"{hours:.2g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True, slots=True)
class FleetEvidence:
    """One pool's own-fleet evidence and its effect at the ranking's `now`."""

    interruptions: int
    instance_hours: float
    capacity_errors: int  # insufficient-capacity errors within ICE_TTL_HOURS of the snapshot
    newest_error_age_hours: float | None  # the newest capacity error's; None = none dated
    # λ before (bucket only) and after the update; None for an on-demand offering (λ = 0).
    prior_rate: float | None
    rate: float | None
    capacity_before_errors: float  # c without the ICE penalty
    capacity: float  # c as ranked
    capacity_error_weight: float  # how many full-strength errors they still count as

    @property
    def moved_hazard(self) -> bool:
        return self.prior_rate is not None and self.instance_hours > 0

    @property
    def moved_capacity(self) -> bool:
        return self.capacity_error_weight > 0

    @property
    def notes(self) -> tuple[str, ...]:
        """One line per signal the evidence touched, e.g. "3 interruptions in 41 instance-hours:
        λ 0.07 → 0.11/h", "2 capacity errors in the last 12 h (newest 1.5 h ago):
        capacity 0.80 → 0.39"."""
        out = []
        if self.moved_hazard and self.prior_rate is not None and self.rate is not None:
            out.append(
                f"{_plural(self.interruptions, 'interruption')} in "
                f"{format_hours(self.instance_hours)} instance-hours: "
                f"λ {format_rate(self.prior_rate)} → {format_rate(self.rate)}/h"
            )
        if self.capacity_errors > 0:
            age = self.newest_error_age_hours
            newest = "undated" if age is None else f"newest {format_hours(age)} h ago"
            head = (
                f"{_plural(self.capacity_errors, 'capacity error')} in the last "
                f"{ICE_TTL_HOURS:g} h ({newest})"
            )
            if self.moved_capacity:
                out.append(
                    f"{head}: capacity {self.capacity_before_errors:.2f} → {self.capacity:.2f}"
                )
            else:
                out.append(f"{head}: past the {ICE_TTL_HOURS:g} h memory, capacity unchanged")
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "interruptions": self.interruptions,
            "instance_hours": self.instance_hours,
            "capacity_errors": self.capacity_errors,
            "newest_error_age_hours": self.newest_error_age_hours,
            "prior_rate_per_hour": self.prior_rate,
            "rate_per_hour": self.rate,
            "capacity_before_errors": self.capacity_before_errors,
            "capacity": self.capacity,
            "capacity_error_weight": self.capacity_error_weight,
            "notes": list(self.notes),
        }
