"""selector/ stays pure: imports only itself, the standard library and numpy; reads no clock."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SELECTOR = Path(__file__).resolve().parents[2] / "selector"
ALLOWED_THIRD_PARTY = {"numpy"}
# Standard-library modules that do I/O or read the clock have no place in a pure ranker.
FORBIDDEN_STDLIB = {"time", "socket", "subprocess", "sqlite3", "urllib", "http", "random"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}

MODULES = sorted(SELECTOR.glob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_modules_found() -> None:
    assert len(MODULES) >= 10


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_only_itself_stdlib_and_numpy(path: Path) -> None:
    imported = _imports(ast.parse(path.read_text()))
    for name in imported:
        ok = (
            name == "selector"
            or name in ALLOWED_THIRD_PARTY
            or name == "__future__"
            or (name in sys.stdlib_module_names and name not in FORBIDDEN_STDLIB)
        )
        assert ok, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_never_reads_the_clock(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads the clock"
