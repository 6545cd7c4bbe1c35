"""`uniload demo`: the samples posted to a fresh local sandbox, which is stopped after."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from flows import settings
from flows.cli.commands import EXIT_OK, run_upload
from flows.config import load_facility_map


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def demo(args: argparse.Namespace) -> int:
    """`uniload demo` (`make run`): the samples against a fresh local sandbox, then stop it."""
    import httpx

    from uniware.config import demo_credentials
    from uniware.sandbox import running_sandbox

    credentials = demo_credentials()
    facility_map = load_facility_map(str(settings.OKER_FACILITY_MAP))
    with (
        tempfile.TemporaryDirectory(prefix="uniload-demo-") as tmp,
        running_sandbox(
            db_path=Path(tmp) / "sandbox.db", facility_map=facility_map, credentials=credentials
        ) as sandbox,
    ):
        print(f"sandbox listening on {sandbox.base_url}")
        env = {
            "UNIWARE_BASE_URL": sandbox.base_url,
            "UNIWARE_CLIENT_ID": credentials.client_id,
            "UNIWARE_MERCHANT_ID": credentials.merchant_id,
            "UNIWARE_SECURITY_KEY": credentials.security_key,
        }
        given = {
            "facility_map": str(settings.OKER_FACILITY_MAP),
            "ledger": str(Path(tmp) / "ledger.db"),
        }
        with _environment(env):
            code, summary = run_upload([str(settings.SAMPLES_DIR)], given, dry_run=False)
        held = httpx.get(f"{sandbox.base_url}/_sandbox/orders", timeout=30).json()["count"]
        print(f"sandbox now holds {held} orders; stopping it")
    if summary is None:
        return code
    # The samples hold deliberately bad rows: failed rows are the demonstration, not a failure.
    report = Path(str(summary["report"]))
    print(
        f"demo done: {summary['rows_accepted']} rows accepted, {summary['rows_failed']} failed "
        f"on purpose, {summary.get('rows_skipped', 0)} skipped (cancelled on the marketplace: "
        f"skipped.csv). Open {report / 'failures.xlsx'} to see each bad cell and its reason."
    )
    return EXIT_OK
