"""The ``aws-public`` source: AWS's public regional spot price feed, no credentials.

Fetching, dating and the ``file://`` rules are the advisor's (``advisor_source``): a saved copy
needs ``--as-of``, HTTP is dated by ``Last-Modified``, a conditional GET uses the ETag kept in
``settings.data_dir`` (``aws-public-http.json``) while the store still holds that document's
prices. A run writes regional offerings and regional spot prices (``zone_id`` =
``REGIONAL_ZONE``), keyed by the document's date, so loading the same document twice writes
nothing new; and, where the Spot Advisor is loaded too, derived on-demand prices
(``public_derive``). Specs come from the advisor run (the feed has none): until it has run,
the offerings are stored but not rankable.

A region name the feed uses that is neither a known legacy name nor a real one is skipped and
reported as a failed region of the run (status ``partial``), never guessed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.aws.advisor_source import check_source_url, fetch_advisor, load_etag, save_etag
from collectors.aws.clients import http_client
from collectors.aws.public import SOURCE, offering_for, parse_spot_feed
from collectors.aws.public_derive import (
    derive_on_demand,
    newest,
    real_on_demand_keys,
    stored_public_prices,
    stored_savings,
)
from collectors.base import CollectContext
from core.clock import as_utc, utcnow
from core.runs import CollectionResult, RegionError, TableRows
from core.tables import SpotPrice

__all__ = ["AWS_PUBLIC_SOURCE", "DOCUMENT", "STATE_FILE", "AwsPublicSource"]

log = logging.getLogger(__name__)

# What errors call the document.
DOCUMENT: Final = "spot price feed"
STATE_FILE: Final = "aws-public-http.json"
UNKNOWN_REGION: Final = "UnknownRegion"


def _stored_prices(engine: Engine | None, observed_at: datetime) -> list[dict[str, Any]]:
    """The stored regional prices of the document observed at ``observed_at``."""
    if engine is None:
        return []
    columns = ("cloud", "region", "zone_id", "instance_type", "ts", "price_usd_per_hour",
               "source", "observed_at")  # fmt: skip
    stmt = select(*(getattr(SpotPrice, c) for c in columns)).where(
        SpotPrice.source == SOURCE, SpotPrice.ts == observed_at
    )
    with Session(engine) as session:
        return [dict(zip(columns, row, strict=True)) for row in session.execute(stmt)]


@dataclass(frozen=True)
class AwsPublicSource:
    """AWS public regional spot prices (spot.js): offerings and prices per region.

    Options: ``source_url`` (http(s):// or file://; default ``settings.aws_public_url``) and
    ``as_of`` (the document's date: required for file://, overrides ``Last-Modified``).
    """

    name: str = SOURCE
    description: str = "AWS public spot price feed: regional spot prices (public)"
    simulated: bool = False
    option_names: frozenset[str] = frozenset({"source_url", "as_of"})

    def collect(self, ctx: CollectContext) -> CollectionResult:
        url = str(ctx.options.get("source_url") or ctx.settings.aws_public_url)
        as_of: datetime | None = ctx.options.get("as_of")
        check_source_url(url, as_of=as_of, what=DOCUMENT)
        started = utcnow()
        state = load_etag(ctx.settings, url, state_file=STATE_FILE)
        stored = _stored_prices(ctx.engine, state[1]) if state and as_of is None else []
        ctx.progress.stage(f"fetching {url}", None)
        with http_client(ctx) as client:
            etag = state[0] if stored and state else None
            doc = fetch_advisor(client, url, etag=etag, what=DOCUMENT)
        errors: tuple[RegionError, ...] = ()
        if doc.body is None:
            log.info("spot price feed not modified", extra={"url": url, "rows": len(stored)})
            prices, offerings = stored, [offering_for(p) for p in stored]
            regions = tuple(sorted({p["region"] for p in stored}))
        else:
            observed_at = as_utc(as_of) if as_of is not None else doc.observed_at
            if observed_at is None:
                log.warning("spot feed has no Last-Modified; using now", extra={"url": url})
                observed_at = ctx.now
            feed = parse_spot_feed(doc.body, observed_at=observed_at)
            prices, offerings = feed.prices, feed.offerings
            regions = (*feed.regions, *feed.unknown_regions)
            errors = tuple(
                RegionError(name, UNKNOWN_REGION, "not a region name the feed is known to use; "
                            "its prices were skipped")
                for name in feed.unknown_regions
            )  # fmt: skip
            if doc.etag:
                save_etag(ctx.settings, url, doc.etag, observed_at, state_file=STATE_FILE)
        table = TableRows()
        table.add("offerings", offerings)
        table.add("spot_prices", prices)
        mine = {
            (p["region"], p["instance_type"]): (p["price_usd_per_hour"], p["ts"]) for p in prices
        }
        table.add(
            "on_demand_prices",
            derive_on_demand(
                stored_savings(ctx.engine),
                newest(stored_public_prices(ctx.engine), mine),
                real=real_on_demand_keys(ctx.engine),
            ),
        )
        return CollectionResult(
            source=self.name,
            started_at=started,
            finished_at=utcnow(),
            regions=regions,
            rows=table,
            errors=errors,
        )


AWS_PUBLIC_SOURCE = AwsPublicSource()
