"""Every flag the ranking can put on a pool is explained under the table."""

from __future__ import annotations

import ast
import importlib
import inspect

from spotsel.render_ranking import FLAG_HELP

# Where selector.explain names flags: the explanation loop, the pool's own flags, and the table
# pairing each capacity bit with its flag.
FLAG_PLACES = {"explain_pools", "_record_flags", "_CAPACITY_FLAGS"}


def _places(module: ast.Module) -> list[ast.AST]:
    found: list[ast.AST] = []
    for node in module.body:
        if isinstance(node, ast.FunctionDef) and node.name in FLAG_PLACES:
            found.append(node)
        elif isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id in FLAG_PLACES for t in targets):
                found.append(node)
    return found


def _flag_literals() -> set[str]:
    """String literals passed to ``flags.append`` or paired with a capacity bit."""
    module = ast.parse(inspect.getsource(importlib.import_module("selector.explain")))
    places = _places(module)
    assert len(places) == len(FLAG_PLACES), "every place that names flags is scanned"
    found: set[str] = set()
    for node in (inner for place in places for inner in ast.walk(place)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "append"
        ):
            found |= {
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            }
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            last = node.elts[1]
            if isinstance(last, ast.Constant) and isinstance(last.value, str):
                found.add(last.value)
    return found


def test_every_flag_has_help() -> None:
    flags = _flag_literals()
    assert len(flags) >= 10, f"the flag scan found too little: {sorted(flags)}"
    assert {"regional-pool", "derived-on-demand-price"} <= flags
    assert flags <= set(FLAG_HELP), f"flags without help: {sorted(flags - set(FLAG_HELP))}"
