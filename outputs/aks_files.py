"""The AKS node pools of Azure profiles as files: a shell script and a JSON document per profile.

`<profile>.aks-nodepools.sh` holds one `az aks nodepool add` line per pool, every argument
quoted with `shlex` (the builder returns argument lists, so nothing is ever spliced into a
command by hand); comment lines above them say what the user must know first (simulated data,
sizes left out past the AKS limit, placeholders to substitute). `<profile>.aks-nodepools.json`
holds the same pools as ARM `agentPools` PUT bodies with their resource paths. Both are
deterministic (no timestamps), so `--diff` reports only real changes.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Final

from selector.outputs import AksNodePools

__all__ = ["AKS_JSON_SUFFIX", "AKS_SCRIPT_SUFFIX", "SCRIPT_SHEBANG", "aks_script", "render_aks"]

AKS_SCRIPT_SUFFIX: Final = ".aks-nodepools.sh"
AKS_JSON_SUFFIX: Final = ".aks-nodepools.json"
# `sh -e`: the first refused pool stops the script instead of leaving a half-made cluster
# unnoticed (the kernel passes one argument after the interpreter, which is all this needs).
SCRIPT_SHEBANG: Final = "#!/bin/sh -e"


def aks_script(generated: AksNodePools) -> str:
    """The profile's `az aks nodepool add` lines, notes above them as comments."""
    lines = [
        SCRIPT_SHEBANG,
        f"# AKS spot node pools of profile {generated.profile} ({generated.region}), "
        "written by spotsel nodepools generate",
    ]
    lines += [f"# {note}" for note in generated.notes()]
    lines += [shlex.join(pool.az) for pool in generated.pools]
    return "\n".join(lines) + "\n"


def render_aks(generated: Sequence[AksNodePools]) -> dict[str, str]:
    """`<profile>.aks-nodepools.sh` and `.json` -> text for every Azure profile."""
    files: dict[str, str] = {}
    for g in generated:
        files[f"{g.profile}{AKS_SCRIPT_SUFFIX}"] = aks_script(g)
        doc = g.to_dict()
        if notes := g.notes():
            doc["notes"] = notes
        files[f"{g.profile}{AKS_JSON_SUFFIX}"] = json.dumps(doc, indent=2) + "\n"
    return files
