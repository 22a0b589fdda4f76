"""The ``azure`` source's options: regions and subscription, checked before anything is asked.

A malformed value is the user's typo, refused in one line (:class:`~core.errors.ConfigError`)
before a run is recorded. Region names are quoted into OData filters (Retail Prices, Resource
SKUs), so only ARM names (lowercase letters and digits) pass.
"""

from __future__ import annotations

import os
from typing import Any

from core.errors import ConfigError
from core.limits import shorten
from core.settings import AZURE_REGION_RE, AZURE_SUBSCRIPTION_RE

__all__ = ["check_azure_options", "regions_option", "subscription_option"]

# Where the Azure CLI and SDKs read the default subscription from.
_ENV_SUBSCRIPTION = "AZURE_SUBSCRIPTION_ID"


def check_azure_options(options: dict[str, Any]) -> None:
    """Refuse malformed ``regions`` / ``subscription`` before a run is recorded."""
    regions_option(options)
    if options.get("subscription") is not None:
        subscription_option(options)


def regions_option(options: dict[str, Any], *, default: list[str] | None = None) -> list[str]:
    """The run's regions: the option, else ``default`` (the settings), lower-cased, deduplicated."""
    value = options.get("regions") or default or []
    if isinstance(value, str) or not all(isinstance(r, str) and r.strip() for r in value):
        raise ConfigError("regions must be a list of Azure region names, e.g. eastus,westeurope")
    regions = list(dict.fromkeys(r.strip().lower() for r in value))
    for region in regions:
        if not AZURE_REGION_RE.fullmatch(region):
            raise ConfigError(
                f"region {shorten(region)} is not an Azure region name (lowercase letters and "
                "digits, e.g. eastus2)"
            )
    return regions


def subscription_option(options: dict[str, Any], *, default: str | None = None) -> str:
    """The run's subscription: the option, else ``default`` (the settings), else the environment."""
    value = options.get("subscription") or default or os.environ.get(_ENV_SUBSCRIPTION)
    if not value:
        raise ConfigError(
            "no Azure subscription: pass --subscription, set SPOTSEL_AZURE_SUBSCRIPTION or "
            f"{_ENV_SUBSCRIPTION}"
        )
    if not isinstance(value, str) or not AZURE_SUBSCRIPTION_RE.fullmatch(value):
        raise ConfigError(
            f"the Azure subscription must be a subscription ID (a GUID), got {shorten(value)}"
        )
    return value
