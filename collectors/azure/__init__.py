"""Azure source ``azure``: VM sizes and zonal offerings, on-demand and Spot prices.

``skus`` (Resource SKUs → specs, offerings and restrictions) and ``retail`` (the public Retail
Prices API → Linux on-demand and Spot prices) keep fetch apart from a pure parse; ``source``
orchestrates them per region with clients built per run (``DefaultAzureCredential``).
"""

from __future__ import annotations

from collectors.azure.source import (
    AZURE_SOURCE,
    AzureClients,
    AzureSource,
    azure_clients,
    check_azure_options,
)

__all__ = ["AZURE_SOURCE", "AzureClients", "AzureSource", "azure_clients", "check_azure_options"]
