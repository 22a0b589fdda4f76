"""`spotsel collect SOURCE`: one collection run now, with progress on stderr.

A typo (unknown source, an option the source does not take, a future ``--as-of``, a missing
``file://`` feed, a ``file://`` feed copy without ``--as-of``) is the user's and is refused
before a run is recorded; a source that fails is a recorded failed run and exit code 1.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from collectors import SOURCE_NAMES
from core.clock import as_utc, utcnow
from core.errors import ConfigError
from spotsel.consoles import err, out
from spotsel.state import AppState, app_state

if TYPE_CHECKING:
    from core.tables import CollectionRun

__all__ = ["collect", "parse_as_of", "run_collection"]


def parse_as_of(value: str | None) -> datetime | None:
    """``--as-of``: an ISO 8601 timestamp, not in the future."""
    if value is None:
        return None
    try:
        as_of = as_utc(datetime.fromisoformat(value))
    except ValueError:
        from core.limits import shorten

        raise ConfigError(f"--as-of must be an ISO 8601 timestamp, got {shorten(value)}") from None
    now = utcnow()
    if as_of > now:
        # A market "as of" tomorrow would be stored as observed data nobody has seen yet.
        raise ConfigError(
            f"--as-of {as_of.isoformat()} is in the future (now {now:%Y-%m-%dT%H:%M:%S}+00:00)"
        )
    return as_of


def run_collection(state: AppState, source_name: str, options: dict[str, Any]) -> CollectionRun:
    """Check the options against the source, run it with a progress bar, print one summary line."""
    from collectors import CollectContext, get_source
    from collectors.aws import FEED_DOCUMENTS, check_source_url
    from collectors.aws.events_source import AWS_EVENTS_SOURCE, check_events_options
    from collectors.azure import AZURE_SOURCE, check_azure_options
    from collectors.gcp import GCP_SOURCE, check_gcp_options
    from collectors.runner import run_source
    from core.db import require_schema
    from spotsel.progress import RichProgress

    source = get_source(source_name)
    unknown = {k for k, v in options.items() if v is not None} - source.option_names
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in sorted(unknown))
        raise ConfigError(f"{flags} does not apply to source {source.name!r}")
    if options.get("source_url") is not None:
        # A typo (missing file, ftp://, an undated copy) is the user's, not a failed run.
        check_source_url(
            str(options["source_url"]),
            as_of=options.get("as_of"),
            what=FEED_DOCUMENTS.get(source.name, "feed"),
        )
    if source.name == AWS_EVENTS_SOURCE.name:
        # No queue, or a malformed queue URL, is the user's, not a failed run.
        check_events_options(state.get_settings(), options)
    if source.name == GCP_SOURCE.name:
        # A malformed project ID or region list is the user's, not a failed run.
        check_gcp_options(options)
    if source.name == AZURE_SOURCE.name:
        # A malformed subscription ID or region name is the user's, not a failed run.
        check_azure_options(options)
    engine = state.engine()
    require_schema(engine)
    ctx = CollectContext(
        settings=state.get_settings(),
        now=utcnow(),
        options={k: v for k, v in options.items() if v is not None},
    )
    started = time.perf_counter()
    with RichProgress(err) as progress:
        run = run_source(engine, source, ctx.with_progress(progress))
    elapsed = time.perf_counter() - started
    label = " (simulated)" if source.simulated else ""
    out.print(
        f"{source.name}{label}: {run.status} — {run.rows_written:,} rows written, "
        f"{run.rows_new:,} new, in {elapsed:.1f} s"
    )
    if run.error_message:
        err.print(f"  {run.error_message}")
    return run


def collect(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help=f"Source to run: {', '.join(sorted(SOURCE_NAMES))}.")
    ],
    seed: Annotated[int | None, typer.Option(help="sim: random seed.")] = None,
    scale: Annotated[
        int | None,
        typer.Option(
            min=1, max=1000, help="sim: replicas of the real geography (~3,200 pools each)."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="ISO 8601 time, not in the future. sim: market time (default: this hour). "
            "aws-advisor, aws-public: the document's date (required for file://; overrides the "
            "feed's Last-Modified)."
        ),
    ] = None,
    regions: Annotated[
        str | None, typer.Option(help="Cloud sources: comma list of regions (default: settings).")
    ] = None,
    source_url: Annotated[
        str | None,
        typer.Option(help="Feed sources: URL to read instead of the public one (file:// works)."),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(help="gcp: the project whose machine types to list (default: the ADC one)."),
    ] = None,
    subscription: Annotated[
        str | None,
        typer.Option(
            help="azure: the subscription ID whose VM sizes to list (default: "
            "SPOTSEL_AZURE_SUBSCRIPTION, else AZURE_SUBSCRIPTION_ID)."
        ),
    ] = None,
    queue_url: Annotated[
        str | None,
        typer.Option(
            help="aws-events: the SQS queue URL to drain (default: SPOTSEL_AWS_EVENTS_QUEUE_URL)."
        ),
    ] = None,
    dead_letter_url: Annotated[
        str | None,
        typer.Option(
            help="aws-events: SQS queue URL poison messages are moved to, with their reason "
            "(default: SPOTSEL_AWS_EVENTS_DEAD_LETTER_URL; none: kept in the store)."
        ),
    ] = None,
) -> None:
    """Run one collection now and store what it returns."""
    options = {
        "seed": seed,
        "scale": scale,
        "as_of": parse_as_of(as_of),
        "regions": _csv(regions),
        "source_url": source_url,
        "project": project,
        "subscription": subscription,
        "queue_url": queue_url,
        "dead_letter_url": dead_letter_url,
    }
    run = run_collection(app_state(ctx), source, options)
    if run.status == "failed":
        raise typer.Exit(1)


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]
