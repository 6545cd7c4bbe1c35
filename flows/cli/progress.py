"""Progress a person can follow: rich bars on a terminal, one plain line per stage otherwise.

No module-level reporter: a run creates one (`stage_progress`) and passes it to its steps.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STAGE_LABELS = {
    "read": "read exports",
    "validate": "validate rows",
    "build": "group & build orders",
    "post": "post to Uniware",
    "sync": "send cancellations & returns",
    "report": "write report",
}


class StageProgress:
    """Progress per stage; inert unless `enable()` was called.

    On a terminal: a rich bar per stage. Piped or under cron: one line per finished stage on
    stderr (``uniload: validate rows done in 1.2 s``), flushed at once, so a log shows where a
    long run is.
    """

    def __init__(self) -> None:
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._plain = False
        self._started: dict[str, float] = {}

    def enable(self) -> bool:
        """Bars when stdout is a terminal, else plain stage lines; True for bars."""
        if not sys.stdout.isatty():
            self._plain = True
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
        self._started[stage] = time.perf_counter()
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
        if self._plain and stage in self._started:
            seconds = time.perf_counter() - self._started.pop(stage)
            label = STAGE_LABELS.get(stage, stage)
            print(f"uniload: {label} done in {seconds:.1f} s", file=sys.stderr, flush=True)
        if self._progress is not None and stage in self._tasks:
            task = self._tasks[stage]
            total = self._progress.tasks[task].total or 1
            self._progress.update(task, completed=total, total=total)

    def stop(self) -> None:
        """Leave the finished bars on screen and release the terminal."""
        self._plain = False
        self._started.clear()
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()


@contextmanager
def stage_progress(show: bool) -> Iterator[StageProgress]:
    """One run's reporter: shown on this console when `show` (a CLI run), else inert; stopped."""
    progress = StageProgress()
    if show:
        progress.enable()
    try:
        yield progress
    finally:
        progress.stop()
