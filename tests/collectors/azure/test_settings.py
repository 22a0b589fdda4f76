"""The ``azure`` source's settings: regions, subscription, Retail Prices URL, schedule."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import load_settings

SNAPSHOT = "spotlake/azure_spot_prices_2022-08-04.json.gz"
# The Retail Prices API's display locations (SpotLake's Region column) of the regions that
# matter here → their ARM names (Azure's region list; `az account list-locations`).
ARM_NAMES = {
    "US South Central": "southcentralus",
    "EU West": "westeurope",
    "US East": "eastus",
    "US West 2": "westus2",
    "AP Southeast": "southeastasia",
    "EU North": "northeurope",
    "JA East": "japaneast",
    "US East 2": "eastus2",
    "US West 3": "westus3",
    "AU East": "australiaeast",
    "UK South": "uksouth",
}


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTSEL_CONFIG", "")
    for name in ("SPOTSEL_AZURE_REGIONS", "SPOTSEL_AZURE_SUBSCRIPTION", "SPOTSEL_SCHEDULE"):
        monkeypatch.delenv(name, raising=False)


def test_default_regions_are_the_public_regions_with_most_spot_gpu_sizes(
    shared_data: Path,
) -> None:
    with gzip.open(shared_data / SNAPSHOT, "rt", encoding="utf-8") as handle:
        rows = json.loads(json.load(handle))
    gpu = Counter(
        r["Region"] for r in rows if r["InstanceType"].startswith("N") and "Gov" not in r["Region"]
    )
    ranked = gpu.most_common()
    regions = load_settings().azure_regions
    assert len(regions) == len(set(regions)) == 10
    tenth = ranked[9][1]
    above = [ARM_NAMES[name] for name, n in ranked if n > tenth]
    tied = {ARM_NAMES[name] for name, n in ranked if n == tenth}
    assert regions[: len(above)] == above
    assert set(regions[len(above) :]) <= tied


def test_regions_take_a_comma_list_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTSEL_AZURE_REGIONS", " eastus, westeurope ,")
    assert load_settings().azure_regions == ["eastus", "westeurope"]
    monkeypatch.setenv("SPOTSEL_AZURE_REGIONS", '["swedencentral"]')
    assert load_settings().azure_regions == ["swedencentral"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SPOTSEL_AZURE_REGIONS", "East US"),
        ("SPOTSEL_AZURE_REGIONS", "eastus'"),
        ("SPOTSEL_AZURE_SUBSCRIPTION", "my-subscription"),
        ("SPOTSEL_AZURE_SUBSCRIPTION", "00000000-0000-0000-0000-00000000000"),  # 11 digits
        ("SPOTSEL_AZURE_SUBSCRIPTION", "00000000-0000-0000-0000-000000000000\n"),
    ],
)
def test_malformed_values_are_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith(f"invalid setting {name}"), str(info.value)
    assert "\n" not in str(info.value)


def test_subscription_retail_url_and_schedule_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.azure_subscription is None  # then AZURE_SUBSCRIPTION_ID
    assert settings.azure_retail_url == "https://prices.azure.com/api/retail/prices"
    assert settings.schedule["azure"] == 120.0
    guid = "0A1B2C3D-0000-4000-8000-00000000ABCD"
    monkeypatch.setenv("SPOTSEL_AZURE_SUBSCRIPTION", guid)
    assert load_settings().azure_subscription == guid
