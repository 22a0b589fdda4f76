"""The import direction of design §2, enforced by walking every module's imports.

    selector    imports nothing of ours
    core        selector (its data types)
    collectors  core, selector
    outputs     core, selector
    api         outputs, core, selector (everything below it; never collectors)
    migrations  core
    spotsel     anything, but api only from the module that serves it

selector's purity (no I/O libraries, no clock) is checked in tests/selector/test_selector_purity.py.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = frozenset({"selector", "core", "collectors", "outputs", "api", "migrations", "spotsel"})
# package -> packages of ours it may import (besides itself)
ALLOWED: dict[str, frozenset[str]] = {
    "selector": frozenset(),
    "core": frozenset({"selector"}),
    "collectors": frozenset({"core", "selector"}),
    "outputs": frozenset({"core", "selector"}),
    "api": frozenset({"outputs", "core", "selector"}),
    "migrations": frozenset({"core"}),
    "spotsel": frozenset({"core", "selector", "collectors", "outputs", "api", "migrations"}),
}
# The CLI may import api only to serve it: these modules (relative to the root) and no others.
NARROW: dict[tuple[str, str], frozenset[str]] = {
    ("spotsel", "api"): frozenset({"spotsel/commands/serve.py"}),
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


def violations(
    root: Path,
    package: str,
    allowed: Mapping[str, frozenset[str]] = ALLOWED,
    narrow: Mapping[tuple[str, str], frozenset[str]] = NARROW,
) -> list[str]:
    """Every import in ``root/package`` that the layering does not allow, as ``file:line``."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        where = path.relative_to(root).as_posix()
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top not in OURS or top == package:
                continue
            only_from = narrow.get((package, top))
            if top not in allowed[package] or (only_from is not None and where not in only_from):
                found.append(f"{where}:{line} imports {name}")
    return found


def test_every_package_of_ours_has_a_rule() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} & OURS
    assert packages == set(ALLOWED), "a new top-level package needs a row in ALLOWED"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_downward(package: str) -> None:
    found = violations(ROOT, package)
    assert not found, "\n".join(found)


def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


# (module, source, why it must be refused)
FORBIDDEN = [
    ("selector/a.py", "from core.tables import Zone\n", "selector imports nothing of ours"),
    ("core/a.py", "import collectors.base\n", "core may only use selector's types"),
    ("collectors/a.py", "from api.app import create_app\n", "collectors never import api"),
    ("collectors/b.py", "from outputs import crds\n", "collectors and outputs are siblings"),
    ("outputs/a.py", "from collectors.base import Source\n", "outputs and collectors are siblings"),
    ("api/a.py", "from collectors.runner import run_source\n", "api never imports collectors"),
    ("api/b.py", "import spotsel.cli\n", "nothing imports the CLI"),
    ("spotsel/commands/rank.py", "from api.app import create_app\n", "api only to serve"),
]


@pytest.mark.parametrize(("module", "source", "why"), FORBIDDEN)
def test_the_rule_refuses_an_arrow_against_it(
    tmp_path: Path, module: str, source: str, why: str
) -> None:
    root = _tree(tmp_path, {module: source})
    assert violations(root, module.split("/")[0]), why


_SERVE_MODULE = next(iter(NARROW[("spotsel", "api")]))


def test_the_rule_allows_the_arrows_it_states(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "core/a.py": "from selector import PoolIndex\n",
            "outputs/a.py": "from core.errors import SpotselError\nimport selector\n",
            "api/a.py": "from outputs.crds import load_crds\nfrom core.db import make_engine\n",
            _SERVE_MODULE: "from api.server import serve\n",
            "spotsel/commands/demo.py": "from collectors import SOURCES\nimport outputs\n",
        },
    )
    assert [v for package in ALLOWED for v in violations(root, package)] == []
