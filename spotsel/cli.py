"""`spotsel` command line: assembles the commands of `spotsel.commands`, sets up logging, and
turns the errors a user can fix (usage errors included) into one line on stderr and exit code 1."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, NoReturn

import typer

from core.errors import ConfigError, SpotselError
from selector import RequirementsError
from spotsel.commands import (
    collect,
    db,
    demo,
    events,
    outputs,
    rank,
    report,
    scheduler,
    serve,
    status,
)
from spotsel.consoles import err
from spotsel.state import app_state

__all__ = ["OWN_LOGGERS", "app", "main"]

app = typer.Typer(
    help="Capacity-aware instance selector for ML on spot / preemptible capacity.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command(name="collect")(collect.collect)
app.command(name="rank")(rank.rank_command)
app.command(name="status")(status.status)
app.command(name="demo")(demo.demo)
app.command(name="serve")(serve.serve_command)
app.command(name="scheduler")(scheduler.scheduler)
app.command(name="fleet")(outputs.fleet_command)
app.command(name="report")(report.report_command)
app.add_typer(db.app, name="db")
app.add_typer(outputs.nodepools_app, name="nodepools")
app.add_typer(serve.api_key_app, name="api-key")
app.add_typer(events.app, name="events")

# SPOTSEL_LOG_LEVEL sets the level of these loggers (ours); libraries keep logging warnings only.
OWN_LOGGERS = ("api", "collectors", "core", "outputs", "selector", "spotsel")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _version(value: bool) -> None:
    """``--version``: the installed package's version, from its metadata."""
    if value:
        from importlib.metadata import version

        typer.echo(f"spotsel {version('spotsel')}")
        raise typer.Exit()


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
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    state = app_state(ctx)
    if database_url:
        state.database_url = database_url
        if state.settings is not None:
            state.settings = state.settings.model_copy(update={"database_url": database_url})
    try:
        level = state.get_settings().log_level
    except ConfigError:
        return  # the command reports it when it reads the settings; --help still works
    _configure_logging(ctx, level)


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


def main() -> None:
    """Console-script entry point."""
    try:
        # Not standalone: usage errors reach us, to be told in one line like every other error.
        code = app(standalone_mode=False)
    except _COMMAND_LINE_ERRORS as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `spotsel` or `spotsel db` alone
            exc.show()  # type: ignore[attr-defined]  # the help, as click shows it
            raise SystemExit(2) from None
        _fail(f"spotsel: error: {_usage_line(exc)}")
    except RequirementsError as exc:  # first: it may derive from SpotselError
        _fail(f"spotsel: error: invalid requirements: {exc}")
    except SpotselError as exc:
        _fail(f"spotsel: error: {exc}")
    except typer.Abort:  # end of input at a prompt
        _fail("spotsel: aborted")
    except KeyboardInterrupt:
        err.print("spotsel: interrupted")
        raise SystemExit(130) from None
    if isinstance(code, int) and code:  # typer.Exit(code), e.g. `nodepools generate --diff`
        raise SystemExit(code)


def _command_line_errors() -> tuple[type[Exception], ...]:
    """Click's errors of the command line (bad option, missing argument, unknown command).

    Typer 0.2x vendors click, its errors deriving from ``typer.TyperException``; older typer
    raises click's own. Both are caught.
    """
    found: list[type[Exception]] = []
    vendored = getattr(typer, "TyperException", None)
    if isinstance(vendored, type) and issubclass(vendored, Exception):
        found.append(vendored)
    try:
        import click
    except ImportError:  # pragma: no cover - only with a typer that vendors click
        pass
    else:
        found.append(click.ClickException)
    return tuple(found)


_COMMAND_LINE_ERRORS = _command_line_errors()


def _usage_line(exc: Exception) -> str:
    """A command-line error as one line: the problem, then where the help is."""
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or "spotsel"
    text = " ".join(str(message).split()).replace("Value error, ", "")  # pydantic's prefix
    return f"{text} (see '{path} --help')"


def _fail(message: str) -> NoReturn:
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    raise SystemExit(1) from None
