"""The nightly deployment `upload-orders/nightly`: drain an inbox folder on a cron schedule."""

from __future__ import annotations

from typing import Any

from flows import settings

DEPLOYMENT_NAME = "nightly"


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
    timezone: str | None = None,
) -> Any:
    """The deployment object: upload_orders on `cron` (local time unless `timezone`)."""
    from prefect.schedules import Cron

    from flows.upload import upload_orders

    schedule = Cron(cron, timezone=timezone or _local_zone())
    return upload_orders.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[schedule],
        parameters=nightly_parameters(
            inbox=inbox, facility_map=facility_map, report_dir=report_dir
        ),
        description="Nightly: upload every settled export in the inbox, then archive it.",
        tags=["uniload", "nightly"],
    )


def _local_zone() -> str:
    from tzlocal import get_localzone_name

    return get_localzone_name() or "UTC"


def serve_nightly(
    *,
    inbox: str,
    cron: str,
    facility_map: str | None,
    report_dir: str | None,
    reports_host: str = settings.DEFAULT_REPORTS_HOST,
    reports_port: int = settings.DEFAULT_REPORTS_PORT,
) -> int:
    """Serve the nightly deployment, and the reports over HTTP, until Ctrl-C (`uniload serve`)."""
    from prefect import serve

    from flows.report_hosting import serve_beside

    deployment = nightly_deployment(
        inbox=inbox, cron=cron, facility_map=facility_map, report_dir=report_dir
    )
    reports = serve_beside(report_dir, host=reports_host, port=reports_port)
    print(f"serving upload-orders/{DEPLOYMENT_NAME}: inbox {inbox}, cron {cron!r}; Ctrl-C stops")
    try:
        serve(deployment)
    except KeyboardInterrupt:
        print("stopped")
    finally:
        if reports is not None:
            reports.stop()
    return 0
