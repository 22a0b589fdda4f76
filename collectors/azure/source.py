"""The ``azure`` source: VM sizes and zonal offerings, on-demand and Spot prices.

Per region: the Resource SKUs list (``azure-mgmt-compute``, filtered by location) gives the
sizes and where each is offered; the public Retail Prices API gives their Linux on-demand and
Spot prices. A region whose list fails, comes back empty, or prices none of its sizes is a
:class:`~core.runs.RegionError` and the others carry on; a Retail Prices payload that does not
parse refuses the run (nothing is written). Credentials come from ``DefaultAzureCredential``
(environment, workload identity, managed identity, ``az login``); missing or refused ones are
one line naming what to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from collectors.azure.eviction import collect_eviction
from collectors.azure.options import check_azure_options, regions_option, subscription_option
from collectors.azure.placement import (
    MAX_PLACEMENT_CALLS_PER_RUN,
    collect_placement,
    placement_budget,
    placement_calls_spent,
    placement_history,
    placement_targets,
    plan_placement,
)
from collectors.azure.retail import (
    HTTP_TIMEOUT_S,
    RetailFetchError,
    RetailPrices,
    fetch_prices,
    latest_spot_prices,
    on_demand_rows,
    parse_items,
    spot_rows,
)
from collectors.azure.skus import Sizes, fetch_skus, parse_skus
from collectors.base import CollectContext
from core.clock import utcnow
from core.errors import CredentialsError, SourceDataError
from core.runs import CollectionResult, RegionError, TableRows

__all__ = [
    "ARM_SCOPE",
    "AZURE_SOURCE",
    "AzureClients",
    "AzureSource",
    "azure_clients",
    "check_azure_options",
]

log = logging.getLogger(__name__)

# The token scope every Resource Manager API accepts.
ARM_SCOPE = "https://management.azure.com/.default"
# The SDK's own retry policy (azure-core RetryPolicy, which honours Retry-After) for 429 and
# 5xx: 6 retries with exponential backoff from 1 s capped at 60 s ride out an ARM throttling
# window (ARM refills its read budget per minute) without hanging a run for long.
RETRY_TOTAL = 6
RETRY_BACKOFF_FACTOR = 1.0
RETRY_BACKOFF_MAX_S = 60
# Messages are cut to this many characters: one line fit for a terminal and a run record.
_MESSAGE_CHARS = 200
# Answers that mean "who you are may not do this": the identity's fault, not the region's.
_AUTH_STATUSES = frozenset({401, 403})


class EmptyRegionError(SourceDataError):
    """A region held no VM sizes or no prices: a failure, never a replacement."""


@dataclass(frozen=True)
class AzureClients:
    """The run's clients and subscription. ``None`` clients skip their signal this run."""

    compute: Any  # azure.mgmt.compute.ComputeManagementClient
    retail: httpx.Client
    subscription: str
    resource_graph: Any = None  # azure.mgmt.resourcegraph.ResourceGraphClient
    recommender: Any = None  # azure.mgmt.computerecommender.RecommenderMgmtClient
    credential: Any = None  # checked once before any call; None = not checked

    def close(self) -> None:
        """Close the HTTP client and every SDK client's transport (a run's sockets end with it)."""
        self.retail.close()
        for client in (self.compute, self.resource_graph, self.recommender):
            close = getattr(client, "close", None)
            if callable(close):
                close()


def azure_clients(
    *,
    subscription: str,
    credential: Any = None,
    retail: httpx.Client | None = None,
    **client_options: Any,
) -> AzureClients:
    """Resource Manager clients (``credential=None``: ``DefaultAzureCredential``) and a Retail
    Prices HTTP client; ``client_options`` go to every ARM client (tests pass ``base_url``,
    an ``authentication_policy`` and ``retry_total``)."""
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.computerecommender import RecommenderMgmtClient
    from azure.mgmt.resourcegraph import ResourceGraphClient

    if credential is None:
        from azure.identity import DefaultAzureCredential

        try:
            credential = DefaultAzureCredential()
        except ValueError as exc:  # e.g. AZURE_CLIENT_ID set but empty
            raise CredentialsError(
                f"Azure credential settings are unusable ({_message(exc)}): set "
                "AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET to real values or unset them"
            ) from exc
    options: dict[str, Any] = {
        "retry_total": RETRY_TOTAL,
        "retry_backoff_factor": RETRY_BACKOFF_FACTOR,
        "retry_backoff_max": RETRY_BACKOFF_MAX_S,
        **client_options,
    }
    return AzureClients(
        compute=ComputeManagementClient(credential, subscription, **options),
        resource_graph=ResourceGraphClient(credential, **options),
        recommender=RecommenderMgmtClient(credential, subscription, **options),
        retail=retail or httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=True),
        subscription=subscription,
        credential=credential,
    )


def _message(exc: BaseException) -> str:
    """The first line of an error's message, bounded (an HTTP error can quote a whole body)."""
    text = str(getattr(exc, "message", None) or exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 1] + "…"


def _credentials_error(subscription: str, exc: BaseException) -> CredentialsError:
    return CredentialsError(
        f"Azure refused the credentials ({type(exc).__name__}: {_message(exc)}): run `az login` "
        "or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET; the identity needs Reader "
        f"on subscription {subscription}"
    )


def _check_credential(clients: AzureClients) -> None:
    """Ask for one token before any call: a missing identity is one line, not one per region."""
    from azure.core.exceptions import ClientAuthenticationError

    if clients.credential is None:
        return
    try:
        clients.credential.get_token(ARM_SCOPE)
    except ClientAuthenticationError as exc:  # CredentialUnavailableError is one
        raise _credentials_error(clients.subscription, exc) from exc


def _sizes(clients: AzureClients, region: str, observed_at: Any) -> Sizes:
    """One region's VM sizes; refused credentials stop the run, other failures the region."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

    try:
        records = fetch_skus(clients.compute, region=region)
    except ClientAuthenticationError as exc:
        raise _credentials_error(clients.subscription, exc) from exc
    except HttpResponseError as exc:
        if exc.status_code in _AUTH_STATUSES:
            raise _credentials_error(clients.subscription, exc) from exc
        raise SourceDataError(f"resource SKUs failed: {_message(exc)}") from exc
    except (AzureError, OSError) as exc:
        raise SourceDataError(
            f"resource SKUs failed: {type(exc).__name__}: {_message(exc)}"
        ) from exc
    return parse_skus(records, region=region, observed_at=observed_at)


@dataclass(frozen=True)
class AzureSource:
    """Real Azure data through ``DefaultAzureCredential`` and the public Retail Prices API.

    Options: ``regions`` (default ``settings.azure_regions``), ``subscription`` (default
    ``settings.azure_subscription``, else ``AZURE_SUBSCRIPTION_ID``).
    ``client_factory(subscription) -> AzureClients`` replaces the production clients.
    """

    name: str = "azure"
    description: str = (
        "Azure: VM sizes, zonal offerings, on-demand and Spot prices, eviction rates, "
        "Spot placement scores"
    )
    simulated: bool = False
    option_names: frozenset[str] = frozenset({"regions", "subscription"})
    client_factory: Callable[[str], AzureClients] | None = None
    # Waits between Retail Prices retries (tests make them instant).
    sleep: Callable[[float], None] | None = None
    placement_call_limit: int = MAX_PLACEMENT_CALLS_PER_RUN

    def collect(self, ctx: CollectContext) -> CollectionResult:
        regions = regions_option(ctx.options, default=ctx.settings.azure_regions)
        subscription = subscription_option(ctx.options, default=ctx.settings.azure_subscription)
        started = utcnow()
        clients = (self.client_factory or _production_clients(ctx))(subscription)
        try:
            _check_credential(clients)
            return self._collect(clients, regions, started, ctx)
        finally:
            clients.close()

    def _collect(
        self, clients: AzureClients, regions: list[str], started: datetime, ctx: CollectContext
    ) -> CollectionResult:
        errors: dict[str, RegionError] = {}
        ctx.progress.stage("azure retail prices", len(regions))
        items: list[Any] = []
        for region in regions:
            try:
                items.extend(
                    fetch_prices(
                        clients.retail,
                        ctx.settings.azure_retail_url,
                        region=region,
                        sleep=self.sleep or time.sleep,
                    )
                )
            except RetailFetchError as exc:
                errors[region] = RegionError(region, type(exc).__name__, str(exc))
                log.warning("azure retail prices failed", extra={"region": region})
            ctx.progress.advance()
        prices = parse_items(items)  # a malformed payload refuses the whole run
        log.info("azure retail prices", extra={"items": len(items), "excluded": prices.excluded})
        latest = latest_spot_prices(ctx.engine, regions=regions)
        rows = TableRows()
        specs: dict[str, dict[str, Any]] = {}
        spot_sizes: dict[str, set[str]] = {}  # region → its Spot-priced sizes
        ctx.progress.stage("azure VM sizes", len(regions))
        for region in regions:
            if region in errors:
                ctx.progress.advance()
                continue
            try:
                sizes = _sizes(clients, region, ctx.now)
                region_rows = _region_rows(sizes, prices, region, latest, ctx)
            except SourceDataError as exc:
                errors[region] = RegionError(region, type(exc).__name__, str(exc))
                log.warning("azure region failed", extra={"region": region, "error": str(exc)})
                ctx.progress.advance()
                continue
            for spec in sizes.specs:
                specs.setdefault(spec["name"], spec)
            for table, table_rows in region_rows.items():
                rows.add(table, table_rows)
            spot_sizes[region] = {r["instance_type"] for r in region_rows["spot_prices"]}
            ctx.progress.advance()
        rows.add("instance_types", specs.values())
        extra = self._signals(clients, spot_sizes, set(specs), rows, ctx)
        if extra is not None:
            errors[extra.region] = extra
        return CollectionResult(
            source=self.name,
            started_at=started,
            finished_at=utcnow(),
            regions=tuple(regions),
            rows=rows,
            errors=tuple(errors.values()),
        )

    def _signals(
        self,
        clients: AzureClients,
        spot_sizes: dict[str, set[str]],
        catalogue: set[str],
        rows: TableRows,
        ctx: CollectContext,
    ) -> RegionError | None:
        """Eviction buckets and placement scores of the regions collected, into ``rows``.

        Both are extra signals: their failures are one run error on ``"*"`` (the run is partial
        and the regions' prices and sizes stand), except refused or missing credentials and a
        malformed answer, which stop the run as they do for the sizes.
        """
        errors: list[RegionError] = []
        if not spot_sizes:
            return None
        if clients.resource_graph is not None:
            ctx.progress.stage("azure eviction rates", 1)
            eviction = collect_eviction(
                clients.resource_graph,
                regions=sorted(spot_sizes),
                observed_at=ctx.now,
                subscriptions=[clients.subscription],
                sizes=catalogue,
            )
            rows.add("interruption_rates", eviction.rows)
            if eviction.error is not None:
                errors.append(eviction.error)
            ctx.progress.advance()
            log.info("azure eviction rates", extra={"rows": len(eviction.rows)})
        if clients.recommender is not None:
            spent = placement_calls_spent(ctx.engine, now=ctx.now)
            batches = plan_placement(
                placement_targets(spot_sizes),
                history=placement_history(ctx.engine, now=ctx.now),
                limit=placement_budget(spent, per_run=self.placement_call_limit),
                now=ctx.now,
            )
            ctx.progress.stage("azure spot placement scores", 1)
            placement = collect_placement(
                clients.recommender,
                subscription=clients.subscription,
                batches=batches,
                observed_at=ctx.now,
            )
            rows.add("placement_scores", placement.rows)
            if placement.error is not None:
                errors.append(placement.error)
            ctx.progress.advance()
            log.info(
                "azure spot placement scores",
                extra={"calls": placement.calls, "quota_short": placement.quota_short},
            )
        if len(errors) <= 1:
            return errors[0] if errors else None
        # One record per region name: both signals' reasons in one line.
        return RegionError(
            errors[0].region,
            "+".join(e.error_class for e in errors),
            "; ".join(e.message for e in errors),
        )


def _region_rows(
    sizes: Sizes,
    prices: RetailPrices,
    region: str,
    latest: dict[tuple[str, str, str], Any],
    ctx: CollectContext,
) -> dict[str, list[dict[str, Any]]]:
    if not sizes.offerings:
        raise EmptyRegionError("lists no VM sizes for this subscription")
    offered = {o["instance_type"] for o in sizes.offerings}
    zones: dict[str, list[str]] = {}
    for o in sizes.offerings:
        if o["spot"]:
            zones.setdefault(o["instance_type"], []).append(o["zone_id"])
    on_demand = on_demand_rows(prices, region=region, sizes=offered, observed_at=ctx.now)
    spot = spot_rows(prices, region=region, zones=zones, latest=latest, observed_at=ctx.now)
    if not on_demand and not spot:
        raise EmptyRegionError("the Retail Prices API prices none of its sizes")
    if sizes.restricted:
        log.info("azure sizes restricted", extra={"region": region, "sizes": sizes.restricted})
    return {"offerings": sizes.offerings, "on_demand_prices": on_demand, "spot_prices": spot}


def _production_clients(ctx: CollectContext) -> Callable[[str], AzureClients]:
    def build(subscription: str) -> AzureClients:
        retail = ctx.http_client_factory() if ctx.http_client_factory else None
        return azure_clients(subscription=subscription, retail=retail)

    return build


AZURE_SOURCE = AzureSource()
