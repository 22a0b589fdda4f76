"""selector/outputs stays pure like the rest of selector: no I/O, serialisation or clock."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

OUTPUTS = Path(__file__).resolve().parents[3] / "selector" / "outputs"
FORBIDDEN = {"time", "socket", "subprocess", "sqlite3", "urllib", "http", "random", "json", "io"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "open"}
MODULES = sorted(OUTPUTS.glob("*.py"))


def test_modules_found() -> None:
    assert len(MODULES) >= 5


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_only_selector_and_stdlib(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module.split(".")[0]]
        for name in names:
            ok = name in {"selector", "__future__"} or (
                name in sys.stdlib_module_names and name not in FORBIDDEN
            )
            assert ok, f"{path.name} imports {name} (botocore/jsonschema/yaml belong to api/)"
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert called not in CLOCK_CALLS, f"{path.name}:{node.lineno} calls {called}"
