"""One exception tree: every error class of ours derives from the single root `SpotselError`.

The CLI and the API catch that root (and nothing broader for user mistakes), so an error class
outside the tree would surface as a traceback or a 500 instead of one clear line.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

from core.errors import SpotselError as CoreRoot
from selector.errors import SpotselError

PACKAGES = ("selector", "core", "collectors", "outputs", "api", "spotsel")


def _modules(package: str) -> list[ModuleType]:
    root = importlib.import_module(package)
    names = [m.name for m in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")]
    return [root, *(importlib.import_module(n) for n in names)]


def _our_exceptions(modules: list[ModuleType]) -> set[type[BaseException]]:
    found = set()
    for module in modules:
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found.add(value)
    return found


def test_core_reexports_the_one_root() -> None:
    assert CoreRoot is SpotselError


@pytest.mark.parametrize("package", PACKAGES)
def test_every_error_of_ours_has_the_one_root(package: str) -> None:
    errors = _our_exceptions(_modules(package))
    outside = sorted(
        f"{e.__module__}.{e.__qualname__}" for e in errors if not issubclass(e, SpotselError)
    )
    assert not outside, f"error classes outside the tree: {outside}"


def test_the_check_sees_a_stray_error() -> None:
    module = ModuleType("stray")
    exec("class StrayError(ValueError):\n    pass\n", module.__dict__)
    module.StrayError.__module__ = "stray"
    [stray] = _our_exceptions([module])
    assert not issubclass(stray, SpotselError)
