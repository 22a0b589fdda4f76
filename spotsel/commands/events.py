"""`spotsel events import FILE`: the user's own fleet events into the store (README "Fleet
events"); a file that holds no usable event is one error line and writes nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from core.clock import utcnow
from spotsel.commands.common import OutputFormat
from spotsel.consoles import out
from spotsel.state import app_state

__all__ = ["app"]

app = typer.Typer(help="The user's own fleet events (interruptions, capacity errors, usage).")

# core.fleet_events.DEFAULT_SOURCE, spelled here so that declaring the option does not load the
# ingest and SQLAlchemy (tests/spotsel/test_startup.py asserts they are equal).
DEFAULT_SOURCE = "fleet-events"


def _read(file: str) -> Any:
    """The JSON value in ``file`` (``-`` is stdin)."""
    from core.fleet_events import EventDataError

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise EventDataError(f"cannot read {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise EventDataError(f"{file} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventDataError(
            f"{file} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


@app.command(name="import")
def import_command(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A JSON file of events, or - for stdin.")],
    source: Annotated[
        str, typer.Option("--source", help="Source name; the dedup key is (source, event id).")
    ] = DEFAULT_SOURCE,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.TABLE,
) -> None:
    """Import EventBridge events, Karpenter events or NodeClaims (kubectl -o json), or spotsel's
    normalised events; prints what was accepted, replayed, kept unmapped and refused."""
    from core.db import require_schema
    from core.fleet_events import ingest_events, refuse_unusable

    documents = _read(file)
    now = utcnow()
    refuse_unusable(documents, received_at=now)
    engine = app_state(ctx).engine()
    require_schema(engine)
    report = ingest_events(engine, documents, source=source, received_at=now)
    if output is OutputFormat.JSON:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
        return
    out.print(
        f"accepted {report.accepted}, duplicates {report.duplicates}, unmapped {report.unmapped}, "
        f"resolved earlier {report.resolved}, ignored {len(report.ignored)}, "
        f"rejected {len(report.rejected)}, instances updated {report.instances}"
    )
    for reason, count in sorted(report.unmapped_reasons.items()):
        out.print(f"  unmapped ({count}): {reason}")
    for index, reason in report.rejected:
        out.print(f"  rejected #{index}: {reason}")
    for index, reason in report.ignored:
        out.print(f"  ignored #{index}: {reason}")
