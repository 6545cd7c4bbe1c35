"""Prefect artifacts of a run: summary, failures preview and report link, personal data masked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

import fsspec
import pandas as pd
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.runtime import flow_run

from flows.report.artifacts import SIGNED_SECONDS, preview_rows, publish_run_artifacts, report_link
from transforms.reasons import ReasonCount

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
def test_a_flow_run_publishes_summary_failures_and_report_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNILOAD_REPORTS_URL", "http://reports-host:8787/")
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
    link = artifacts["uniload-report"]
    assert "(http://reports-host:8787/runs/run-artifacts/)" in str(link.data)
    assert "download failures.xlsx" in str(link.description)


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


def test_with_a_reports_url_the_link_is_the_run_page_on_the_report_server() -> None:
    env = {"UNILOAD_REPORTS_URL": "https://reports.example.in/uniload/"}
    link = report_link("/srv/reports/r 1", "r 1", env)
    assert link.url == "https://reports.example.in/uniload/runs/r%201/"


def test_without_a_reports_url_a_local_folder_link_says_how_to_get_the_report() -> None:
    link = report_link("/srv/reports/r1", "r1", {})
    assert link.url == "file:///srv/reports/r1"
    assert "a browser cannot download from it" in link.description
    assert "`uniload reports download r1 --report-dir /srv/reports`" in link.description


def test_a_file_url_store_is_a_local_folder() -> None:
    link = report_link("file:///srv/reports/r1", "r1", {})
    assert link.url == "file:///srv/reports/r1"
    assert "--report-dir /srv/reports`" in link.description


def test_a_reports_url_that_is_no_web_address_is_named_not_linked() -> None:
    link = report_link("/srv/reports/r1", "r1", {"UNILOAD_REPORTS_URL": "reports-host:8787"})
    assert link.url == "file:///srv/reports/r1"
    assert "UNILOAD_REPORTS_URL='reports-host:8787' is not an http(s) address" in link.description


class SigningMemoryFS(MemoryFileSystem):  # type: ignore[misc]  # fsspec has no type hints
    """An in-memory store that signs URLs the way S3 does (a query string with an expiry)."""

    protocol = ("signingmem",)

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        return str(MemoryFileSystem._strip_protocol(str(path).removeprefix("signingmem://")))

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        return f"https://store.example/{path.lstrip('/')}?X-Amz-Expires={expiration}&sig=abc"


def test_a_store_that_signs_links_a_pre_signed_download_of_the_workbook() -> None:
    fsspec.register_implementation("signingmem", SigningMemoryFS, clobber=True)
    fs = fsspec.filesystem("signingmem")
    fs.pipe_file("/bucket/reports/r9/failures.xlsx", b"PK")
    link = report_link("signingmem://bucket/reports/r9", "r9", {})
    assert link.url == (
        f"https://store.example/bucket/reports/r9/failures.xlsx?X-Amz-Expires={SIGNED_SECONDS}&sig=abc"
    )
    assert "valid 7 days" in link.description
    assert (
        "uniload reports download r9 --report-dir signingmem://bucket/reports" in link.description
    )


def test_a_store_that_cannot_sign_links_its_own_url_and_says_how_to_download() -> None:
    fsspec.filesystem("memory").pipe_file("/reports/r8/failures.xlsx", b"PK")
    link = report_link("memory://reports/r8", "r8", {})
    assert link.url == "memory://reports/r8"
    assert "`uniload reports download r8 --report-dir memory://reports`" in link.description
    served = report_link("memory://reports/r8", "r8", {"UNILOAD_REPORTS_URL": "http://h:1"})
    assert served.url == "http://h:1/runs/r8/"
