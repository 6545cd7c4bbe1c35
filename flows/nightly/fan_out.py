"""Fan-out of an inbox run: a deployment run starts more runs of itself that share the inbox.

Each run of the group claims at most its share of the files that were ready when the group
was formed (``ceil(files / runs)``), by the inbox's atomic rename, so no file is taken twice
and the runs drain the inbox together on whichever workers pick them up. The runs started
here get ``fan_out=1`` (they never fan out again) and ``max_files`` (their share).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from flows.exceptions import ConfigError
from flows.nightly.inbox import ready_files

FAN_OUT_TAG: Final = "fan-out"


@dataclass(frozen=True)
class Share:
    """How a group splits the inbox: runs to start besides this one, files each claims."""

    siblings: int
    files: int | None  # None: no split, this run claims every ready file


def fan_out_size(parameter: int | None, from_env: int) -> int:
    """How many runs share the inbox: the flow parameter, else UNILOAD_FAN_OUT (default 1)."""
    size = from_env if parameter is None else parameter
    if size < 1:
        raise ConfigError(f"fan_out must be at least 1 (the runs that share the inbox), got {size}")
    return size


def split(ready: int, size: int) -> Share:
    """The share of each of ``size`` runs over ``ready`` files (never more runs than files)."""
    runs = min(size, ready)
    if runs < 2:
        return Share(siblings=0, files=None)
    return Share(siblings=runs - 1, files=math.ceil(ready / runs))


def fan_out(inbox: Path, size: int, logger: Any) -> int | None:
    """Start the rest of a group of ``size`` runs over the inbox; the files this run may claim."""
    from prefect.runtime import deployment

    if size < 2:
        return None
    if not deployment.id:
        logger.warning("fan-out %d ignored: only a deployment run can start runs of itself", size)
        return None
    share = split(len(ready_files(inbox)), size)
    if share.files is None:
        return None
    started = start_siblings(str(deployment.id), share, logger)
    logger.info(
        "fan-out: started %d more run(s) of this deployment (%s), each claiming up to %d file(s)",
        len(started),
        ", ".join(started),
        share.files,
    )
    return share.files * (1 + share.siblings - len(started))  # a run that did not start: ours


def start_siblings(deployment_id: str, share: Share, logger: Any) -> list[str]:
    """Create the group's other runs (not waited for); the ids of those the server accepted."""
    from prefect.deployments import run_deployment
    from prefect.runtime import flow_run

    parameters = {**(flow_run.parameters or {}), "fan_out": 1, "max_files": share.files}
    started = []
    for _ in range(share.siblings):
        try:
            run: Any = run_deployment(  # a FlowRun (sync here: the flow is synchronous)
                deployment_id,
                parameters=parameters,
                timeout=0,
                as_subflow=False,
                tags=[FAN_OUT_TAG],
            )
        except Exception as err:  # the server refused: this run takes that share itself
            logger.warning("fan-out: could not start a run (%s); this run takes its files", err)
            continue
        started.append(str(run.id))
    return started
