"""The ``aws-advisor`` source: fetch the public Spot Advisor JSON, conditionally, and load it.

A run writes the interruption buckets and savings, the specs (vCPUs, RAM, accelerators) of
types the store has no specs of, and, where the public spot price feed (``aws-public``) is
loaded too, on-demand prices derived from savings and spot price (``public_derive``).

- No credentials: a plain HTTPS GET through an injectable ``httpx.Client``.
- ``file://`` URLs read a saved copy (air-gapped installs, backtests). :func:`check_source_url`
  refuses an unsupported scheme, a missing file or an undated copy; the CLI calls it before a
  run is recorded.
- Dating: the document holds no date of its own, so ``observed_at`` of every row is the
  transport's ``Last-Modified`` (HTTP), or the ``as_of`` option (``--as-of``), which overrides
  it. A ``file://`` copy needs ``as_of``: a file's modification time says when it was copied,
  not when AWS published it. Rows are keyed by ``observed_at``, so loading the same document
  twice writes no new rows, and loading an older document after a newer one adds older rows
  without touching the newer ones (the newest signal per pool stays in force).
- Conditional GET: the last ETag is kept in a small JSON file in ``settings.data_dir``
  (``aws-advisor-http.json``, per URL) next to the ``observed_at`` it produced. It is only sent
  when the store still holds rows of that document, so a fresh or restored database can never
  be starved by a stale ETag. A ``304 Not Modified`` re-confirms the stored rows of that
  document: the run succeeds and writes nothing new.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from collectors.aws.advisor import SOURCE, load_document, parse_advisor
from collectors.aws.clients import http_client
from collectors.aws.public_derive import (
    derive_on_demand,
    newest,
    real_on_demand_keys,
    stored_public_prices,
    stored_savings,
)
from collectors.aws.public_specs import SpecRows, known_types, spec_rows
from collectors.base import CollectContext
from core.clock import as_utc, utcnow
from core.errors import ConfigError, SpotselError
from core.limits import shorten
from core.runs import CollectionResult, TableRows
from core.settings import Settings
from core.tables import InterruptionRate

__all__ = [
    "AWS_ADVISOR_SOURCE",
    "STATE_FILE",
    "AdvisorDocument",
    "AwsAdvisorSource",
    "check_source_url",
    "fetch_advisor",
    "load_etag",
    "save_etag",
]

log = logging.getLogger(__name__)

# Where the last ETag per URL is kept (inside settings.data_dir).
STATE_FILE = "aws-advisor-http.json"
_ROW_COLUMNS = (
    "cloud", "region", "zone_id", "instance_type", "source", "observed_at",
    "bucket", "label", "rate", "savings_pct",
)  # fmt: skip


@dataclass(frozen=True)
class AdvisorDocument:
    """One fetch: the body (None = not modified), its validator and its date."""

    body: bytes | None
    etag: str | None
    observed_at: datetime | None


# What the advisor can be read from: the public feed, a mirror, or a saved copy.
URL_SCHEMES = ("https", "http", "file")


def _file_path(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


def check_source_url(url: str, *, as_of: datetime | None = None, what: str = "advisor") -> None:
    """Refuse, with one line, a URL that cannot work: unsupported scheme, no host, no file,
    or a ``file://`` copy without ``as_of`` (it carries no date of its own). ``what`` names
    the document in the message ("advisor", "spot price feed")."""
    _check_location(url, what)
    if urlparse(url).scheme == "file" and as_of is None:
        raise ConfigError(
            f"{what} file {_file_path(url)} carries no date of its own: give --as-of with the "
            "time AWS published it (e.g. --as-of 2025-06-28)"
        )


def _check_location(url: str, what: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in URL_SCHEMES:
        raise ConfigError(f"{what} URL must be https://, http:// or file://, got {shorten(url)}")
    if parsed.scheme == "file":
        path = _file_path(url)
        if not path.exists():
            raise ConfigError(f"{what} file {path} does not exist")
        if not path.is_file():
            raise ConfigError(f"{what} file {path} is not a file")
    elif not parsed.hostname:
        raise ConfigError(f"{what} URL {shorten(url)} names no host")


def _read_file(url: str, what: str) -> AdvisorDocument:
    path = _file_path(url)
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from None
    # Undated: the caller dates it with `as_of` (a file's mtime is when it was copied).
    return AdvisorDocument(body, None, None)


def _last_modified(response: httpx.Response) -> datetime | None:
    header = response.headers.get("last-modified")
    if not header:
        return None
    try:
        return as_utc(parsedate_to_datetime(header))
    except (TypeError, ValueError):
        return None


def fetch_advisor(
    client: httpx.Client, url: str, *, etag: str | None, what: str = "advisor"
) -> AdvisorDocument:
    """GET ``url`` (``If-None-Match: etag`` when given); ``file://`` reads a local file.

    The document's date is ``Last-Modified`` (HTTP); a file comes back undated. Any public
    feed is fetched this way (``what`` names it in errors).
    """
    _check_location(url, what)
    if urlparse(url).scheme == "file":
        return _read_file(url, what)
    headers = {"If-None-Match": etag} if etag else {}
    try:
        response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise SpotselError(f"fetching {url} failed: {type(exc).__name__}: {exc}") from exc
    if response.status_code == httpx.codes.NOT_MODIFIED:
        return AdvisorDocument(None, etag, None)
    if response.status_code != httpx.codes.OK:
        raise SpotselError(f"fetching {url} failed: HTTP {response.status_code}")
    return AdvisorDocument(response.content, response.headers.get("etag"), _last_modified(response))


# --- ETag state -----------------------------------------------------------------------------


def _state_path(settings: Settings, state_file: str) -> Path:
    return Path(settings.data_dir) / state_file


def load_etag(
    settings: Settings, url: str, *, state_file: str = STATE_FILE
) -> tuple[str, datetime] | None:
    """The ETag remembered for ``url`` and the ``observed_at`` of the document it named."""
    try:
        entry = json.loads(_state_path(settings, state_file).read_text(encoding="utf-8")).get(url)
        return str(entry["etag"]), as_utc(datetime.fromisoformat(entry["observed_at"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no or unreadable state: just fetch unconditionally


def save_etag(
    settings: Settings, url: str, etag: str, observed_at: datetime, *, state_file: str = STATE_FILE
) -> None:
    """Remember ``etag`` for ``url``; losing it costs one full download, nothing more."""
    path = _state_path(settings, state_file)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict):
            state = {}
    except (OSError, ValueError):
        state = {}
    state[url] = {"etag": etag, "observed_at": observed_at.isoformat()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=2), encoding="utf-8")
    except OSError as exc:  # losing the ETag costs one full download, nothing more
        log.warning("could not save a feed ETag", extra={"path": str(path), "error": str(exc)})


def _stored_rows(engine: Engine | None, observed_at: datetime) -> list[dict[str, Any]]:
    """The stored advisor rows of the document observed at ``observed_at``."""
    if engine is None:
        return []
    columns = [getattr(InterruptionRate, c) for c in _ROW_COLUMNS]
    stmt = select(*columns).where(
        InterruptionRate.source == SOURCE, InterruptionRate.observed_at == observed_at
    )
    with Session(engine) as session:
        return [dict(zip(_ROW_COLUMNS, row, strict=True)) for row in session.execute(stmt)]


# --- the source -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AwsAdvisorSource:
    """AWS Spot Instance Advisor interruption buckets and savings (public, no credentials).

    Options: ``source_url`` (https:// or file://; default ``settings.aws_advisor_url``) and
    ``as_of`` (the document's date: required for file://, overrides ``Last-Modified``).
    """

    name: str = SOURCE
    description: str = "AWS Spot Advisor: interruption-frequency buckets and savings (public)"
    simulated: bool = False
    option_names: frozenset[str] = frozenset({"source_url", "as_of"})

    def collect(self, ctx: CollectContext) -> CollectionResult:
        url = str(ctx.options.get("source_url") or ctx.settings.aws_advisor_url)
        as_of: datetime | None = ctx.options.get("as_of")
        check_source_url(url, as_of=as_of)
        started = utcnow()
        state = load_etag(ctx.settings, url)
        # A given date asks for this document under that date: fetch it whole.
        stored = _stored_rows(ctx.engine, state[1]) if state and as_of is None else []
        ctx.progress.stage(f"fetching {url}", None)
        with http_client(ctx) as client:
            doc = fetch_advisor(client, url, etag=state[0] if stored and state else None)
        specs = SpecRows([], ())
        if doc.body is None:
            log.info("advisor not modified", extra={"url": url, "rows": len(stored)})
            rows = stored
        else:
            observed_at = as_utc(as_of) if as_of is not None else doc.observed_at
            if observed_at is None:
                # The transport gave no date: the time it was fetched is the best we know.
                log.warning("advisor response has no Last-Modified; using now", extra={"url": url})
                observed_at = ctx.now
            document = load_document(doc.body)
            rows = parse_advisor(document, observed_at=observed_at)
            specs = spec_rows(document, observed_at=observed_at, known=known_types(ctx.engine))
            if specs.unknown_accelerated:
                # Never written as CPU-only: left without specs until the table knows them.
                log.warning(
                    "accelerated types missing from the accelerator table: no specs written",
                    extra={"types": list(specs.unknown_accelerated)},
                )
            if doc.etag:
                save_etag(ctx.settings, url, doc.etag, observed_at)
        table = TableRows()
        table.add("interruption_rates", rows)
        table.add("instance_types", specs.rows)
        # Where the public price feed is loaded too: derive on-demand prices (see public_derive).
        savings = {
            (r["region"], r["instance_type"]): (float(r["savings_pct"]), r["observed_at"])
            for r in rows
            if r["savings_pct"] is not None
        }
        table.add(
            "on_demand_prices",
            derive_on_demand(
                newest(stored_savings(ctx.engine), savings),
                stored_public_prices(ctx.engine),
                real=real_on_demand_keys(ctx.engine),
            ),
        )
        return CollectionResult(
            source=self.name,
            started_at=started,
            finished_at=utcnow(),
            regions=tuple(sorted({r["region"] for r in rows})),
            rows=table,
        )


AWS_ADVISOR_SOURCE = AwsAdvisorSource()
