"""Prefect artifacts of a run: summary, failures preview and report link, personal data masked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

import pandas as pd
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.runtime import flow_run

from flows.artifacts import preview_rows, publish_run_artifacts, report_url
from transforms.report import ReasonCount

SUMMARY: dict[str, Any] = {
    "run_id": "run-artifacts",
    "rows_read": 60,
    "rows_failed": 60,
    "rows_failed_by_stage": {"validate": 60},
    "files": [{"name": "oker.csv", "rows_read": 60, "rows_failed": 60, "profile": "oker"}],
    "destination": "https://user:hunter2@uniware.example",
}
REASONS = [ReasonCount("post", "", "customer asha@example.com is blocked", 3)]


def _failures(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Phone": ["9876543210"] * rows,
            "error_file": ["oker.csv"] * rows,
            "error_row": list(range(2, rows + 2)),
            "error_stage": ["validate"] * rows,
            "error_field": ["Phone"] * rows,
            "error_reason": ["Phone: 9876543210 is not reachable"] * rows,
            "error_order_id": [f"O{i}" for i in range(rows)],
        }
    )


@flow
def publish(report: str) -> str:
    publish_run_artifacts(SUMMARY, _failures(60), report, REASONS)
    return str(flow_run.id)


async def _read(run_id: str) -> dict[str, Any]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(run_id)]))
        )
    return {str(a.key): a for a in found}


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_flow_run_publishes_summary_failures_and_report_link(tmp_path: Path) -> None:
    run_id = publish(str(tmp_path / "reports" / "run-artifacts"))
    artifacts = asyncio.run(_read(run_id))
    assert set(artifacts) == {"uniload-summary", "uniload-failures", "uniload-report"}
    summary = str(artifacts["uniload-summary"].data)
    assert "| oker.csv | oker | 60 | 60 |" in summary
    assert "a***@example.com" in summary
    assert "asha@" not in summary and "hunter2" not in summary
    table = str(artifacts["uniload-failures"].data)
    assert "O49" in table and "O50" not in table
    assert "********10 is not reachable" in table
    assert "9876543210" not in table
    link = str(artifacts["uniload-report"].data)
    assert (tmp_path / "reports" / "run-artifacts").as_uri() in link


def test_the_preview_keeps_50_rows_and_only_error_columns_masked() -> None:
    rows = preview_rows(_failures(80))
    assert len(rows) == 50
    assert list(rows[0]) == [
        "error_file",
        "error_row",
        "error_order_id",
        "error_stage",
        "error_field",
        "error_reason",
    ]
    assert rows[0]["error_reason"] == "Phone: ********10 is not reachable"
    assert rows[0]["error_row"] == 2
    assert preview_rows(_failures(0)) == []


def test_report_links_point_at_the_folder() -> None:
    assert report_url("s3://bucket/reports/r1") == "s3://bucket/reports/r1"
    assert report_url("/srv/reports/r1") == "file:///srv/reports/r1"
