"""Names in a request that the pool index does not know: an error naming them, never an empty list.

A region nobody collected (or a typo of one) and a GPU model no pool carries would otherwise
filter out every pool, and the answer — an empty ranking — reads like "no capacity" when it means
"no such name". `check_known_names` refuses such a request with a `RequirementsError` that names
the unknown values, their closest known names and what the index holds, so the CLI exits 1 and
the REST API answers 422 like any other invalid requirement.

Checked: ``regions`` against the regions of the index; ``gpu_models`` (after class expansion)
against the models of the index plus every model of a GPU class, so a class or model that is
known but not offered in the collected regions still gets the usual explained empty answer.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Collection, Iterable
from typing import Final

from selector.errors import RequirementsError
from selector.gpus import GPU_CLASSES
from selector.pool_index import PoolIndex
from selector.requirements import Requirements

__all__ = ["check_known_names", "prepare_known_names"]

# Close matches suggested per unknown name, and how alike they must be (difflib's ratio; 0.6 is
# its default: "us-east1" finds "us-east-1", "eu-wst-1" finds "eu-west-1").
CLOSE_MATCHES: Final = 3
CLOSE_MATCH_CUTOFF: Final = 0.6
# Known names listed in the message before "and N more": it stays one readable line even over a
# store with hundreds of (simulated) regions.
MAX_LISTED: Final = 8
# Unknown names quoted in one message; the rest are counted. Each is cut to about
# MAX_NAME_CHARS (a request may be large, a message is one short line) and only names of a
# plausible length are matched against the known ones.
MAX_UNKNOWN_SHOWN: Final = 5
MAX_NAME_CHARS: Final = 60

_SHORT = reprlib.Repr()
_SHORT.maxstring = MAX_NAME_CHARS

# Every model a GPU class names is a real model, offered or not in the collected regions.
_CLASS_MODELS: Final = frozenset(model for models in GPU_CLASSES.values() for model in models)


def check_known_names(snapshot: PoolIndex, requirements: Requirements) -> None:
    """Raise `RequirementsError` when the request names a region or GPU model unknown to
    `snapshot`. An empty index is left to the caller, which reports an empty store itself."""
    if snapshot.size == 0:
        return
    if requirements.regions:
        _check("regions", "region", requirements.regions, snapshot.memo("known_regions", _regions))
    if requirements.gpu_models:
        models = snapshot.memo("known_gpu_models", _gpu_models)
        _check("gpu_models", "GPU model", requirements.gpu_models, models)


def prepare_known_names(snapshot: PoolIndex) -> None:
    """Build the tables `check_known_names` reads for `snapshot` now rather than on first use."""
    snapshot.memo("known_regions", _regions)
    snapshot.memo("known_gpu_models", _gpu_models)


class _Known:
    """Names an index holds, by lower case (the filters compare names case-insensitively), and
    the lower-case names a request may use (those, and names known elsewhere)."""

    def __init__(self, held: Collection[str], also_known: Collection[str] = ()) -> None:
        self.held = held
        self.by_lower = {name.lower(): name for name in held}
        self.accepted = frozenset(self.by_lower) | {name.lower() for name in also_known}


def _regions(snapshot: PoolIndex) -> _Known:
    return _Known(snapshot.regions)


def _gpu_models(snapshot: PoolIndex) -> _Known:
    return _Known([model for model in snapshot.gpu_models if model], also_known=_CLASS_MODELS)


def _check(field: str, noun: str, wanted: Iterable[str], known: _Known) -> None:
    by_lower = known.by_lower
    unknown = sorted({name for name in wanted if name.lower() not in known.accepted})
    if not unknown:
        return
    shown = [_with_matches(name, by_lower) for name in unknown[:MAX_UNKNOWN_SHOWN]]
    more = len(unknown) - MAX_UNKNOWN_SHOWN
    if more > 0:
        shown.append(f"and {more} more")
    plural = "s" if len(unknown) > 1 else ""
    raise RequirementsError(
        field,
        f"unknown {noun}{plural} {', '.join(shown)}; the store holds {_listed(known.held, noun)}",
    )


def _with_matches(name: str, by_lower: dict[str, str]) -> str:
    close = (
        difflib.get_close_matches(
            name.lower(), list(by_lower), n=CLOSE_MATCHES, cutoff=CLOSE_MATCH_CUTOFF
        )
        if len(name) <= MAX_NAME_CHARS
        else []
    )
    hint = f" (did you mean {' or '.join(by_lower[c] for c in close)}?)" if close else ""
    return f"{_SHORT.repr(name)}{hint}"


def _listed(known: Collection[str], noun: str) -> str:
    names = sorted(known)
    head = ", ".join(names[:MAX_LISTED])
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    plural = "" if len(names) == 1 else "s"
    return f"{len(names)} {noun}{plural}: {head}{more}" if names else f"no {noun}s"
