"""`selector.outputs` loads its names lazily: each must still be the object its module defines,
even after every submodule has been imported (a submodule import binds the module's name on
the package, which would shadow a function of the same name)."""

from __future__ import annotations

import importlib
import pkgutil

import selector.outputs as package


def test_every_exported_name_is_its_modules_object_after_all_submodules_load() -> None:
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"selector.outputs.{info.name}")
    where = package._WHERE
    assert set(where) == set(package.__all__)
    for name, module in where.items():
        assert getattr(package, name) is getattr(importlib.import_module(module), name), name
