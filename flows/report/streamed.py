"""The report folder of a run block by block, written as the run goes: failures grow per block."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any

import fsspec
import pandas as pd
from fsspec.implementations.local import LocalFileSystem
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.cli.progress import StageProgress
from flows.report.artifacts import publish_run_artifacts
from flows.report.failure_csv import CSV_ENCODING, CSV_LINE_END, csv_names
from flows.report.private_files import open_private, write_private
from flows.report.store import FAILURES_XLSX, SUMMARY_JSON, SUMMARY_MD, ReportStore
from flows.report.xlsx import render_failures_xlsx
from transforms.disposition import SKIPPED_CSV
from transforms.errors import RowError
from transforms.markdown import summary_markdown
from transforms.reasons import reason_entries
from transforms.tally import Tally


class StreamedReport:
    """One run's report folder, written as the run goes: each input's failures CSV grows.

    Same layout, encoding and permissions as `flows.report.store.ReportStore`. Each input's
    failed rows go to a part file, named as the whole-file report names them
    (`csv_names`) once every input is known; for a location that is not a local folder,
    they are spooled to a private temporary folder and uploaded when the run ends.
    summary.json is written last.
    """

    def __init__(self, location: str, run_id: str) -> None:
        self.folder = ReportStore(location).prepare_run_folder(run_id)  # checks the run id
        self._fs, self._root = fsspec.core.url_to_fs(self.folder)
        self._local = isinstance(self._fs, LocalFileSystem)
        self._spool = None if self._local else tempfile.TemporaryDirectory(prefix="uniload-")
        self._where = Path(self._root if self._spool is None else self._spool.name)
        self.parts: list[tuple[str, Path]] = []  # input name, its failures part file
        self._out: IO[bytes] | None = None
        self._started = False
        self.skipped_csv = self._where / SKIPPED_CSV  # written only when a row is skipped
        self._skipped: IO[bytes] | None = None

    def start_file(self, name: str) -> None:
        """The failed rows appended from now on are those of input `name`."""
        if self._out is not None:
            self._out.close()
        part = self._where / f"failures-{len(self.parts)}.csv.part"
        self.parts.append((name, part))
        self._out = open_private(part)
        self._started = False

    def append(self, failures: pd.DataFrame) -> None:
        """Add failed rows of the current input (the first call writes the header and BOM)."""
        if self._out is None:
            raise RuntimeError("start_file before append")
        text = failures.to_csv(index=False, header=not self._started, lineterminator=CSV_LINE_END)
        self._out.write(text.encode(CSV_ENCODING if not self._started else "utf-8"))
        self._started = True

    def append_skipped(self, skipped: pd.DataFrame) -> None:
        """Add skipped rows to skipped.csv (opened, with its header and BOM, at the first)."""
        if not len(skipped):
            return
        first = self._skipped is None
        if self._skipped is None:
            self._skipped = open_private(self.skipped_csv)
        text = skipped.to_csv(index=False, header=first, lineterminator=CSV_LINE_END)
        self._skipped.write(text.encode(CSV_ENCODING if first else "utf-8"))

    def close_failures(self) -> list[tuple[str, Path]]:
        """Finish the failures CSVs and skipped.csv (uploaded when not local); (input, CSV)."""
        self._close()
        names = csv_names([name for name, _ in self.parts])
        done = []
        for csv_name, (name, part) in zip(names, self.parts, strict=True):
            final = part.with_name(csv_name)
            os.replace(part, final)
            if self._spool is not None:
                self._fs.put_file(str(final), f"{self._root}/{csv_name}")
            done.append((name, final))
        if self._spool is not None and self._skipped is not None:
            self._fs.put_file(str(self.skipped_csv), f"{self._root}/{SKIPPED_CSV}")
        return done

    def write(self, name: str, data: bytes) -> None:
        """Write one more file of the report."""
        if self._local:
            write_private(Path(self._root) / name, data)
        else:
            self._fs.pipe_file(f"{self._root}/{name}", data)

    def _close(self) -> None:
        if self._out is not None:
            self._out.close()
        if self._skipped is not None:
            self._skipped.close()

    def __enter__(self) -> StreamedReport:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the files (a failed run leaves no summary.json) and drop the spool."""
        self._close()
        if self._spool is not None:
            self._spool.cleanup()


def failures_xlsx(csvs: list[tuple[str, Path]], errors: list[RowError]) -> bytes:
    """The workbook of a failure report small enough for Excel, read back from its CSVs."""
    tables = []
    for name, path in csvs:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=CSV_ENCODING)
        table["error_row"] = table["error_row"].astype("int64")
        tables.append((name, table))
    return render_failures_xlsx(tables, errors)


def streaming_note(tally: Tally, block_rows: int) -> str:
    """The lines summary.md adds for a run block by block."""
    lines = [
        "## Blocks",
        "",
        f"Read in chunks of {block_rows:,} rows, handled as {tally.blocks:,} blocks of whole "
        "orders.",
    ]
    if tally.xlsx_errors is None:
        lines.append(
            f"failures.xlsx was not written: {tally.failed_rows:,} rows failed, more than the "
            f"{tally.xlsx_limit:,} rows an Excel sheet holds. The failures CSV "
            "holds every failed row."
        )
    return "\n".join([*lines, ""])


@task(name="write-report", cache_policy=NO_CACHE, persist_result=False)
def finish_stream_task(
    summary: dict[str, Any],
    tally: Tally,
    report: StreamedReport,
    block_rows: int,
    progress: StageProgress,
) -> dict[str, Any] | OSError:
    """failures.xlsx when small enough, summary.md and summary.json (last), then artifacts.

    A disk failing now is returned, not raised: the flow raises it (one line, no traceback).
    """
    try:
        return finish_stream(summary, tally, report, block_rows, progress)
    except OSError as err:
        return err


def finish_stream(
    summary: dict[str, Any],
    tally: Tally,
    report: StreamedReport,
    block_rows: int,
    progress: StageProgress,
) -> dict[str, Any]:
    """The body of `finish_stream_task`."""
    progress.start("report")
    reasons = tally.top_reasons()
    summary = {**summary, "top_reasons": reason_entries(reasons)}
    csvs = report.close_failures()
    if tally.xlsx_errors is not None:
        report.write(FAILURES_XLSX, failures_xlsx(csvs, tally.xlsx_errors))
    text = summary_markdown(summary, reasons) + "\n" + streaming_note(tally, block_rows)
    report.write(SUMMARY_MD, text.encode())
    data = json.dumps(summary, indent=2, ensure_ascii=False, default=str)
    report.write(SUMMARY_JSON, data.encode())  # last: the report is complete
    summary = {**summary, "report": report.folder}
    preview = pd.concat(tally.preview) if tally.preview else pd.DataFrame()
    publish_run_artifacts(summary, preview, report.folder, reasons)
    progress.finish("report")
    return summary
