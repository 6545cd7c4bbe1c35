"""Serving reports beside `uniload serve`, and alone with `uniload reports serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import prefect
import pytest

from flows import settings
from flows.exceptions import ConfigError
from flows.nightly.deployment import serve_nightly
from flows.report.hosting import serve_beside
from tests.prefect_server import free_port


def test_serve_beside_serves_the_store_and_points_the_runs_links_at_it(tmp_path: Path) -> None:
    (tmp_path / "reports" / "r1").mkdir(parents=True)
    env = {settings.ENV_REPORT_DIR: str(tmp_path / "reports")}
    said: list[str] = []
    server = serve_beside(None, port=free_port(), environ=env, say=said.append)
    assert server is not None
    try:
        assert env[settings.ENV_REPORTS_URL] == server.url
        assert said == [
            f"reports: {server.url}/ serves {tmp_path / 'reports'} read-only; "
            f"links in the UI use {server.url}"
        ]
        assert 'href="runs/r1/"' in httpx.get(f"{server.url}/").text
    finally:
        server.stop()


def test_the_operators_reports_url_is_kept(tmp_path: Path) -> None:
    env = {settings.ENV_REPORTS_URL: "https://reports.example.in"}
    said: list[str] = []
    server = serve_beside(str(tmp_path), port=free_port(), environ=env, say=said.append)
    assert server is not None
    server.stop()
    assert env[settings.ENV_REPORTS_URL] == "https://reports.example.in"
    assert said[0].endswith("links in the UI use https://reports.example.in")


def test_a_public_address_is_served_with_a_warning(tmp_path: Path) -> None:
    said: list[str] = []
    server = serve_beside(
        str(tmp_path), host="0.0.0.0", port=free_port(), environ={}, say=said.append
    )
    assert server is not None
    server.stop()
    assert server.url.startswith(f"http://{socket.gethostname()}:")
    assert "customers' personal data" in said[1]


def test_port_zero_or_a_remote_store_serve_nothing(tmp_path: Path) -> None:
    said: list[str] = []
    assert serve_beside(str(tmp_path), port=0, environ={}, say=said.append) is None
    assert serve_beside("s3://bucket/reports", environ={}, say=said.append) is None
    assert said == [
        "reports: not served here (--reports-port 0); links use the store itself",
        "reports: not served here (s3://bucket/reports is not a local folder); "
        "links use the store itself",
    ]


def test_a_taken_port_or_a_bad_reports_url_stops_serve_with_the_fix(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            ConfigError, match=f"Cannot serve reports on 127.0.0.1:{port}: .*--reports-port 0"
        ):
            serve_beside(str(tmp_path), port=port, environ={}, say=print)
    with pytest.raises(ConfigError, match="is not an http\\(s\\) address"):
        serve_beside(str(tmp_path), environ={settings.ENV_REPORTS_URL: "ftp://x"}, say=print)


def test_uniload_serve_starts_the_report_server_for_its_flow_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(settings.ENV_REPORTS_URL, raising=False)
    seen: dict[str, Any] = {}

    def fake_serve(*deployments: Any) -> None:  # Prefect's serve loop, without a server
        seen["url"] = os.environ[settings.ENV_REPORTS_URL]
        seen["index"] = httpx.get(f"{seen['url']}/").text
        seen["deployments"] = [d.name for d in deployments]

    monkeypatch.setattr(prefect, "serve", fake_serve)
    port = free_port()
    code = serve_nightly(
        inbox=str(tmp_path / "inbox"),
        cron="0 2 * * *",
        facility_map=None,
        report_dir=str(tmp_path / "reports"),
        reports_port=port,
    )
    assert code == 0
    assert seen == {
        "url": f"http://127.0.0.1:{port}",
        "index": seen["index"],
        "deployments": ["nightly"],
    }
    assert "No run reports yet." in seen["index"]
    assert (
        f"reports: http://127.0.0.1:{port}/ serves {tmp_path / 'reports'}"
        in capsys.readouterr().out
    )
    with pytest.raises(httpx.TransportError):  # stopped with the serve loop
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_uniload_reports_serve_prints_its_address_and_serves(tmp_path: Path) -> None:
    (tmp_path / "r7").mkdir()
    (tmp_path / "r7" / "summary.json").write_text('{"run_id": "r7", "rows_failed": 3}')
    command = [sys.executable, "-m", "flows.cli.main", "reports", "serve", "--port", "0"]
    env = {**os.environ, "PYTHONPATH": str(settings.REPO)}
    process = subprocess.Popen(
        [*command, "--report-dir", str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"serving {tmp_path} read-only on http://127.0.0.1:")
        url = line.split(" on ")[1].split(" ")[0]
        page = httpx.get(f"{url}runs/r7/", timeout=10)
        assert "<th>rows failed</th><td>3</td>" in page.text
    finally:
        process.terminate()
        process.wait(timeout=10)
