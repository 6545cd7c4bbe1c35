"""One block of whole orders through validate -> group/build -> post -> its failed rows.

A run block by block (flows.streaming) calls `run_block_task` per block; a block keeps
only what its report needs (transforms.tally.BlockOutcome), never the lines or payloads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.cli.progress import StageProgress
from flows.config import RunOptions
from flows.pipeline import group_and_build, validate_exports
from flows.read.exports import RawExport
from flows.report.finish import NOT_SENT
from schemas.profile import Profile
from transforms.chunks import Block
from transforms.failure_table import failure_table, neutralise_formulas, skipped_table
from transforms.lines import FAILED
from transforms.orders import mark_failed
from transforms.outcomes import count_run, post_errors
from transforms.payloads import Payloads
from transforms.tally import BlockOutcome, zero_counts
from uniware.config import UniwareConfig
from uniware.delivery import Delivery
from uniware.exceptions import UniwareError


@dataclass(frozen=True)
class BlockContext:
    """What every block of one input file shares."""

    file: str
    headers: tuple[str, ...]
    profile: Profile
    options: RunOptions
    facility_map: dict[str, str] | None
    config: UniwareConfig | None
    run_id: str
    now: datetime
    progress: StageProgress  # the run's reporter: blocks advance its stages


def run_block(
    block: Block, export: RawExport, ctx: BlockContext, stopped: str | None
) -> BlockOutcome:
    """One block through validate -> group/build -> post (unless stopped) -> its failed rows."""
    held_ids = {e.order_id for e in block.errors}
    if len(block.sound):
        done = run_orders(replace(export, table=block.sound), ctx, stopped, held_ids)
    else:
        done = BlockOutcome(zero_counts(), [], pd.DataFrame(), Counter(), 0, stopped)
        done.counts["orders_failed"] = len(held_ids)
    counts = done.counts
    for key in ("rows_read", "rows_failed"):
        counts[key] += len(block.held_out)
    counts["rows_failed_by_stage"]["group"] += len(block.held_out)
    errors = [*block.errors, *done.errors]
    failures = neutralise_formulas(failure_table(block.table, errors, ctx.file))
    return replace(done, counts=counts, errors=errors, failures=failures)


def run_orders(
    export: RawExport, ctx: BlockContext, stopped: str | None, held_ids: set[str]
) -> BlockOutcome:
    """Whole orders through validate -> group/build -> post; `held_ids` failed already."""
    profiles = {ctx.profile.name: ctx.profile}
    validated = validate_exports([export], profiles, profile_name=ctx.profile.name, now=ctx.now)
    target_zone, facility_map = ctx.options.target_zone, ctx.facility_map
    grouped = group_and_build(validated, facility_map=facility_map, target_zone=target_zone)
    validated, built = grouped.validated, grouped.built
    deliveries, stopped = post_block(built.payloads, ctx, stopped)
    outcomes = {d.order_id: (d.outcome, d.message) for d in deliveries}
    if ctx.config is not None:  # an order with no answer at all is never silently dropped
        for order_id in built.payloads.order_ids:
            outcomes.setdefault(order_id, ("not_sent", NOT_SENT))
    errors = validated.errors + post_errors(validated.lines, outcomes)
    lines = mark_failed(validated.lines, errors)
    orders = len(built.payloads)
    counts = count_run(lines, errors, outcomes, orders_built=orders, dry_run=ctx.options.dry_run)
    failed_ids = set(lines.loc[lines[FAILED] & lines["order_id"].notna(), "order_id"])
    counts["orders_failed"] = len(failed_ids | held_ids)
    sent = sum(1 for d in deliveries if d.outcome in ("accepted", "failed"))
    skipped = neutralise_formulas(skipped_table([(ctx.file, export.table)], lines))
    return BlockOutcome(counts, errors, pd.DataFrame(), validated.warnings, sent, stopped, skipped)


@task(name="run-block", cache_policy=NO_CACHE, persist_result=False)
def run_block_task(
    block: Block, export: RawExport, ctx: BlockContext, stopped: str | None
) -> BlockOutcome:
    """Validate, build, post and report one block of whole orders."""
    outcome = run_block(block, export, ctx, stopped)
    ctx.progress.advance("validate", len(block.table))
    return outcome


def post_block(
    payloads: Payloads, ctx: BlockContext, stopped: str | None
) -> tuple[list[Delivery], str | None]:
    """Post a block's orders; after a stop, report them not sent without posting."""
    if ctx.config is None or not payloads:
        return [], stopped
    if stopped:
        return [Delivery(i, "not_sent", NOT_SENT) for i in payloads.order_ids], stopped
    from flows.post.posting import post_payloads

    seen: list[Delivery] = []
    try:
        post_payloads(
            payloads,
            config=ctx.config,
            options=ctx.options,
            run_id=ctx.run_id,
            on_delivery=seen.append,
        )
    except UniwareError as err:
        stopped = str(err)
    ctx.progress.advance("post", len(seen))
    return seen, stopped
