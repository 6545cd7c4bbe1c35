"""An inbox run: claim the settled files, run them, then archive them (or release on failure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.cli.progress import StageProgress
from flows.config import RunOptions, Settings
from flows.exceptions import ConfigError, UniloadError, UnreadableExport
from flows.naming import name_this_run
from flows.nightly.fan_out import fan_out as start_fan_out
from flows.nightly.fan_out import fan_out_size
from flows.nightly.inbox import (
    claim_files,
    file_away,
    finish_claim,
    release_claim,
    release_stale_claims,
)
from flows.pipeline import Unread, read_exports
from flows.preflight import preflight
from flows.read.exports import RawExport
from flows.read.profiles import load_profiles
from flows.read.sources import block_rows_for
from flows.report.finish import nothing_to_do
from flows.streaming import stream_exports
from uniware.config import UniwareConfig

RunExports = Callable[
    [list[RawExport], RunOptions, Any, str, list[Unread], StageProgress], dict[str, Any]
]


@dataclass(frozen=True)
class Inbox:
    """The inbox folder of a run, its group size and how many files the run claims."""

    folder: Path
    env: Settings
    fan_out: int = 1  # above 1: this run first starts the rest of its group
    limit: int | None = None  # files this run claims (None: every settled file)


def inbox_split(
    paths: list[str] | None, fan_out: int | None, max_files: int | None, env: Settings
) -> tuple[int, int | None]:
    """An inbox run's group size and claim limit (None: every ready file), checked."""
    if paths and (fan_out not in (None, 1) or max_files is not None):
        raise ConfigError(
            "fan_out and max_files split an inbox: a run given paths takes exactly those files"
        )
    if max_files is not None and max_files < 1:
        raise ConfigError(f"max_files must be at least 1 (files this run claims), got {max_files}")
    return fan_out_size(fan_out, env.fan_out), max_files


@task(name="read-inbox", cache_policy=NO_CACHE, persist_result=False)
def read_inbox_task(
    claimed: list[Path], inbox: Path, options: RunOptions, run_id: str
) -> tuple[list[RawExport], list[Unread]]:
    """Read the claimed inbox files; an unreadable one goes to failed/ and is counted."""
    profiles = load_profiles()
    exports, unread = [], []
    for path in claimed:
        try:
            exports += read_exports([str(path)], profiles, sheet=options.sheet).exports
        except UniloadError as err:
            moved = file_away(path, inbox=inbox, run_id=run_id, to="failed", note=str(err))
            get_run_logger().warning("%s: unreadable, moved to %s", path.name, moved)
            unread.append(Unread(path.name, str(err)))
    return exports, unread


def run_inbox(
    inbox: Inbox,
    options: RunOptions,
    run_id: str,
    logger: Any,
    progress: StageProgress,
    run_exports: RunExports,
) -> dict[str, Any]:
    """Claim the inbox's settled files, run them, then archive them (or release on failure).

    ``fan_out`` above 1 first starts the rest of the group (flows.nightly.fan_out), each run then
    claiming its share. Small files run whole (``run_exports``); when one is large, all run
    block by block (flows.streaming). Either way the stages report to ``progress``.
    """
    folder, limit = inbox.folder, inbox.limit
    released = release_stale_claims(folder, timeout_seconds=inbox.env.claim_timeout_seconds)
    if released:
        logger.warning("released %d file(s) of runs that died: %s", len(released), released)
    if limit is None and folder.is_dir():
        limit = start_fan_out(folder, inbox.fan_out, logger)
    claimed = claim_files(folder, run_id=run_id, limit=limit) if folder.is_dir() else []
    if not claimed:
        logger.info("inbox %s: no settled export files, nothing to do", folder)
        return nothing_to_do(run_id, options, source=str(folder))
    name_this_run([p.name for p in claimed])
    logger.info("inbox %s: claimed %s", folder, ", ".join(p.name for p in claimed))
    block_rows = block_rows_for(
        claimed, options.chunk_rows, above_bytes=inbox.env.stream_above_bytes
    )
    try:
        if block_rows is None:
            exports, unread = read_inbox_task(claimed, folder, options, run_id)
            if not exports:  # every claimed file was unreadable: each went to failed/
                raise UnreadableExport("\n".join(u.error for u in unread))
            summary = run_exports(exports, options, logger, run_id, unread, progress)
            done = [(e.path, e.name) for e in exports]
        else:
            preflight(options, run_id)
            config = None if options.dry_run else UniwareConfig.from_env()
            summary = stream_exports(
                claimed,
                options,
                run_id=run_id,
                config=config,
                block_rows=block_rows,
                progress=progress,
                inbox=True,
            )
            done = [(p, p.name) for p in claimed]
    except BaseException:
        release_claim(folder, run_id=run_id)  # the next run takes them again
        raise
    return file_all_away(folder, run_id, summary, done)


def file_all_away(
    folder: Path, run_id: str, summary: dict[str, Any], done: list[tuple[Path, str]]
) -> dict[str, Any]:
    """Archive each run file; one left out (no profile fits, unreadable) goes to failed/."""
    refused = {str(f["name"]): str(f["error"]) for f in summary["files"] if f.get("error")}
    for path, name in done:
        if name in refused:  # not processed: failed/, with its reason beside it
            file_away(path, inbox=folder, run_id=run_id, to="failed", note=refused[name])
        else:
            file_away(path, inbox=folder, run_id=run_id, to="archive")
    finish_claim(folder, run_id=run_id)
    if len(refused) == len(done) and not summary["rows_read"]:
        raise UnreadableExport("\n".join(refused.values()))  # none readable (block by block)
    return summary
