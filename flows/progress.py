"""Progress a person can follow: one rich bar per stage on a terminal, nothing otherwise."""

from __future__ import annotations

import sys
from typing import Any

STAGE_LABELS = {
    "read": "read exports",
    "validate": "validate rows",
    "build": "group & build orders",
    "post": "post to Uniware",
    "report": "write report",
}


class StageProgress:
    """Bars per stage; inert unless `enable()` was called with a terminal on stdout."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def enable(self) -> bool:
        """Show bars when stdout is a terminal (never in pipes, logs or CI)."""
        if not sys.stdout.isatty():
            return False
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        )
        self._progress.start()
        return True

    def start(self, stage: str, total: int | None = 1) -> None:
        """A stage begins (total = units it will advance by)."""
        if self._progress is not None:
            self._tasks[stage] = self._progress.add_task(
                STAGE_LABELS.get(stage, stage), total=total
            )

    def advance(self, stage: str, amount: int = 1) -> None:
        """Some units of a stage are done."""
        if self._progress is not None and stage in self._tasks:
            self._progress.advance(self._tasks[stage], amount)

    def finish(self, stage: str) -> None:
        """A stage is complete."""
        if self._progress is not None and stage in self._tasks:
            task = self._tasks[stage]
            total = self._progress.tasks[task].total or 1
            self._progress.update(task, completed=total, total=total)

    def stop(self) -> None:
        """Leave the finished bars on screen and release the terminal."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()


progress = StageProgress()
