"""Prefect artifacts of a run: the summary, a preview of the failures and a link to the report."""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, Final

import fsspec
import pandas as pd

from flows.exceptions import ConfigError
from flows.report.hosting import local_root, reports_base_url, run_page_url
from transforms.markdown import summary_markdown
from transforms.reasons import ReasonCount, mask_personal

SUMMARY_KEY: Final = "uniload-summary"
FAILURES_KEY: Final = "uniload-failures"
REPORT_KEY: Final = "uniload-report"
PREVIEW_ROWS: Final = 50
PREVIEW_COLUMNS: Final = (
    "error_file",
    "error_row",
    "error_order_id",
    "error_stage",
    "error_field",
    "error_reason",
)
MASKED_COLUMNS: Final = ("error_reason",)
SIGNED_SECONDS: Final = 7 * 24 * 3600  # the longest an S3 pre-signed URL may live
LINKED_FILES: Final = ("failures.xlsx", "failures.csv", "summary.md")


@dataclasses.dataclass(frozen=True, slots=True)
class ReportLink:
    """The report artifact's link and the description that says how to get the report."""

    url: str
    description: str


def publish_run_artifacts(
    summary: Mapping[str, Any],
    failures_preview: pd.DataFrame,
    report_location: str,
    top_reasons: Sequence[ReasonCount],
) -> None:
    """Publish the run's artifacts (call inside a flow run); e-mails and phones are masked."""
    from prefect.artifacts import (  # here: a local check (uniload validate) never loads Prefect
        create_link_artifact,
        create_markdown_artifact,
        create_table_artifact,
    )

    masked = [dataclasses.replace(r, reason=mask_personal(r.reason)) for r in top_reasons]
    create_markdown_artifact(
        markdown=summary_markdown(summary, masked),
        key=SUMMARY_KEY,
        description="uniload run summary",
    )
    create_table_artifact(
        table=preview_rows(failures_preview),
        key=FAILURES_KEY,
        description=f"The first {PREVIEW_ROWS} failed rows (the report has them all)",
    )
    run_id = str(summary.get("run_id") or posixpath.basename(report_location.rstrip("/")))
    link = report_link(report_location, run_id)
    create_link_artifact(
        link=link.url,
        link_text=f"Failure report and summary of run {run_id}",
        key=REPORT_KEY,
        description=link.description,
    )


def preview_rows(failures: pd.DataFrame) -> list[dict[str, Any]]:
    """The first failures' error columns as table rows, personal data masked."""
    columns = [c for c in PREVIEW_COLUMNS if c in failures.columns]
    preview = failures.loc[:, columns].head(PREVIEW_ROWS)
    rows = [{str(k): v for k, v in row.items()} for row in preview.to_dict(orient="records")]
    for row in rows:
        for column in MASKED_COLUMNS:
            if column in row:
                row[column] = mask_personal(str(row[column]))
    return rows


def report_link(
    location: str, run_id: str, environ: MutableMapping[str, str] = os.environ
) -> ReportLink:
    """Where a browser gets the report: a signed URL, the report server's run page, or a note."""
    problem = ""
    try:
        base_url = reports_base_url(environ)
    except ConfigError as err:
        base_url, problem = None, f" ({err})"
    folder = local_root(location)
    signed = _signed_link(location, run_id) if folder is None else None
    if signed is not None:
        return signed
    if base_url:
        return ReportLink(
            run_page_url(base_url, run_id),
            f"Page of run {run_id}: download failures.xlsx, the failure CSVs and the summary.",
        )
    if folder is None:
        fetch = _fetch_command(run_id, posixpath.dirname(location.rstrip("/")))
        return ReportLink(location, f"A folder in the report store: {fetch} copies it{problem}.")
    return ReportLink(
        folder.resolve().as_uri(),
        "A folder on the host that ran this flow: a browser cannot download from it. There, "
        f"{_fetch_command(run_id, str(folder.parent))} copies the report; or serve the reports "
        "(`uniload serve`, `uniload reports serve`) and set UNILOAD_REPORTS_URL for the flow "
        f"runs{problem}.",
    )


def _fetch_command(run_id: str, store: str) -> str:
    return f"`uniload reports download {run_id} --report-dir {store}`"


def _signed_link(location: str, run_id: str) -> ReportLink | None:
    """A pre-signed URL of the run's main report file, when the store can sign one."""
    fs, folder = fsspec.core.url_to_fs(location)
    fetch = _fetch_command(run_id, posixpath.dirname(location.rstrip("/")))
    for name in LINKED_FILES:
        path = posixpath.join(folder, name)
        try:
            if fs.exists(path):
                url = str(fs.sign(path, expiration=SIGNED_SECONDS))
                days = SIGNED_SECONDS // 86400
                return ReportLink(
                    url, f"Download of {name}, valid {days} days. Every file: {fetch}."
                )
        except (NotImplementedError, OSError, ValueError):
            return None
    return None
