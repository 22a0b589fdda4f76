"""`spotsel` command line. Errors a user can fix print one line and exit non-zero."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from collectors import SOURCES, CollectContext, get_source
from collectors.aws import check_source_url
from collectors.runner import run_source
from collectors.scheduler import CollectionScheduler, leader_lock
from core import migrate
from core.clock import as_utc, utcnow
from core.db import check_connection, redact_url, require_schema
from core.errors import ConfigError, SpotselError
from core.limits import shorten
from core.summary import cloud_summaries, source_statuses, store_totals
from core.tables import CollectionRun
from selector import Ranking, Requirements, RequirementsError, parse_requirements, rank
from spotsel import render, render_ranking
from spotsel.cmd_outputs import fleet_command, nodepools_app, write_demo_outputs
from spotsel.consoles import err, out
from spotsel.progress import RichProgress
from spotsel.serve_cmd import api_key_app, curl_example, run_serve, serve_command
from spotsel.state import AppState, app_state, load_pools

__all__ = ["app", "main"]

app = typer.Typer(
    help="Capacity-aware instance selector for ML on spot / preemptible capacity.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema: upgrade, downgrade, current revision.")
app.add_typer(db_app, name="db")
app.add_typer(nodepools_app, name="nodepools")
app.command(name="fleet")(fleet_command)
app.add_typer(api_key_app, name="api-key")

# The seed scenario of the design: one GPU with at least 16 GiB for a checkpointed trainer.
DEMO_REQUEST: dict[str, Any] = {
    "gpus": 1,
    "gpu_memory_gib": 16,
    "arch": "x86_64",
    "regions": ["us-east-1"],
    "nodes": 8,
    "top": 12,
}


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _state(ctx: typer.Context) -> AppState:
    return app_state(ctx)


@app.callback()
def _root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Database URL (default: SPOTSEL_DATABASE_URL or a per-user SQLite file).",
        ),
    ] = None,
) -> None:
    state = _state(ctx)
    if database_url:
        state.database_url = database_url
        if state.settings is not None:
            state.settings = state.settings.model_copy(update={"database_url": database_url})
    try:
        level = state.get_settings().log_level
    except ConfigError:
        return  # the command reports it when it reads the settings; --help still works
    _configure_logging(ctx, level)


# SPOTSEL_LOG_LEVEL sets the level of these loggers (ours); libraries keep logging warnings only.
OWN_LOGGERS = ("api", "collectors", "core", "selector", "spotsel")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _configure_logging(ctx: typer.Context, level: str) -> None:
    """Log to stderr, our loggers at ``level``, until the command ends (tests run many)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    loggers = [logging.getLogger(name) for name in OWN_LOGGERS]
    previous = [logger.level for logger in loggers]
    logging.getLogger().addHandler(handler)
    for logger in loggers:
        logger.setLevel(level)

    def undo() -> None:
        logging.getLogger().removeHandler(handler)
        for logger, before in zip(loggers, previous, strict=True):
            logger.setLevel(before)

    ctx.call_on_close(undo)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or upgrade the schema (idempotent)."""
    engine = _state(ctx).engine()
    check_connection(engine)
    migrate.upgrade(engine, revision)
    out.print(
        f"database {redact_url(str(engine.url))} at revision {migrate.current_revision(engine)}"
    )


# Unknown options pass through as arguments, so a relative target like -1 is not an option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base or -1.")],
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Confirm dropping what the undone revisions created, rows included."
        ),
    ] = False,
) -> None:
    """Downgrade the schema to REVISION (``base`` drops every table); says what goes, asks first."""
    engine = _state(ctx).engine()
    check_connection(engine)
    plan = migrate.downgrade_plan(engine, revision)
    if plan.undone and not yes:
        # Without a terminal nobody can answer: refuse rather than drop data unasked.
        if not _can_ask():
            raise ConfigError(f"{plan.describe()}; nothing done: pass --yes to confirm")
        err.print(plan.describe(), markup=False, highlight=False, soft_wrap=True)
        if not typer.confirm("Go ahead?", default=False, err=True):
            raise ConfigError("downgrade not confirmed; nothing done")
    migrate.downgrade(engine, plan.target or "base")
    if plan.undone:
        out.print(plan.describe(done=True), markup=False, highlight=False, soft_wrap=True)
    out.print(f"database at revision {migrate.current_revision(engine) or 'base'}")


def _can_ask() -> bool:
    """Whether a person can answer a prompt (stdin is a terminal)."""
    return sys.stdin.isatty()


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the schema revision of the database and of the code."""
    engine = _state(ctx).engine()
    check_connection(engine)
    out.print(
        f"database: {migrate.current_revision(engine) or 'none'}; code: {migrate.head_revision()}"
    )


def _parse_as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        as_of = as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise ConfigError(f"--as-of must be an ISO 8601 timestamp, got {shorten(value)}") from None
    now = utcnow()
    if as_of > now:
        # A market "as of" tomorrow would be stored as observed data nobody has seen yet.
        raise ConfigError(
            f"--as-of {as_of.isoformat()} is in the future (now {now:%Y-%m-%dT%H:%M:%S}+00:00)"
        )
    return as_of


def _collect(state: AppState, source_name: str, options: dict[str, Any]) -> CollectionRun:
    source = get_source(source_name)
    unknown = {k for k, v in options.items() if v is not None} - source.option_names
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in sorted(unknown))
        raise ConfigError(f"{flags} does not apply to source {source.name!r}")
    if options.get("source_url") is not None:
        # A typo (missing file, ftp://) is the user's, not a failed run of the source.
        check_source_url(str(options["source_url"]))
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


@app.command()
def collect(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help=f"Source to run: {', '.join(sorted(SOURCES))}.")],
    seed: Annotated[int | None, typer.Option(help="sim: random seed.")] = None,
    scale: Annotated[
        int | None,
        typer.Option(
            min=1, max=1000, help="sim: replicas of the real geography (~3,200 pools each)."
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="sim: market time, ISO 8601 (default: this hour).")
    ] = None,
    regions: Annotated[
        str | None, typer.Option(help="Cloud sources: comma list of regions (default: settings).")
    ] = None,
    source_url: Annotated[
        str | None,
        typer.Option(help="Feed sources: URL to read instead of the public one (file:// works)."),
    ] = None,
) -> None:
    """Run one collection now and store what it returns."""
    options = {
        "seed": seed,
        "scale": scale,
        "as_of": _parse_as_of(as_of),
        "regions": _csv(regions),
        "source_url": source_url,
    }
    run = _collect(_state(ctx), source, options)
    if run.status == "failed":
        raise typer.Exit(1)


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _requirements_mapping(**flags: Any) -> dict[str, Any]:
    """CLI flags → the ranking vocabulary (only the flags given)."""
    lists = {"gpu_models", "clouds", "regions", "capacity_types"}
    return {
        name: _csv(value) if name in lists else value
        for name, value in flags.items()
        if value is not None
    }


@app.command(name="rank")
def rank_command(
    ctx: typer.Context,
    vcpus: Annotated[str | None, typer.Option(help="vCPU range, e.g. 4:16, 8:, :32 or 8.")] = None,
    memory_gib: Annotated[str | None, typer.Option(help="Memory range in GiB, e.g. 16:.")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs per node (0 = CPU only).")] = None,
    gpu_memory: Annotated[
        float | None, typer.Option("--gpu-memory", help="Minimum GiB per GPU.")
    ] = None,
    gpu_models: Annotated[
        str | None, typer.Option(help="Comma list of GPU models or classes, e.g. A10G,L4.")
    ] = None,
    arch: Annotated[str | None, typer.Option(help="x86_64 or arm64.")] = None,
    clouds: Annotated[str | None, typer.Option(help="Comma list: aws,gcp,azure.")] = None,
    regions: Annotated[
        str | None, typer.Option(help="Comma list of regions (default any).")
    ] = None,
    capacity_types: Annotated[
        str | None, typer.Option(help="Comma list: spot,on-demand (default both).")
    ] = None,
    nodes: Annotated[int | None, typer.Option(help="Nodes to place (capacity split).")] = None,
    max_price: Annotated[float | None, typer.Option(help="Max $/h per node.")] = None,
    strategy: Annotated[
        str | None, typer.Option(help="effective-cost | price | capacity | price-capacity.")
    ] = None,
    top: Annotated[int | None, typer.Option(help="Pools to return.")] = None,
    checkpoint_interval_minutes: Annotated[float | None, typer.Option()] = None,
    final_checkpoint_seconds: Annotated[float | None, typer.Option()] = None,
    restart_overhead_minutes: Annotated[float | None, typer.Option()] = None,
    min_instance_types: Annotated[int | None, typer.Option()] = None,
    max_share_per_type: Annotated[float | None, typer.Option()] = None,
    max_share_per_family: Annotated[float | None, typer.Option()] = None,
    max_share_per_zone: Annotated[float | None, typer.Option()] = None,
    min_zones: Annotated[int | None, typer.Option()] = None,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.TABLE,
) -> None:
    """Rank diversified instance-type × zone pools for a workload."""
    requirements = parse_requirements(
        _requirements_mapping(
            vcpus=vcpus, memory_gib=memory_gib, gpus=gpus, gpu_memory_gib=gpu_memory,
            gpu_models=gpu_models, arch=arch, clouds=clouds, regions=regions,
            capacity_types=capacity_types, nodes=nodes, max_price=max_price,
            strategy=strategy, top=top, checkpoint_interval_minutes=checkpoint_interval_minutes,
            final_checkpoint_seconds=final_checkpoint_seconds,
            restart_overhead_minutes=restart_overhead_minutes,
            min_instance_types=min_instance_types, max_share_per_type=max_share_per_type,
            max_share_per_family=max_share_per_family, max_share_per_zone=max_share_per_zone,
            min_zones=min_zones,
        )
    )  # fmt: skip
    ranking = _rank(_state(ctx), requirements)
    if output is OutputFormat.JSON:
        sys.stdout.write(json.dumps(ranking.to_dict(), indent=2) + "\n")
        return
    render_ranking.print_ranking(out, ranking)


def _rank(state: AppState, requirements: Requirements) -> Ranking:
    current = load_pools(state)
    return rank(current.snapshot, requirements, now=current.now)


@app.command()
def status(
    ctx: typer.Context,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.TABLE,
) -> None:
    """Per source: last run, status, rows and age of the newest data; store totals."""
    engine = _state(ctx).engine()
    require_schema(engine)
    now = utcnow()
    with Session(engine) as session:
        totals = store_totals(session)
        statuses = source_statuses(session)
        clouds = cloud_summaries(session)
    if output is OutputFormat.JSON:
        doc = render.status_document(
            database=redact_url(str(engine.url)),
            totals=totals,
            statuses=statuses,
            now=now,
            simulated={name: s.simulated for name, s in SOURCES.items()},
        )
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    out.print(f"database: {redact_url(str(engine.url))}")
    render.print_totals(out, totals)
    render.print_clouds(out, clouds)
    render.print_sources(out, statuses, now=now, labels=_source_labels())


def _source_labels() -> dict[str, str]:
    return {name: "(simulated)" for name, s in SOURCES.items() if s.simulated}


@app.command()
def demo(
    ctx: typer.Context,
    seed: Annotated[int | None, typer.Option(help="Seed of the simulated market.")] = None,
    scale: Annotated[int | None, typer.Option(min=1, max=1000, help="Market replicas.")] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: <data dir>/demo-output)."),
    ] = None,
    serve_api: Annotated[
        bool | None,
        typer.Option(
            "--serve/--no-serve",
            help="End by serving the API on localhost (default: only when run in a terminal, "
            "so scripts and CI never block).",
        ),
    ] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the local API.")] = 8080,
) -> None:
    """The whole loop offline on the SIMULATED market: load, rank, generate, serve locally."""
    state = _state(ctx)
    engine = state.engine()
    check_connection(engine)
    migrate.upgrade(engine)
    out.print(
        f"[bold]spotsel demo[/] — database {redact_url(str(engine.url))} "
        f"(schema {migrate.current_revision(engine)})"
    )
    out.print("Loading the [bold]simulated[/] market: real instance types, simulated signals.")
    _collect(state, "sim", {"seed": seed, "scale": scale})
    now = utcnow()
    with Session(engine) as session:
        totals = store_totals(session)
        clouds = cloud_summaries(session)
        statuses = source_statuses(session)
    render.print_totals(out, totals)
    render.print_clouds(out, clouds)
    render.print_sources(out, statuses, now=now, labels=_source_labels())
    out.print()
    out.print(f"[bold]Ranking[/] the seed scenario: {DEMO_REQUEST}")
    render_ranking.print_ranking(out, _rank(state, parse_requirements(DEMO_REQUEST)))
    settings = state.get_settings()
    folder = out_dir or settings.data_dir / "demo-output"
    written = write_demo_outputs(state, folder)
    out.print()
    out.print(f"[bold]Outputs[/] for examples/profiles.yaml, validated, in {folder}:")
    for path in written:
        out.print(f"  {path}")
    out.print(
        "Next: `spotsel rank --gpus 1 --gpu-memory 16 --regions us-east-1`, "
        "`spotsel nodepools generate --profiles examples/profiles.yaml --out DIR --diff`."
    )
    if serve_api is None:
        serve_api = sys.stdin.isatty() and sys.stdout.isatty()
    if not serve_api:
        out.print("Serve it: spotsel serve --no-auth")
        out.print(curl_example(f"http://127.0.0.1:{port}", auth=False), soft_wrap=True)
        return
    run_serve(settings, host="127.0.0.1", port=port, workers=1, no_auth=True, out=out, err=err)


app.command(name="serve")(serve_command)


@app.command()
def scheduler(ctx: typer.Context) -> None:
    """Run the scheduled collections (SPOTSEL_SCHEDULE) until SIGTERM or Ctrl-C; one leader."""
    state = _state(ctx)
    engine = state.engine()
    require_schema(engine)
    runner = CollectionScheduler(
        engine=engine,
        settings=state.get_settings(),
        sources=SOURCES,
        clock=utcnow,
        lock=leader_lock(engine),
    )
    _serve_until_signalled(runner)
    err.print("scheduler: stopped")


def _serve_until_signalled(runner: CollectionScheduler) -> None:
    """Serve in a thread until SIGTERM or SIGINT stops it cleanly; a second Ctrl-C interrupts.

    The main thread only waits: a handler that stopped the scheduler from inside one of its own
    waits could deadlock on the lock that wait holds.
    """
    failed: list[BaseException] = []

    def serve() -> None:
        try:
            runner.serve(
                on_state=lambda line: err.print(f"scheduler: {line}", markup=False, soft_wrap=True)
            )
        except BaseException as exc:  # re-raised in the main thread: one line, right exit code
            failed.append(exc)

    def on_signal(signum: int, _frame: object) -> None:
        err.print(f"scheduler: {signal.Signals(signum).name}: stopping after running collections")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        runner.stop()

    # Daemon: after a second Ctrl-C the process exits without waiting for a collection.
    worker = threading.Thread(target=serve, name="spotsel-scheduler", daemon=True)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.start()
        worker.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise failed[0]


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SpotselError as exc:
        err.print(f"spotsel: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except RequirementsError as exc:
        err.print(
            f"spotsel: error: invalid requirements: {exc}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        err.print("spotsel: interrupted")
        raise SystemExit(130) from None
