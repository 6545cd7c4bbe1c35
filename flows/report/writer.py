"""The one report writer: every run's failed rows appended per input, then XLSX and summaries.

A run block by block appends each block's failed rows; a whole-file run is one block
(`write_report`). Layout, in ``<location>/<run id>/``: ``failures.csv`` (one input) or
``failures-<input>.csv`` (one per input), ``skipped.csv`` (when a row was skipped),
``failures.xlsx``, ``summary.md`` and ``summary.json``, written last: a run folder without
it is incomplete and not listed. A failures CSV is written even when nothing failed (header
only), so a download always yields the same set. CSV is UTF-8 with a BOM and CRLF line
ends: Excel on Windows then shows non-ASCII names correctly, and uniload's reader skips the
BOM. Local folders are 0o700 and files 0o600 (reports hold customers' personal data); for
a location that is not a local folder, the CSVs are spooled to a private temporary folder
and uploaded when the run ends.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from flows.report.failure_csv import CSV_ENCODING, build_failure_tables, csv_bytes, csv_names
from flows.report.private_files import open_private
from flows.report.store import FAILURES_XLSX, SUMMARY_JSON, SUMMARY_MD, ReportStore
from flows.report.xlsx import render_failures_xlsx
from transforms.disposition import SKIPPED_CSV
from transforms.errors import ErrorTable, RowError
from transforms.markdown import summary_markdown
from transforms.reasons import ReasonCount, top_reasons


@dataclass(frozen=True, slots=True)
class ReportPaths:
    """Where one run's report files were written (local paths or fsspec URLs)."""

    folder: str
    failures_csv: tuple[str, ...]
    failures_xlsx: str | None  # None: too many failed rows for a workbook
    summary_json: str
    summary_md: str


class ReportWriter:
    """One run's report folder, written as the run goes: each input's failures CSV grows.

    Each input's failed rows go to a part file, named (`csv_names`) once every input is
    known. `finish` writes the workbook and the summaries; summary.json last.
    """

    def __init__(self, location: str, run_id: str) -> None:
        self._store, self._run_id = ReportStore(location), run_id
        self.folder = self._store.prepare_run_folder(run_id)  # checks the run id
        local = self._store.local_folder(run_id)
        self._spool = None
        if local is None:  # parts are spooled, then uploaded
            self._spool = tempfile.TemporaryDirectory(prefix="uniload-")
            local = Path(self._spool.name)
        self._where = local
        self.parts: list[tuple[str, Path]] = []  # input name, its failures part file
        self._out: IO[bytes] | None = None
        self._started = False
        self.skipped_csv = self._where / SKIPPED_CSV  # written only when a row is skipped
        self._skipped: IO[bytes] | None = None
        self._csvs: list[str] = []  # the failures CSVs' places in the report

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
        self._out.write(csv_bytes(failures, header=not self._started))
        self._started = True

    def append_skipped(self, skipped: pd.DataFrame) -> None:
        """Add skipped rows to skipped.csv (opened, with its header and BOM, at the first)."""
        if not len(skipped):
            return
        first = self._skipped is None
        if self._skipped is None:
            self._skipped = open_private(self.skipped_csv)
        self._skipped.write(csv_bytes(skipped, header=first))

    def close_failures(self) -> list[tuple[str, Path]]:
        """Finish the failures CSVs and skipped.csv (uploaded when not local); (input, CSV)."""
        self._close()
        names = csv_names([name for name, _ in self.parts])
        done = []
        for csv_name, (name, part) in zip(names, self.parts, strict=True):
            final = part.with_name(csv_name)
            os.replace(part, final)
            self._csvs.append(self._place(final))
            done.append((name, final))
        if self._skipped is not None:
            self._place(self.skipped_csv)
        return done

    def finish(
        self,
        summary: Mapping[str, Any],
        reasons: Sequence[ReasonCount],
        *,
        xlsx_errors: Sequence[RowError] | ErrorTable | None,
        note: str = "",
    ) -> ReportPaths:
        """The failures CSVs, the workbook (unless `xlsx_errors` is None), summary.md (then
        `note`) and summary.json, last: the report is complete."""
        csvs = self.close_failures()
        xlsx = None
        if xlsx_errors is not None:
            xlsx = self.write(FAILURES_XLSX, failures_xlsx(csvs, xlsx_errors))
        text = summary_markdown(summary, reasons) + (f"\n{note}" if note else "")
        markdown = self.write(SUMMARY_MD, text.encode())
        data = json.dumps(dict(summary), indent=2, ensure_ascii=False, default=str)
        summary_json = self.write(SUMMARY_JSON, data.encode())
        return ReportPaths(self.folder, tuple(self._csvs), xlsx, summary_json, markdown)

    def write(self, name: str, data: bytes) -> str:
        """Write one more file of the report; its path or URL."""
        return self._store.write_file(self._run_id, name, data)

    def _place(self, path: Path) -> str:
        """A finished file's place in the report: uploaded from the spool when not local."""
        return str(path) if self._spool is None else self._store.upload(self._run_id, path)

    def _close(self) -> None:
        if self._out is not None:
            self._out.close()
        if self._skipped is not None:
            self._skipped.close()

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the files (a failed run leaves no summary.json) and drop the spool."""
        self._close()
        if self._spool is not None:
            self._spool.cleanup()


def write_report(
    location: str,
    run_id: str,
    files: Sequence[tuple[str, pd.DataFrame]],
    errors: Sequence[RowError] | ErrorTable,
    summary: Mapping[str, Any],
    *,
    tables: Sequence[tuple[str, pd.DataFrame]] | None = None,
    reasons: Sequence[ReasonCount] | None = None,
    skipped: pd.DataFrame | None = None,
) -> ReportPaths:
    """A whole run's report: its failure tables as one block through `ReportWriter`.

    `tables` and `reasons` may be passed when the caller already built them
    (`build_failure_tables`, `top_reasons`) for other uses, so they are built once.
    `skipped` is the formula-safe table of skipped rows.
    """
    tables = build_failure_tables(files, errors) if tables is None else tables
    reasons = top_reasons(errors) if reasons is None else reasons
    with ReportWriter(location, run_id) as writer:
        for name, table in tables:
            writer.start_file(name)
            writer.append(table)
        if skipped is not None:
            writer.append_skipped(skipped)
        return writer.finish(summary, reasons, xlsx_errors=errors)


def failures_xlsx(
    csvs: Sequence[tuple[str, Path]], errors: Sequence[RowError] | ErrorTable
) -> bytes:
    """The workbook of a failure report, read back from its CSVs."""
    tables = []
    for name, path in csvs:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=CSV_ENCODING)
        table["error_row"] = table["error_row"].astype("int64")
        tables.append((name, table))
    return render_failures_xlsx(tables, errors)
