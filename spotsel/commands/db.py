"""`spotsel db upgrade | downgrade | current`: the schema, migrated by Alembic.

A downgrade says what it drops (tables, columns, row counts) and runs only with ``--yes`` or a
yes at a terminal prompt; without a terminal nobody can answer, so it refuses.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from core.errors import ConfigError
from spotsel.consoles import err, out
from spotsel.state import app_state

__all__ = ["app"]

app = typer.Typer(help="Database schema: upgrade, downgrade, current revision.")


@app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or upgrade the schema (idempotent)."""
    from core import migrate  # Alembic: only for the commands that migrate
    from core.db import check_connection, redact_url

    engine = app_state(ctx).engine()
    check_connection(engine)
    migrate.upgrade(engine, revision)
    out.print(
        f"database {redact_url(str(engine.url))} at revision {migrate.current_revision(engine)}"
    )


# Unknown options pass through as arguments, so a relative target like -1 is not an option.
@app.command("downgrade", context_settings={"ignore_unknown_options": True})
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
    from core import migrate
    from core.db import check_connection

    engine = app_state(ctx).engine()
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


@app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the schema revision of the database and of the code."""
    from core import migrate
    from core.db import check_connection

    engine = app_state(ctx).engine()
    check_connection(engine)
    out.print(
        f"database: {migrate.current_revision(engine) or 'none'}; code: {migrate.head_revision()}"
    )
