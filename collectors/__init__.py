"""Collectors: fetch signals from the clouds (and the simulated market) into the store.

Sources are listed in one plain registry: name → source object with a ``collect(ctx)``,
each imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collectors.base import CollectContext, Source

    SOURCES: dict[str, Source]

__all__ = ["SIMULATED_SOURCES", "SOURCES", "SOURCE_NAMES", "CollectContext", "Source", "get_source"]

# name -> (module, attribute) of each source. A source's module (and the cloud SDK it uses) is
# imported when the source is first asked for, so naming the sources (`spotsel collect --help`,
# `spotsel status`) starts in well under a second. tests/collectors/test_registry.py checks that
# each entry's object carries this name and this simulated flag.
_SOURCE_HOMES: dict[str, tuple[str, str]] = {
    "sim": ("collectors.sim.source", "SIM_SOURCE"),
    "aws": ("collectors.aws.source", "AWS_SOURCE"),
    "aws-advisor": ("collectors.aws.advisor_source", "AWS_ADVISOR_SOURCE"),
    "aws-public": ("collectors.aws.public_source", "AWS_PUBLIC_SOURCE"),
    "aws-events": ("collectors.aws.events_source", "AWS_EVENTS_SOURCE"),
    "gcp": ("collectors.gcp.source", "GCP_SOURCE"),
    "azure": ("collectors.azure.source", "AZURE_SOURCE"),
}
SOURCE_NAMES: tuple[str, ...] = tuple(_SOURCE_HOMES)
# The sources whose rows are simulated (their `simulated` is True); labelled wherever they travel.
SIMULATED_SOURCES: frozenset[str] = frozenset({"sim"})


def get_source(name: str) -> Source:
    try:
        module, attribute = _SOURCE_HOMES[name]
    except KeyError:
        from core.errors import UnknownSourceError

        known = ", ".join(sorted(_SOURCE_HOMES))
        raise UnknownSourceError(f"unknown source {name!r} (known sources: {known})") from None
    source: Source = getattr(import_module(module), attribute)
    return source


if not TYPE_CHECKING:  # mypy reads the declarations above; at run time, on first use:

    def __getattr__(name: str) -> Any:
        if name == "SOURCES":
            value: Any = {source: get_source(source) for source in _SOURCE_HOMES}
        elif name in ("CollectContext", "Source"):
            value = getattr(import_module("collectors.base"), name)
        else:
            raise AttributeError(f"module 'collectors' has no attribute {name!r}")
        globals()[name] = value
        return value
