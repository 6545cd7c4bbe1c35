"""`uniload validate`: a run's pure steps on local files, with no Prefect server or flow run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flows.cli.progress import StageProgress
from flows.config import RunOptions, load_facility_map
from flows.pipeline import group_and_build, read_exports, validate_exports
from flows.read.profiles import load_profiles
from flows.report.finish import RunReport, finish_run


def check_files(
    paths: Sequence[str], options: RunOptions, progress: StageProgress
) -> dict[str, Any]:
    """Read, validate, group and build (posting nothing); write the report; return the summary.

    The same functions the flow's tasks wrap, so what this calls clean a run can post.
    """
    started, clock = datetime.now(UTC), time.perf_counter()
    facility_map = load_facility_map(options.facility_map)
    profiles = load_profiles()
    progress.start("read")
    exports = read_exports(list(paths), profiles, sheet=options.sheet).exports
    progress.finish("read")
    progress.start("validate")
    validated = validate_exports(exports, profiles, profile_name=options.profile)
    progress.finish("validate")
    progress.start("build")
    grouped = group_and_build(validated, facility_map=facility_map, target_zone=options.target_zone)
    progress.finish("build")
    run = RunReport(
        run_id=uuid.uuid4().hex,
        options=options,
        validated=grouped.validated,
        built=grouped.built,
        deliveries=[],
        started=started,
        seconds=time.perf_counter() - clock,
        destination=None,
    )
    progress.start("report")
    summary = finish_run(run, publish=False)
    progress.finish("report")
    return summary
