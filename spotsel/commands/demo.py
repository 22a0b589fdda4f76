"""`spotsel demo`: the whole loop offline on the simulated market.

Migrate, load the market (last week's at a few market times, then now), show the store, rank
the seed scenario, write NodePools and a Fleet request for the example profiles shipped with the
package and the weekly reports of last week and this week (`demo_weeks`), then serve the API
locally (only when run in a terminal, so scripts and CI never block). The pool index is loaded
once, after the collection, and used for the ranking and both outputs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from core.clock import utcnow
from core.errors import ConfigError
from spotsel.commands.collect import run_collection
from spotsel.commands.outputs import example_profiles, write_demo_outputs
from spotsel.commands.serve import curl_example, ensure_port_free, run_serve
from spotsel.commands.status import print_store
from spotsel.consoles import err, out
from spotsel.state import app_state, load_pools

__all__ = ["DEMO_REQUEST", "check_out_dir", "demo"]

# The seed scenario of the design: one GPU with at least 16 GiB for a checkpointed trainer.
DEMO_REQUEST: Final[dict[str, Any]] = {
    "gpus": 1,
    "gpu_memory_gib": 16,
    "arch": "x86_64",
    "regions": ["us-east-1"],
    "nodes": 8,
    "top": 12,
}


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
    from core import migrate  # Alembic: loaded by the commands that migrate
    from core.db import check_connection, redact_url
    from selector import parse_requirements, rank
    from spotsel import render_ranking
    from spotsel.commands.demo_weeks import collect_last_week, write_demo_reports

    state = app_state(ctx)
    folder = out_dir or state.get_settings().data_dir / "demo-output"
    # What would fail at the end is refused before the market is loaded: nothing is written.
    check_out_dir(folder)
    if serve_api:
        ensure_port_free("127.0.0.1", port)
    engine = state.engine()
    check_connection(engine)
    migrate.upgrade(engine)
    out.print(
        f"[bold]spotsel demo[/] — database {redact_url(str(engine.url))} "
        f"(schema {migrate.current_revision(engine)})"
    )
    out.print("Loading the [bold]simulated[/] market: real instance types, simulated signals.")
    out.print("Last week's market first (three market times), for two weeks of reports; then now.")
    collect_last_week(state, seed=seed, scale=scale, now=utcnow())
    run_collection(state, "sim", {"seed": seed, "scale": scale})
    print_store(engine, now=utcnow())
    pools = load_pools(state)
    out.print()
    out.print(f"[bold]Ranking[/] the seed scenario: {DEMO_REQUEST}")
    ranking = rank(pools.index, parse_requirements(DEMO_REQUEST), now=pools.now)
    render_ranking.print_ranking(out, ranking)
    settings = state.get_settings()
    with example_profiles() as profiles:
        written = write_demo_outputs(state, folder, pools=pools, profiles=profiles)
        out.print()
        out.print(f"[bold]Outputs[/] for the example profiles, validated, in {folder}:")
        for path in written:
            out.print(f"  {path}")
        reports = write_demo_reports(state, folder, profiles_file=profiles, now=utcnow())
        out.print("[bold]Weekly reports[/] (simulated market; this week compared with last week):")
        for path in reports:
            out.print(f"  {path}")
        out.print(
            "Next: `spotsel rank --gpus 1 --gpu-memory 16 --regions us-east-1`, "
            f"`spotsel nodepools generate --profiles {profiles} --out DIR --diff`.",
            markup=False,
            soft_wrap=True,
        )
    if serve_api is None:
        serve_api = sys.stdin.isatty() and sys.stdout.isatty()
    if not serve_api:
        out.print("Serve it: spotsel serve --no-auth")
        out.print(curl_example(f"http://127.0.0.1:{port}", auth=False), soft_wrap=True)
        return
    run_serve(settings, host="127.0.0.1", port=port, workers=1, no_auth=True, out=out, err=err)


def check_out_dir(folder: Path) -> None:
    """Refuse an output folder that cannot be created or written, in one line."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is not a directory" if existing == folder else f"lies under a file ({existing})"
        raise ConfigError(f"--out {folder} {what}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {folder}: {existing} is not writable")
