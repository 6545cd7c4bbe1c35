"""`uniload` as a seller meets it: commands, exit codes, messages, and no traceback on screen."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from flows import settings
from flows.cli.main import main
from flows.post import posting
from tests.flows.runs import (
    OKER_MAP,
    SAMPLE_ORDERS,
    SAMPLE_ROWS,
    assert_run_failed,
    held,
    oker_export,
    read_csv,
    report_folder,
    run_options,
    uniload,
)
from tests.flows.sandboxes import oker_sandbox, point_at
from uniware.config import Credentials, demo_credentials
from uniware.retry import RetryPolicy
from uniware.sandbox import SandboxServer, running_sandbox

COMMANDS = ("run", "validate", "sandbox", "demo", "profiles", "reports", "ledger", "serve")
PROFILES = ("amazon", "flipkart", "oker", "shopify", "woocommerce")

pytestmark = pytest.mark.usefixtures("quiet_prefect")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with oker_sandbox(tmp_path) as server:
        yield server


@pytest.fixture
def uniware_env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at(monkeypatch, sandbox.base_url, demo_credentials())


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", out, re.MULTILINE), command


# --- exit codes -----------------------------------------------------------------------


@pytest.mark.usefixtures("prefect_harness", "uniware_env")
def test_run_exits_0_when_every_row_is_accepted(
    tmp_path: Path, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    export = oker_export(tmp_path / "orders.csv")
    result = uniload(capsys, "run", str(export), *run_options(tmp_path))
    assert result.code == 0, result.text
    assert re.search(rf"rows accepted\s+{SAMPLE_ROWS}\s+in 3 orders", result.out)
    assert sorted(held(sandbox.base_url, "orders")["ids"]) == SAMPLE_ORDERS


@pytest.mark.usefixtures("prefect_harness", "uniware_env")
def test_run_exits_2_and_prints_where_the_report_is(
    tmp_path: Path, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    export = oker_export(tmp_path / "orders.csv", {"OKI00000000301": {"Pincode": "7000"}})
    result = uniload(capsys, "run", str(export), *run_options(tmp_path))
    assert result.code == 2, result.text
    assert re.search(r"rows failed\s+2\s+in 1 orders", result.out)
    failed = read_csv(report_folder(result) / "failures.csv")
    assert [(r["Order Item ID"], r["error_row"]) for r in failed] == [
        ("OKI00000000301", "7"),
        ("OKI00000000302", "8"),
    ]
    assert sorted(held(sandbox.base_url, "orders")["ids"]) == SAMPLE_ORDERS[:2]


def _bad_map(tmp_path: Path) -> str:
    path = tmp_path / "map.json"
    path.write_text('{"OKR-BLR-01": "BLR_FC1",}', encoding="utf-8")  # a trailing comma
    return str(path)


# (id, environment changes, arguments after the export, words the message must hold)
Case = tuple[str, dict[str, str | None], list[str], tuple[str, ...]]
UNIWARE_VARIABLES = (
    "UNIWARE_BASE_URL",
    "UNIWARE_CLIENT_ID",
    "UNIWARE_MERCHANT_ID",
    "UNIWARE_SECURITY_KEY",
)
MISSING_VARIABLES: list[Case] = [
    (f"no {v}", {v: None}, [], (f"{v} is not set",)) for v in UNIWARE_VARIABLES
]
CONFIG_FAILURES: list[Case] = [
    *MISSING_VARIABLES,
    ("unknown profile", {}, ["--profile", "okr"], ("unknown profile 'okr'", ", ".join(PROFILES))),
    ("bad facility map", {}, ["--facility-map", "{bad_map}"], ("map.json", "not a JSON object")),
    ("missing facility map", {}, ["--facility-map", "{tmp}/none.json"], ("none.json not found",)),
    (
        "plain http",
        {"UNIWARE_BASE_URL": "http://uniware.example.com"},
        [],
        ("'http://uniware.example.com' is not HTTPS", "use https://"),
    ),
    ("missing input", {}, ["{tmp}/april.csv"], ("april.csv: no such file or folder",)),
]


@pytest.mark.parametrize(
    ("changes", "extra", "words"),
    [case[1:] for case in CONFIG_FAILURES],
    ids=[case[0] for case in CONFIG_FAILURES],
)
def test_run_refuses_bad_configuration_before_starting(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, str | None],
    extra: list[str],
    words: tuple[str, ...],
) -> None:
    point_at(monkeypatch, "https://uniware.example.com", demo_credentials())
    for name, value in changes.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    export = oker_export(tmp_path / "orders.csv")
    args = [a.format(tmp=tmp_path, bad_map=_bad_map(tmp_path)) for a in extra]
    result = uniload(capsys, "run", str(export), *args, "--report-dir", str(tmp_path / "r"))
    assert_run_failed(result, *words)
    assert not (tmp_path / "r").exists()  # it stopped before any run began
    assert demo_credentials().security_key not in result.text


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.usefixtures("prefect_harness")
def test_unreachable_uniware_ends_the_run_with_a_message_and_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(posting, "RetryPolicy", partial(RetryPolicy, attempts=2, base_delay=0.01))
    base_url = f"http://127.0.0.1:{closed_port()}"
    point_at(monkeypatch, base_url, demo_credentials())
    result = uniload(capsys, "run", str(oker_export(tmp_path / "o.csv")), *run_options(tmp_path))
    assert_run_failed(result, f"cannot reach Uniware at {base_url}", "run again")
    reports = list((tmp_path / "reports").iterdir())
    assert len(reports) == 1 and str(reports[0]) in result.err
    summary = json.loads((reports[0] / "summary.json").read_text(encoding="utf-8"))
    assert (summary["rows_read"], summary["rows_accepted"]) == (SAMPLE_ROWS, 0)


@pytest.mark.usefixtures("prefect_harness")
def test_refused_credentials_end_the_run_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = Credentials(client_id="other", merchant_id="other-seller", security_key="k-1-2-3")
    with running_sandbox(db_path=tmp_path / "s.db", credentials=theirs) as sandbox:
        point_at(monkeypatch, sandbox.base_url, demo_credentials())
        export = oker_export(tmp_path / "orders.csv")
        result = uniload(capsys, "run", str(export), *run_options(tmp_path))
        assert held(sandbox.base_url, "orders")["count"] == 0
    assert_run_failed(result, "refused the credentials of merchant 'demo-seller'")
    assert "UNIWARE_SECURITY_KEY" in result.err
    assert demo_credentials().security_key not in result.text


# --- profiles and ledger --------------------------------------------------------------


def test_profiles_list_names_the_bundled_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    result = uniload(capsys, "profiles", "list")
    assert result.code == 0
    assert [line.split()[0] for line in result.out.splitlines()] == list(PROFILES)


@pytest.mark.parametrize(
    "sample",
    sorted(p.name for p in settings.SAMPLES_DIR.iterdir() if p.suffix != ".json"),
)
def test_profiles_detect_names_each_samples_marketplace(
    sample: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = uniload(capsys, "profiles", "detect", str(settings.SAMPLES_DIR / sample))
    assert (result.code, result.out.strip()) == (0, sample.split("-")[0])


def test_profiles_detect_names_the_closest_profiles_for_an_unknown_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "returns.csv"
    export.write_text("Return ID,Order Id,SKU,Refund\nR1,OD1,A,10\n", encoding="utf-8")
    result = uniload(capsys, "profiles", "detect", str(export))
    assert_run_failed(result, "returns.csv", "no profile fits", "closest: ", "--profile NAME")


@pytest.mark.usefixtures("prefect_harness", "uniware_env")
def test_ledger_shows_what_a_run_delivered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = oker_export(tmp_path / "orders.csv", {"OKI00000000101": {"Pincode": "56"}})
    assert uniload(capsys, "run", str(export), *run_options(tmp_path)).code == 2
    book = ["ledger", "--ledger", str(tmp_path / "ledger.db")]

    summary = uniload(capsys, *book, "summary")
    counts = [json.loads(line) for line in summary.out.splitlines()]
    assert summary.code == 0
    assert [(c["state"], c["orders"]) for c in counts] == [("accepted", 2)]
    assert counts[0]["destination"].startswith("demo-seller@http://127.0.0.1:")

    shown = uniload(capsys, *book, "show", "OKR000000002")
    entries = [json.loads(line) for line in shown.out.splitlines()]
    assert shown.code == 0
    assert [(e["order_id"], e["state"], e["http_status"]) for e in entries] == [
        ("OKR000000002", "accepted", 200)
    ]
    assert "Order created successfully" in entries[0]["message"]
    for result in (summary, shown):
        assert demo_credentials().security_key not in result.text

    never_sent = uniload(capsys, *book, "show", "OKR000000001")  # its row failed validation
    assert_run_failed(never_sent, "order OKR000000001 is not in the ledger")


def test_ledger_lookup_in_a_missing_ledger_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = uniload(capsys, "ledger", "--ledger", str(tmp_path / "typo.db"), "summary")
    assert_run_failed(result, "no ledger at", "typo.db")
    assert not (tmp_path / "typo.db").exists()


# --- the sandbox as its own process ---------------------------------------------------


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[str]:
    """`uniload sandbox --port 0` in a subprocess; yields its base URL."""
    entry = Path(sys.executable).with_name("uniload")
    command = [str(entry)] if entry.exists() else [sys.executable, "-m", "flows.cli.main"]
    command += ["sandbox", "--port", "0", "--db", str(tmp_path / "sandbox.db")]
    command += ["--facility-map", str(OKER_MAP)]
    env = {"PATH": "/usr/bin:/bin"}  # no UNIWARE_* set: the sandbox expects the demo credentials
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("sandbox listening on "), line
        yield line.removeprefix("sandbox listening on ").strip()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0  # a clean stop on SIGTERM
        assert process.stdout is not None
        process.stdout.close()


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_samples_against_the_sandbox_process_are_posted_once(
    tmp_path: Path,
    sandbox_process: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, sandbox_process, demo_credentials())
    samples = [str(p) for p in settings.SAMPLES_DIR.iterdir() if p.suffix != ".json"]
    result = uniload(capsys, "run", *samples, *run_options(tmp_path))
    assert result.code == 2, result.text
    summary = json.loads((report_folder(result) / "summary.json").read_text(encoding="utf-8"))
    done = summary["rows_accepted"] + summary["rows_failed"] + summary["rows_skipped"]
    assert summary["rows_read"] == done
    assert summary["rows_failed"] > 0 and summary["orders_accepted"] > 0
    assert summary["rows_skipped"] > 0  # the samples' cancelled orders are not posted
    stats = held(sandbox_process, "stats")
    assert stats["accepted"] == summary["orders_accepted"]
    assert stats["requests"] == summary["orders_accepted"]
    assert stats["duplicate_ids_received"] == []


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from flows.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['serve', '--help'])\n"
        "heavy = ('pandas', 'numpy', 'prefect', 'httpx', 'sqlalchemy', 'openpyxl', 'pandera',\n"
        "         'http.server', 'uniware.sandbox.server')  # the sandbox's server: when it runs\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_validate_checks_files_without_prefect(tmp_path: Path) -> None:
    export = Path(__file__).parents[2] / "fixtures" / "exports" / "oker-orders.csv"
    code = (
        "import sys\n"
        "from flows.cli.main import main\n"
        f"code = main(['validate', {str(export)!r}, '--report-dir', {str(tmp_path)!r}])\n"
        "heavy = ('prefect', 'httpx', 'sqlalchemy')\n"
        "print('LOADED', ','.join(m for m in heavy if m in sys.modules), code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "LOADED  2"  # rows failed, nothing loaded
    (folder,) = tmp_path.iterdir()
    assert (folder / "failures.csv").is_file() and (folder / "summary.json").is_file()


# --- one unreadable file in a folder ---------------------------------------------------


@pytest.mark.usefixtures("prefect_harness", "uniware_env")
def test_one_unreadable_file_is_reported_and_the_others_are_posted(
    tmp_path: Path, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    oker_export(folder / "a-orders.csv")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)  # an image saved as .csv
    (folder / "b-photo.csv").write_bytes(png)
    result = uniload(capsys, "run", str(folder), *run_options(tmp_path))
    assert result.code == 2, result.text  # not 0: a file was left out
    assert "b-photo.csv: NOT READ" in result.out
    assert sorted(held(sandbox.base_url, "orders")["ids"]) == SAMPLE_ORDERS
    summary = json.loads((report_folder(result) / "summary.json").read_text(encoding="utf-8"))
    assert summary["files_failed"] == 1
    [gone] = [f for f in summary["files"] if f["name"] == "b-photo.csv"]
    assert "binary" in gone["error"] and gone["rows_read"] == 0

    strict = uniload(capsys, "run", str(folder), *run_options(tmp_path), "--strict")
    assert_run_failed(strict, "b-photo.csv", "binary")
