"""Fixtures for the AWS collector tests: moto for the whole test, a hook-equipped factory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from moto import mock_aws

from tests.collectors.aws.fakes import FakeAws


@pytest.fixture
def moto() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def fake_aws(moto: None, now: datetime) -> FakeAws:
    return FakeAws(now=now)
