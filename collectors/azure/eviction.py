"""Azure Spot eviction-rate buckets from Resource Graph (the ``SpotResources`` table).

Azure publishes, per (VM size, region), the share of Spot VMs evicted as a bucket string
(``0-5`` … ``20+``, percent). Microsoft documents it as a per-hour chance measured over the last
28 days (see ``AZURE_EXPOSURE_HOURS`` in selector/hazard.py for the citation and conversion).
It is the current value only: each run stores what it read, one regional
``interruption_rates`` row per (region, size) with source :data:`SOURCE`, the bucket string as
the label and its position in ``AZURE_EVICTION_BUCKETS`` as the bucket index.

Failures are sorted by whose fault they are: a refused or missing credential is the user's
(:class:`~core.errors.CredentialsError`, one line naming the role), a malformed answer is the
source's and refuses the eviction part (:class:`~core.errors.SourceDataError`, nothing
returned), and throttling / network / server trouble left over after the SDK's retry policy is
the run's: :class:`EvictionResult` carries it as a run error on region ``"*"`` (the query spans
every region), so prices and sizes collected beside it stand and the run is partial.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from collectors.parsing import refuses_malformed
from core.errors import ConfigError, CredentialsError, SourceDataError
from core.limits import check_rows, shorten
from core.runs import RegionError
from core.tables import REGIONAL_ZONE
from selector.hazard import AZURE_EVICTION_BUCKETS

__all__ = [
    "MAX_PAGES",
    "PAGE_ROWS",
    "SOURCE",
    "EvictionResult",
    "collect_eviction",
    "eviction_query",
    "parse_eviction_rows",
]

# The interruption kind selector/hazard.py converts as an Azure eviction bucket.
SOURCE: Final = "azure-eviction"
# Resource Graph's largest page ($top may be at most 1,000 rows).
PAGE_ROWS: Final = 1000
# Pages a run follows before it calls the paging broken: every Spot-capable size in every
# public region is well under 100,000 rows (about 60 regions × 1,000 sizes at most).
MAX_PAGES: Final = 100
# The query shape Microsoft documents ("Spot eviction rates sample query",
# learn.microsoft.com/azure/virtual-machines/spot-vms#azure-resource-graph), with the regions
# filled in. Regions are lower-case ARM names (letters and digits): one that is not is refused
# before it reaches the query, so no quoting is needed.
_QUERY: Final = (
    "SpotResources "
    "| where type =~ 'microsoft.compute/skuspotevictionrate/location' "
    "| where location in~ ({regions}) "
    "| project skuName = tostring(sku.name), location, "
    "evictionRate = tostring(properties.evictionRate)"
)
# The bucket index stored beside the label: its place in the table, lowest first.
_BUCKET_INDEX: Final = {label: i for i, label in enumerate(AZURE_EVICTION_BUCKETS)}
# Statuses that mean "these credentials may not read Resource Graph".
_REFUSED: Final = (401, 403)
_ROLE_HINT: Final = "the identity needs the Reader role on the subscription(s) it queries"


@dataclass(frozen=True)
class EvictionResult:
    """Rows for ``interruption_rates``, the run error if the query could not finish, and how
    many Resource Graph queries (pages) it took."""

    rows: list[dict[str, Any]]
    error: RegionError | None
    queries: int


def eviction_query(regions: Sequence[str]) -> str:
    """The KQL for ``regions`` (lower-case ARM region names such as ``eastus``)."""
    names = sorted({r.strip().lower() for r in regions})
    for name in names:
        if not name or not name.isascii() or not name.isalnum():
            raise ConfigError(f"not an Azure region name: {shorten(name)}")
    return _QUERY.format(regions=", ".join(f"'{n}'" for n in names))


@refuses_malformed("Resource Graph eviction-rate answer")
def parse_eviction_rows(
    data: Any,
    *,
    regions: Collection[str],
    observed_at: datetime,
    sizes: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One page's object-array rows → ``interruption_rates`` rows.

    An unknown bucket or a missing field is malformed (the whole answer is refused); a row
    for a region not asked about is left out. ``sizes`` maps lower-case size names to the
    catalogue's spelling, so a differently cased answer still joins its pool.
    """
    if not isinstance(data, list):
        raise TypeError(f"data is {type(data).__name__}, not an object array")
    wanted = {r.lower() for r in regions}
    rows = []
    for record in data:
        size = str(record["skuName"]).strip()
        region = str(record["location"]).strip().lower()
        label = str(record["evictionRate"]).strip()
        if not size or not region:
            raise ValueError("a row without skuName or location")
        if label not in _BUCKET_INDEX:
            # The message is cut short when shown: the bucket first, then where.
            raise ValueError(f"unknown eviction rate {label[:20]} ({size} in {region})")
        if region not in wanted:
            continue
        rows.append(
            {
                "cloud": "azure",
                "region": region,
                "zone_id": REGIONAL_ZONE,  # Azure rates a size across the region
                "instance_type": (sizes or {}).get(size.lower(), size),
                "source": SOURCE,
                "observed_at": observed_at,
                "bucket": _BUCKET_INDEX[label],
                "label": label,
                "rate": None,
                "savings_pct": None,
            }
        )
    check_rows("interruption_rates", rows, where="Resource Graph eviction rates")
    return rows


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return shorten(text.splitlines()[0]) if text else type(exc).__name__


def _dedupe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (region, size); the same pair twice with different buckets is malformed."""
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["region"], row["instance_type"])
        held = kept.setdefault(key, row)
        if held["label"] != row["label"]:
            raise SourceDataError(
                f"malformed Resource Graph eviction-rate answer: {shorten(key[1])} in "
                f"{key[0]} is both {held['label']} and {row['label']}"
            )
    return list(kept.values())


def collect_eviction(
    client: Any,
    *,
    regions: Sequence[str],
    observed_at: datetime,
    subscriptions: Sequence[str] = (),
    sizes: Collection[str] = (),
) -> EvictionResult:
    """Query the eviction buckets of ``regions`` and follow ``$skipToken`` to the last page.

    ``client`` is an ``azure.mgmt.resourcegraph.ResourceGraphClient`` (its retry policy
    handles 429 and 5xx). ``subscriptions`` scopes the query (empty: every subscription the
    identity can read); ``sizes`` is the size catalogue, used only for the names' spelling.
    Raises :class:`CredentialsError` or :class:`SourceDataError` as the module says, and
    :class:`~core.errors.ConfigError` for a region that is not an ARM region name.
    """
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    if not regions:
        return EvictionResult([], None, 0)
    query = eviction_query(regions)
    spelling = {s.lower(): s for s in sizes}
    rows: list[dict[str, Any]] = []
    token: str | None = None
    seen_tokens: set[str] = set()
    queries = 0
    try:
        while True:
            if queries >= MAX_PAGES:
                raise SourceDataError(
                    f"Resource Graph eviction rates: paging did not end after {MAX_PAGES} pages"
                )
            options = QueryRequestOptions(
                skip_token=token, top=PAGE_ROWS, result_format="objectArray"
            )
            request = QueryRequest(
                query=query, subscriptions=list(subscriptions) or None, options=options
            )
            queries += 1
            answer = client.resources(request)
            rows.extend(
                parse_eviction_rows(
                    answer.data, regions=regions, observed_at=observed_at, sizes=spelling
                )
            )
            token = answer.skip_token
            if not token:
                break
            if token in seen_tokens:
                raise SourceDataError("Resource Graph eviction rates: a $skipToken came back")
            seen_tokens.add(token)
    except ClientAuthenticationError as exc:  # 401, or no credential could be found
        raise CredentialsError(
            f"Azure refused the credentials for Resource Graph ({_one_line(exc)}); {_ROLE_HINT}"
        ) from exc
    except HttpResponseError as exc:
        if _status(exc) in _REFUSED:
            raise CredentialsError(
                f"Azure Resource Graph refused the query (HTTP {_status(exc)}: "
                f"{_one_line(exc)}); {_ROLE_HINT}"
            ) from exc
        return EvictionResult([], _run_error(exc), queries)
    except AzureError as exc:  # connection, timeout, read errors after the retries
        return EvictionResult([], _run_error(exc), queries)
    return EvictionResult(_dedupe(rows), None, queries)


def _run_error(exc: BaseException) -> RegionError:
    status = _status(exc)
    why = f"HTTP {status}: " if status else ""
    return RegionError(
        "*",
        type(exc).__name__,
        f"Azure eviction rates unavailable ({why}{_one_line(exc)}); prices and sizes kept",
    )
