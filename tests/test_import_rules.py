"""The import direction of design §2, enforced by walking every module's imports.

selector's purity (no I/O libraries, no clock) is checked in tests/selector/test_selector_purity.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"selector", "collectors", "api", "core", "spotsel", "migrations"}
# package -> packages of ours it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "selector": set(),
    "core": set(),
    "collectors": {"core", "selector"},
    "api": {"core", "selector"},
    "migrations": {"core"},
    "spotsel": {"core", "selector", "collectors", "api", "migrations"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_downward(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _modules(package)
        for line, name in _imports(path)
        if (top := name.split(".")[0]) in OURS and top != package and top not in ALLOWED[package]
    ]
    assert not violations, "\n".join(violations)


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    """The walker must see imports, or the rules above could never fail."""
    module = tmp_path / "bad.py"
    module.write_text("import os\nfrom collectors.base import CollectContext\n")
    assert (2, "collectors.base") in _imports(module)
