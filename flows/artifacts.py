"""Prefect artifacts of a run: the summary, a preview of the failures and a link to the report."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import pandas as pd

from transforms.report import ReasonCount, mask_personal, summary_markdown

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
    create_link_artifact(
        link=report_url(report_location),
        link_text=f"Failure report and summary of run {summary.get('run_id', '')}",
        key=REPORT_KEY,
        description="Folder holding failures.csv, failures.xlsx, summary.json and summary.md",
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


def report_url(location: str) -> str:
    """A link to the report folder: the URL itself, or a file:// URL for a local folder."""
    if "://" in location:
        return location
    return Path(location).resolve().as_uri()
