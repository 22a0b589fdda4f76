"""The source registry names its sources without importing them, and names them right."""

from __future__ import annotations

import subprocess
import sys

import pytest

import collectors
from collectors import SIMULATED_SOURCES, SOURCE_NAMES, SOURCES, get_source
from core.errors import UnknownSourceError


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_each_entry_is_the_source_of_that_name(name: str) -> None:
    source = get_source(name)
    assert source.name == name
    assert source.simulated == (name in SIMULATED_SOURCES)
    assert SOURCES[name] is source


def test_the_registry_lists_every_source_once() -> None:
    assert list(SOURCES) == list(SOURCE_NAMES)
    assert set(SOURCE_NAMES) >= SIMULATED_SOURCES


def test_an_unknown_source_names_the_known_ones() -> None:
    with pytest.raises(UnknownSourceError, match=r"known sources: aws, .*sim"):
        get_source("azur")
    with pytest.raises(AttributeError):
        _ = collectors.NOT_A_NAME  # type: ignore[attr-defined]


def test_naming_the_sources_imports_no_source() -> None:
    code = (
        "import sys, collectors; collectors.SOURCE_NAMES; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('collectors.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == []
