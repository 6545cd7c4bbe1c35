"""The report folder of a streamed run, written as the run goes: failures.csv grows per block."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import IO

import fsspec
import pandas as pd
from fsspec.implementations.local import LocalFileSystem

from flows.report.failure_csv import CSV_ENCODING, CSV_LINE_END, csv_names
from flows.report.private_files import open_private, write_private
from flows.report.store import ReportStore
from flows.report.xlsx import render_failures_xlsx
from transforms.disposition import SKIPPED_CSV
from transforms.errors import RowError
from transforms.tally import Tally


class StreamedReport:
    """One run's report folder, written as the run goes: failures.csv grows block by block.

    Same layout, encoding and permissions as `flows.report.store.ReportStore`; for a location
    that is not a local folder, failures.csv is spooled to a private temporary folder
    and uploaded when the run ends. summary.json is written last.
    """

    def __init__(self, location: str, run_id: str, input_name: str) -> None:
        self.folder = ReportStore(location).prepare_run_folder(run_id)  # checks the run id
        self._fs, self._root = fsspec.core.url_to_fs(self.folder)
        self._local = isinstance(self._fs, LocalFileSystem)
        self._spool = None if self._local else tempfile.TemporaryDirectory(prefix="uniload-")
        self._csv = csv_names([input_name])[0]
        where = self._root if self._spool is None else self._spool.name
        self.failures_csv = Path(where) / self._csv
        self._out: IO[bytes] = open_private(self.failures_csv)
        self._started = False
        self.skipped_csv = Path(where) / SKIPPED_CSV  # written only when a row is skipped
        self._skipped: IO[bytes] | None = None

    def append(self, failures: pd.DataFrame) -> None:
        """Add failed rows (the first call writes the header and the BOM)."""
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

    def close_failures(self) -> None:
        """Finish failures.csv and skipped.csv (uploaded when the location is not local)."""
        self._out.close()
        if self._skipped is not None:
            self._skipped.close()
        if self._spool is not None:
            self._fs.put_file(str(self.failures_csv), f"{self._root}/{self._csv}")
            if self._skipped is not None:
                self._fs.put_file(str(self.skipped_csv), f"{self._root}/{SKIPPED_CSV}")

    def write(self, name: str, data: bytes) -> None:
        """Write one more file of the report."""
        if self._local:
            write_private(Path(self._root) / name, data)
        else:
            self._fs.pipe_file(f"{self._root}/{name}", data)

    def __enter__(self) -> StreamedReport:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close failures.csv (a failed run leaves no summary.json) and drop the spool."""
        self._out.close()
        if self._skipped is not None:
            self._skipped.close()
        if self._spool is not None:
            self._spool.cleanup()


def failures_xlsx(path: Path, name: str, errors: list[RowError]) -> bytes:
    """The workbook of a small streamed failure report, read back from its CSV."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=CSV_ENCODING)
    table["error_row"] = table["error_row"].astype("int64")
    return render_failures_xlsx([(name, table)], errors)


def streaming_note(tally: Tally, chunk_rows: int) -> str:
    """The lines summary.md adds in streaming mode."""
    lines = [
        "## Streaming",
        "",
        f"Read in chunks of {chunk_rows:,} rows, handled as {tally.blocks:,} blocks of whole "
        "orders.",
    ]
    if tally.xlsx_errors is None:
        lines.append(
            f"failures.xlsx was not written: {tally.failed_rows:,} rows failed, more than the "
            f"{tally.xlsx_limit:,} rows an Excel sheet holds. failures.csv "
            "holds every failed row."
        )
    return "\n".join([*lines, ""])
