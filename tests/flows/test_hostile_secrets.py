"""Secrets stay secret: a canary key is checked at start-up and scrubbed from every output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.flows.runs import (
    oker_export,
    prefect_artifacts,
    report_folder,
    run_options,
    uniload,
)
from tests.flows.sandboxes import point_at
from tests.uniware.hostile_server import echo, hostile_server
from uniware.config import Credentials, UniwareConfig
from uniware.exceptions import ConfigurationError, UniwareError
from uniware.redact import redact

pytestmark = pytest.mark.usefixtures("quiet_prefect")

CANARY = "CANARY-77f1-h0st1le-k3y"
CANARY_CREDENTIALS = Credentials(client_id="c1", merchant_id="m1", security_key=CANARY)


@pytest.mark.parametrize(
    "key",
    [f"{CANARY}\r\nX-Injected: 1", f"{CANARY}\n", f"{CANARY}\x00", f"{CANARY}é", f"{CANARY}\u200b"],
    ids=["crlf", "lf", "nul", "accent", "zero-width"],
)
def test_a_key_that_cannot_be_a_header_is_refused_without_showing_it(key: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Credentials(client_id="c1", merchant_id="m1", security_key=key)
    message = str(refused.value)
    assert "UNIWARE_SECURITY_KEY" in message
    assert "CANARY" not in message
    assert "\n" not in message and "\r" not in message


@pytest.mark.usefixtures("prefect_harness")
def test_the_cli_refuses_a_key_with_a_line_break_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, "http://127.0.0.1:9", CANARY_CREDENTIALS)
    monkeypatch.setenv("UNIWARE_SECURITY_KEY", f"{CANARY}\r\nsecond-line")
    result = uniload(capsys, "run", str(oker_export(tmp_path / "o.csv")), *run_options(tmp_path))
    assert result.code == 1
    assert "Traceback" not in result.text and "CANARY" not in result.text
    assert result.err.count("\n") == 1 and "UNIWARE_SECURITY_KEY" in result.err


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://admin:CANARYPASS@127.0.0.1:8765", "user name or password"),
        ("https://CANARYPASS@uniware.example", "user name or password"),
        ("http://127.0.0.1:99999", "a port from 0 to 65535"),
        ("http://[::1", "UNIWARE_BASE_URL"),
    ],
)
def test_bad_base_urls_are_one_line_messages_without_the_password(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    words: str,
) -> None:
    point_at(monkeypatch, url, CANARY_CREDENTIALS)
    result = uniload(capsys, "run", str(oker_export(tmp_path / "o.csv")), *run_options(tmp_path))
    assert result.code == 1, result.text
    assert words in result.err and "CANARY" not in result.text and "Traceback" not in result.text
    assert result.err.count("\n") == 1


@pytest.mark.usefixtures("prefect_harness")
def test_a_server_echoing_the_key_leaves_no_trace_of_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with hostile_server(echo) as server:
        point_at(monkeypatch, server.base_url, CANARY_CREDENTIALS)
        export = oker_export(tmp_path / "orders.csv")
        result = uniload(capsys, "run", str(export), *run_options(tmp_path))
    assert result.code == 2, result.text
    assert any(CANARY.encode() in request for request in server.requests)  # it was echoed
    failures = (report_folder(result) / "failures.csv").read_text(encoding="utf-8-sig")
    assert "INVALID_REQUEST: could not process POST" in failures  # the message itself is kept
    seen = [result.text, caplog.text, json.dumps(prefect_artifacts(), default=str)]
    seen += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()]
    leaks = [
        text[text.find(CANARY) - 80 : text.find(CANARY) + 40] for text in seen if CANARY in text
    ]
    assert not leaks


def test_every_uniware_error_and_url_user_info_is_scrubbed() -> None:
    assert CANARY_CREDENTIALS.security_key == CANARY  # registered on creation
    error = UniwareError(f"cannot reach Uniware (Illegal header value b'{CANARY}')")
    assert CANARY not in str(error) and "***" in str(error)
    assert (
        redact("see https://bob:pw@host/x and ftp://a@b")
        == "see https://***@host/x and ftp://***@b"
    )


def test_the_environment_check_never_prints_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "UNIWARE_BASE_URL": "https://u:CANARYPASS@uniware.example",
        "UNIWARE_CLIENT_ID": "c1",
        "UNIWARE_MERCHANT_ID": "m1",
        "UNIWARE_SECURITY_KEY": CANARY,
    }
    with pytest.raises(ConfigurationError) as refused:
        UniwareConfig.from_env(env)
    assert "CANARY" not in str(refused.value)
