"""Flow runs: names a person recognises in the Prefect UI (the input and the day), and ids."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

MAX_NAME: Final = 80


def describe_inputs(names: Sequence[str], *, when: datetime | None = None) -> str:
    """``oker-orders.csv +2 · 2026-11-27`` (first input, how many more, the day)."""
    day = (when or datetime.now().astimezone()).strftime("%Y-%m-%d")
    if not names:
        return f"inbox · {day}"
    first = Path(names[0]).name or names[0]
    more = f" +{len(names) - 1}" if len(names) > 1 else ""
    head = first if len(first) <= MAX_NAME else first[: MAX_NAME - 1] + "…"
    return f"{head}{more} · {day}"


def current_run_id() -> str:
    """The Prefect flow run id when there is one, else a fresh id."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return str(run_id) if run_id else uuid.uuid4().hex


def run_name() -> str:
    """The name of a flow run of ``upload-orders``, from its parameters (Prefect calls this)."""
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    paths = [str(p) for p in params.get("paths") or []]
    name = describe_inputs(paths)
    if params.get("dry_run"):
        name += " · dry run"
    return name


def name_this_run(files: Sequence[str]) -> None:
    """Rename the current flow run once an inbox run knows which files it claimed."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    if not flow_run.id:
        return
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run.id, name=describe_inputs(list(files)))
