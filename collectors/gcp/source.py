"""The ``gcp`` source: machine types, zonal offerings, on-demand and Spot prices.

Three global lists are read once (machine types and accelerator types, aggregated over every
zone of the project, and Compute Engine's SKUs from the Cloud Billing Catalog); each region is
then built on its own, so a region that comes back empty or holds a value the store refuses is
a :class:`~core.runs.RegionError` and the others carry on. A catalog that does not parse
refuses the run: nothing is written. Credentials come from Application Default Credentials;
missing or refused ones are one line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collectors.base import CollectContext
from collectors.gcp.advice import (
    MAX_ADVICE_CALLS_PER_RUN,
    advice_history,
    advice_targets,
    collect_advice,
    plan_advice,
)
from collectors.gcp.inventory import (
    fetch_accelerator_types,
    fetch_machine_types,
    parse_accelerator_zones,
    parse_machine_types,
    region_of,
    rows_of,
)
from collectors.gcp.pricing import (
    fetch_skus,
    latest_spot_prices,
    parse_skus,
    price_rows,
    spot_changes,
)
from core.clock import utcnow
from core.errors import ConfigError, CredentialsError, SourceDataError, SpotselError
from core.limits import column_limits, shorten, value_problem
from core.runs import CollectionResult, RegionError, TableRows
from core.settings import GCP_PROJECT_RE

if TYPE_CHECKING:
    from google.api_core.retry import Retry

__all__ = [
    "GCP_SOURCE",
    "GcpClients",
    "GcpSource",
    "check_gcp_options",
    "default_retry",
    "gcp_clients",
]

log = logging.getLogger(__name__)

# The OAuth scope the Compute and Billing read APIs accept.
_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# Google's transient answers (quota throttling, server errors; google.api_core.exceptions
# names) are retried with backoff by the client itself. 5 minutes in all rides out a
# throttling burst without hanging a run. (The Google libraries load when a run starts, not
# with the CLI.)
_RETRYABLE = (
    "TooManyRequests",
    "InternalServerError",
    "BadGateway",
    "ServiceUnavailable",
    "GatewayTimeout",
)
RETRY_INITIAL_S = 1.0
RETRY_MAXIMUM_S = 32.0
RETRY_TIMEOUT_S = 300.0
# Messages are cut to this many characters: one line fit for a terminal and a run record.
_MESSAGE_CHARS = 200
# Answers that mean "who you are may not do this": the credential's fault, not the run's.
_AUTH_ERRORS = ("Unauthenticated", "PermissionDenied", "Unauthorized", "Forbidden")


def default_retry(initial: float = RETRY_INITIAL_S) -> Retry:
    """Exponential backoff on 429 and 5xx, as the client's own retry."""
    from google.api_core import exceptions
    from google.api_core.retry import Retry, if_exception_type

    return Retry(
        predicate=if_exception_type(*(getattr(exceptions, name) for name in _RETRYABLE)),
        initial=initial,
        maximum=RETRY_MAXIMUM_S,
        multiplier=2.0,
        timeout=RETRY_TIMEOUT_S,
    )


class EmptyRegionError(SourceDataError):
    """A region held no machine types or no prices: a failure, never a replacement."""


@dataclass(frozen=True)
class GcpClients:
    """The run's clients, its project and the retry every call uses."""

    machine_types: Any
    accelerator_types: Any
    catalog: Any
    project: str
    retry: Retry
    advice: Any = None  # AdviceClient; None = no capacity advice this run


def gcp_clients(
    *,
    project: str | None,
    credentials: Any = None,
    endpoint: str | None = None,
    retry: Retry | None = None,
) -> GcpClients:
    """REST clients; ``credentials=None`` reads Application Default Credentials.

    ``endpoint`` replaces both APIs' host (tests point it at a local fake server).
    """
    from google.api_core.client_options import ClientOptions
    from google.cloud import billing_v1, compute_v1

    if credentials is None:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, adc_project = google.auth.default(scopes=_SCOPES)
        except DefaultCredentialsError as exc:
            raise CredentialsError(
                "no GCP credentials: run `gcloud auth application-default login` or set "
                "GOOGLE_APPLICATION_CREDENTIALS"
            ) from exc
        project = project or adc_project
    if not project:
        raise ConfigError("no GCP project: pass --project or set one in the ADC configuration")
    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    common: dict[str, Any] = {
        "credentials": credentials,
        "transport": "rest",
        "client_options": options,
    }
    return GcpClients(
        machine_types=compute_v1.MachineTypesClient(**common),
        accelerator_types=compute_v1.AcceleratorTypesClient(**common),
        catalog=billing_v1.CloudCatalogClient(**common),
        advice=compute_v1.AdviceClient(**common),
        project=project,
        retry=retry or default_retry(),
    )


def _message(exc: BaseException) -> str:
    """The first line of an error's message, bounded (an HTTP error can quote a whole body)."""
    text = str(getattr(exc, "message", None) or exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 1] + "…"


def _call(what: str, fetch: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run one fetch; Google's errors become one line naming the call."""
    from google.api_core import exceptions
    from google.protobuf.json_format import ParseError  # type: ignore[import-untyped]

    refused = tuple(getattr(exceptions, name) for name in _AUTH_ERRORS)
    try:
        return fetch()
    except ParseError as exc:
        raise SourceDataError(
            f"GCP {what} answered JSON that does not parse: {_message(exc)}"
        ) from exc
    except refused as exc:
        raise CredentialsError(
            f"GCP {what} refused ({type(exc).__name__}): {_message(exc)}; the credentials need "
            "compute.machineTypes.list, compute.acceleratorTypes.list and Cloud Billing API access"
        ) from exc
    except (exceptions.GoogleAPIError, OSError) as exc:
        raise SpotselError(f"GCP {what} failed: {type(exc).__name__}: {_message(exc)}") from exc


@dataclass(frozen=True)
class GcpSource:
    """Real Compute Engine data through Application Default Credentials.

    Options: ``regions`` (default ``settings.gcp_regions``; an empty list means every region
    the project sees), ``project`` (default ``settings.gcp_project``, else the ADC project).
    ``client_factory(project) -> GcpClients`` replaces the production clients.
    """

    name: str = "gcp"
    description: str = (
        "GCP: machine types, zonal offerings, on-demand and Spot prices, capacity advice"
    )
    simulated: bool = False
    option_names: frozenset[str] = frozenset({"regions", "project"})
    client_factory: Callable[[str | None], GcpClients] | None = None
    advice_call_limit: int = MAX_ADVICE_CALLS_PER_RUN

    def collect(self, ctx: CollectContext) -> CollectionResult:
        wanted = _regions(ctx.options, default=ctx.settings.gcp_regions)
        project = _project(ctx.options, default=ctx.settings.gcp_project)
        started = utcnow()
        factory = self.client_factory or (lambda p: gcp_clients(project=p))
        clients = factory(project)
        ctx.progress.stage("gcp machine types, GPUs and prices", 3)
        machine_records = _call(
            "machineTypes.aggregatedList",
            lambda: fetch_machine_types(
                clients.machine_types, project=clients.project, retry=clients.retry
            ),
        )
        ctx.progress.advance()
        accelerator_records = _call(
            "acceleratorTypes.aggregatedList",
            lambda: fetch_accelerator_types(
                clients.accelerator_types, project=clients.project, retry=clients.retry
            ),
        )
        ctx.progress.advance()
        skus = _call(
            "billing catalog skus.list", lambda: fetch_skus(clients.catalog, retry=clients.retry)
        )
        ctx.progress.advance()
        rates = parse_skus(skus)  # a malformed catalog refuses the whole run
        inventory = parse_machine_types(
            machine_records,
            accelerator_zones=parse_accelerator_zones(accelerator_records),
            regions=frozenset(wanted) if wanted else None,
            observed_at=ctx.now,
        )
        seen = sorted({region_of(z) for zones in inventory.zones.values() for z in zones})
        regions = wanted or seen
        latest = latest_spot_prices(ctx.engine, regions=regions)
        log.info(
            "gcp catalog",
            extra={"types": len(inventory.machines), "excluded_skus": len(rates.excluded)},
        )
        rows = TableRows()
        errors: list[RegionError] = []
        spot_types: dict[str, set[str]] = {}  # region → its Spot-priced types (advice asks these)
        ctx.progress.stage("gcp regions", len(regions))
        for region in regions:
            try:
                specs, offerings = rows_of(inventory, region=region, observed_at=ctx.now)
                if not offerings:
                    raise EmptyRegionError(f"{region} has no machine types in this project")
                on_demand, spot, unpriced = price_rows(
                    inventory, rates, region=region, observed_at=ctx.now
                )
                if not on_demand and not spot:
                    raise EmptyRegionError(
                        f"{region}: the billing catalog prices none of its types"
                    )
            except SourceDataError as exc:
                errors.append(RegionError(region, type(exc).__name__, str(exc)))
                log.warning("gcp region failed", extra={"region": region, "error": str(exc)})
                ctx.progress.advance()
                continue
            if unpriced:
                log.info("gcp types without a price", extra={"region": region, "types": unpriced})
            rows.add("instance_types", specs)
            rows.add("offerings", offerings)
            rows.add("on_demand_prices", on_demand)
            rows.add("spot_prices", spot_changes(spot, latest))
            spot_types[region] = {row["instance_type"] for row in spot}
            ctx.progress.advance()
        if clients.advice is not None and spot_types:
            targets = plan_advice(
                advice_targets(inventory, spot_types),
                history=advice_history(ctx.engine, now=ctx.now),
                limit=self.advice_call_limit,
            )
            ctx.progress.stage("gcp capacity advice", 1)
            advice = collect_advice(
                clients.advice,
                project=clients.project,
                retry=clients.retry,
                targets=targets,
                observed_at=ctx.now,
            )
            ctx.progress.advance()
            rows.add("placement_scores", advice.placement)
            rows.add("interruption_rates", advice.interruptions)
            if advice.error is not None:
                errors.append(advice.error)
                log.warning("gcp capacity advice", extra={"error": advice.error.message})
            log.info("gcp capacity advice", extra={"calls": advice.calls, "types": len(targets)})
        return CollectionResult(
            source=self.name,
            started_at=started,
            finished_at=utcnow(),
            regions=tuple(regions),
            rows=rows,
            errors=tuple(errors),
        )


def check_gcp_options(options: dict[str, Any]) -> None:
    """Refuse malformed ``regions`` / ``project`` before a run is recorded (the user's typo)."""
    _regions(options)
    _project(options)


def _regions(options: dict[str, Any], *, default: list[str] | None = None) -> list[str]:
    value = options.get("regions") or default or []
    if isinstance(value, str) or not all(isinstance(r, str) and r.strip() for r in value):
        raise ConfigError(
            "regions must be a list of GCP region names, e.g. us-central1,europe-west4"
        )
    regions = list(dict.fromkeys(r.strip() for r in value))
    limit = column_limits("offerings")["region"]
    for region in regions:
        problem = value_problem(limit, region)
        if problem is not None:
            raise ConfigError(f"region {problem}")
    return regions


def _project(options: dict[str, Any], *, default: str | None = None) -> str | None:
    project = options.get("project") or default
    if project is None:
        return None
    if not isinstance(project, str) or not GCP_PROJECT_RE.match(project):
        raise ConfigError(
            f"--project must be a GCP project ID (6-30 lowercase letters, digits, hyphens), "
            f"got {shorten(project)}"
        )
    return project


GCP_SOURCE = GcpSource()
