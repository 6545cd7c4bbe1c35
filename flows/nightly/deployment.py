"""The nightly deployment `upload-orders/nightly`: drain an inbox folder on a cron schedule."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows import settings
from flows.exceptions import ConfigError

DEPLOYMENT_NAME = "nightly"


def enter_home() -> dict[str, str]:
    """Pull step of prefect.yaml, run on the worker at run time: change into the home.

    The home is the worker's ``UNILOAD_HOME``, else the checkout this code is installed from
    on that host. (A ``{{ $VAR }}`` in prefect.yaml would be filled in on the deploying machine.)
    """
    home = Path(os.environ.get(settings.ENV_HOME) or settings.REPO).expanduser()
    if not home.is_dir():
        raise ConfigError(f"{settings.ENV_HOME}={home} is not a folder on this worker")
    os.chdir(home)
    return {"directory": str(home.resolve())}


def nightly_parameters(
    *, inbox: str, facility_map: str | None = None, report_dir: str | None = None
) -> dict[str, Any]:
    """Flow parameters of the nightly run (credentials come from the worker's environment)."""
    params: dict[str, Any] = {"paths": [], "inbox": inbox}
    if facility_map:
        params["facility_map"] = facility_map
    if report_dir:
        params["report_dir"] = report_dir
    return params


def nightly_deployment(
    *,
    inbox: str = settings.DEFAULT_INBOX,
    cron: str = settings.DEFAULT_CRON,
    facility_map: str | None = None,
    report_dir: str | None = None,
    timezone: str = settings.DEFAULT_TIMEZONE,
) -> Any:
    """The deployment object: upload_orders on `cron` in `timezone` (default Asia/Kolkata)."""
    from prefect.schedules import Cron

    from flows.upload import upload_orders

    return upload_orders.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(cron, timezone=timezone)],
        parameters=nightly_parameters(
            inbox=inbox, facility_map=facility_map, report_dir=report_dir
        ),
        description="Nightly: upload every settled export in the inbox, then archive it.",
        tags=["uniload", "nightly"],
    )


def next_run(cron: str, timezone: str, *, after: datetime | None = None) -> datetime:
    """When `cron` next fires in `timezone` (a ConfigError for a bad expression or zone)."""
    from cronsim import CronSim, CronSimError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(
            f"unknown time zone {timezone!r}: use an IANA name like Asia/Kolkata"
        ) from err
    start = (after or datetime.now(UTC)).astimezone(zone)
    try:
        return next(CronSim(cron, start))
    except CronSimError as err:
        raise ConfigError(f"--cron {cron!r} is not a cron expression: {err}") from err


def serve_nightly(
    *,
    inbox: str,
    cron: str,
    facility_map: str | None,
    report_dir: str | None,
    timezone: str = settings.DEFAULT_TIMEZONE,
    reports_host: str = settings.DEFAULT_REPORTS_HOST,
    reports_port: int = settings.DEFAULT_REPORTS_PORT,
) -> int:
    """Serve the nightly deployment, and the reports over HTTP, until Ctrl-C (`uniload serve`)."""
    from prefect import serve

    from flows.report.hosting import serve_beside

    following = next_run(cron, timezone)
    deployment = nightly_deployment(
        inbox=inbox, cron=cron, facility_map=facility_map, report_dir=report_dir, timezone=timezone
    )
    print(
        f"serving upload-orders/{DEPLOYMENT_NAME}: inbox {inbox}, cron {cron!r} in {timezone}; "
        f"next run {following:%Y-%m-%d %H:%M %Z}; Ctrl-C stops",
        flush=True,
    )
    reports = serve_beside(report_dir, host=reports_host, port=reports_port)
    try:
        serve(deployment)
    except KeyboardInterrupt:
        print("stopped")
    finally:
        if reports is not None:
            reports.stop()
    return 0
