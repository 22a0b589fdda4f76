"""Collectors: fetch signals from the clouds (and the simulated market) into the store.

Sources are listed in one plain registry: name → source object with a ``collect(ctx)``.
"""

from __future__ import annotations

from collectors.aws import AWS_ADVISOR_SOURCE, AWS_PUBLIC_SOURCE, AWS_SOURCE
from collectors.aws.events_source import AWS_EVENTS_SOURCE
from collectors.base import CollectContext, Source
from collectors.gcp import GCP_SOURCE
from collectors.sim.source import SIM_SOURCE
from core.errors import UnknownSourceError

__all__ = ["SOURCES", "CollectContext", "Source", "get_source"]

SOURCES: dict[str, Source] = {
    SIM_SOURCE.name: SIM_SOURCE,
    AWS_SOURCE.name: AWS_SOURCE,
    AWS_ADVISOR_SOURCE.name: AWS_ADVISOR_SOURCE,
    AWS_PUBLIC_SOURCE.name: AWS_PUBLIC_SOURCE,
    AWS_EVENTS_SOURCE.name: AWS_EVENTS_SOURCE,
    GCP_SOURCE.name: GCP_SOURCE,
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise UnknownSourceError(f"unknown source {name!r} (known sources: {known})") from None
