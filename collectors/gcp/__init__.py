"""GCP source ``gcp``: Compute Engine machine types, zonal offerings, on-demand and Spot prices.

``inventory`` (machine and accelerator types → specs and offerings) and ``pricing`` (Billing
Catalog SKUs → unit rates → machine prices) keep fetch apart from a pure parse; ``source``
orchestrates them with REST clients built per run (Application Default Credentials).
"""

from __future__ import annotations

from collectors.gcp.source import (
    GCP_SOURCE,
    GcpClients,
    GcpSource,
    check_gcp_options,
    gcp_clients,
)

__all__ = ["GCP_SOURCE", "GcpClients", "GcpSource", "check_gcp_options", "gcp_clients"]
