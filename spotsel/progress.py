"""Rich progress bars behind the :class:`core.progress.Progress` protocol."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["RichProgress"]


class RichProgress:
    """One bar per stage, drawn on stderr so ``--output json`` stays clean on stdout."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._complete_current()
        self._progress.stop()

    def _complete_current(self) -> None:
        """A stage is done when the next one starts (steps may be coarser than the total)."""
        if self._task is not None:
            total = self._progress.tasks[self._task].total
            if total is not None:
                self._progress.update(self._task, completed=total)

    def stage(self, description: str, total: int | None) -> None:
        self._complete_current()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, steps)
