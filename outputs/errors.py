"""Errors only the outputs raise: invalid profiles, unbuildable or invalid output, apply.

They subclass the project's root error, so the CLI and the API catch them with everything else.
"""

from __future__ import annotations

from core.errors import SpotselError

__all__ = [
    "InvalidOutputError",
    "KubernetesError",
    "OutputUnavailableError",
    "ProfileError",
    "SimulatedDataError",
]


class ProfileError(SpotselError):
    """A workload profile (file or request body) is invalid; names the profile and the field."""

    code = "invalid_profile"


class OutputUnavailableError(SpotselError):
    """An output cannot be built from the current ranking (no pool matches, bad options)."""

    code = "output_unavailable"


class InvalidOutputError(SpotselError):
    """A manifest or request failed schema validation (for generated output: a bug, no file)."""

    code = "invalid_output"


class KubernetesError(SpotselError):
    """No usable kubeconfig, or the cluster refused an apply."""

    code = "kubernetes_error"


class SimulatedDataError(SpotselError):
    """Outputs built from simulated data were about to reach a cluster without being asked to."""

    code = "simulated_data"
