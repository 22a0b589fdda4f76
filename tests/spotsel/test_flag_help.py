"""Every flag the ranking can put on a pool is explained under the table."""

from __future__ import annotations

import ast
import importlib
import inspect

from spotsel.render_ranking import FLAG_HELP


def _flag_literals() -> set[str]:
    """String literals passed to ``flags.append`` or paired with a capacity bit in `_flags`."""
    tree = ast.parse(inspect.getsource(importlib.import_module("selector.rank")._flags))
    found: set[str] = set()
    for node in ast.walk(tree):
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
