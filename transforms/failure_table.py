"""The failure report as tables: failed and skipped rows with their error columns, formula-safe."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from transforms.errors import STAGES, ErrorTable, RowError, Stage, factorize_together

ERROR_PREFIX: Final = "error_"
ERROR_COLUMNS: Final = (
    "error_file",
    "error_row",
    "error_stage",
    "error_field",
    "error_reason",
    "error_order_id",
)
JOIN: Final = "; "  # reasons of one cell in a cell note
# error_field and error_reason hold one error per line, aligned: line i of error_field is
# the column of line i of error_reason ("-" when the error names none). A line break
# never occurs inside an entry (removed), so the two lists cannot be split apart wrongly.
LINE: Final = "\n"
NO_FIELD: Final = "-"
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class RowFailure:
    """Every reason one source row failed, merged into the report's error columns.

    `fields[i]` is the column `reasons[i]` is about (`NO_FIELD` for none): one per error.
    """

    stage: Stage
    fields: tuple[str, ...]
    reasons: tuple[str, ...]
    order_id: str


def group_row_errors(errors: Iterable[RowError] | ErrorTable, file: str) -> dict[int, RowFailure]:
    """Merge the errors of one file by source row: earliest stage, fields and reasons in order."""
    merged = merge_rows(ErrorTable.of(errors), file)
    return {
        int(row): RowFailure(stage, tuple(fields.split(LINE)), tuple(reasons.split(LINE)), oid)
        for row, stage, fields, reasons, oid in merged.itertuples(name=None)
    }


def merge_rows(errors: ErrorTable, file: str) -> pd.DataFrame:
    """The errors of one file merged per source row (index), by column operations.

    Columns: stage (the earliest), fields and reasons (one line per distinct pair, in stage
    then error order, aligned), order_id (the first one named).
    """
    frame = errors.frame
    mine = frame[frame["file"] == file]
    if not len(mine):
        return pd.DataFrame(
            {c: pd.Series(dtype=object) for c in MERGED}, index=pd.Index([], dtype="int64")
        )
    mine = mine[["row", "stage", "field", "reason", "order_id"]]  # only what the report shows
    rank = mine["stage"].map(_STAGE_RANK)
    ordered = mine.assign(_rank=rank).sort_values(["row", "_rank"], kind="stable")
    pairs, firsts = factorize_together(ordered["field"], ordered["reason"])
    fields, reasons = ordered["field"].to_numpy()[firsts], ordered["reason"].to_numpy()[firsts]
    said = [_said(field, reason) for field, reason in zip(fields, reasons, strict=True)]
    shown = pd.DataFrame(
        {
            "row": ordered["row"].to_numpy(),
            "field": np.array([f for f, _ in said], dtype=object)[pairs],
            "reason": np.array([r for _, r in said], dtype=object)[pairs],
        }
    ).drop_duplicates()
    stages = ordered.groupby("row", sort=True)["stage"].first()
    named = ordered[ordered["order_id"] != ""].groupby("row", sort=True)["order_id"].first()
    return pd.DataFrame(
        {
            "stage": stages,
            "fields": joined_runs(shown["row"], shown["field"], LINE),
            "reasons": joined_runs(shown["row"], shown["reason"], LINE),
            "order_id": named.reindex(stages.index, fill_value=""),
        }
    )


def joined_runs(keys: pd.Series, texts: pd.Series, sep: str) -> pd.Series:
    """`texts` joined by `sep` per run of equal `keys` (keys sorted or grouped), by key."""
    at = keys.to_numpy()
    if not len(at):
        return pd.Series([], index=at, dtype=object)
    starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])
    ends = np.r_[starts[1:], len(at)]
    values = texts.tolist()
    joined = [sep.join(values[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    return pd.Series(joined, index=at[starts], dtype=object)


MERGED: Final = ("stage", "fields", "reasons", "order_id")
_STAGE_RANK: Final = {stage: rank for rank, stage in enumerate(STAGES)}


def _said(field: str, reason: str) -> tuple[str, str]:
    """One error's report line: its column (or NO_FIELD) and "column: reason", on one line."""
    return _one_line(field) or NO_FIELD, _one_line(f"{field}: {reason}" if field else reason)


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()) if LINE in text or "\r" in text else text


def cell_notes(errors: Iterable[RowError] | ErrorTable, file: str) -> dict[int, dict[str, str]]:
    """Reasons by source row and field (for highlighting offending cells), one file."""
    frame = ErrorTable.of(errors).frame
    mine = frame[(frame["file"] == file) & (frame["field"] != "")]
    mine = mine[["row", "field", "reason"]].drop_duplicates()
    cells, _ = factorize_together(mine["row"], mine["field"])
    grouped = mine.iloc[np.argsort(cells, kind="stable")]  # by cell, in order of first mention
    reasons = joined_runs(pd.Series(np.sort(cells, kind="stable")), grouped["reason"], JOIN)
    firsts = grouped.drop_duplicates(["row", "field"])
    notes: dict[int, dict[str, str]] = {}
    for row, field, note in zip(
        firsts["row"].tolist(), firsts["field"].tolist(), reasons.tolist(), strict=True
    ):
        notes.setdefault(row, {})[field] = note
    return notes


def failure_table(
    raw: pd.DataFrame, errors: Iterable[RowError] | ErrorTable, file: str
) -> pd.DataFrame:
    """One row per failed source row of `file`, in file order: original columns, then error_*.

    Rows named by an error but absent from `raw` still appear, with blank original cells,
    so no failed row is ever lost. error_* columns already in `raw` (a report fed back
    in) are replaced.
    """
    merged = merge_rows(ErrorTable.of(errors), file)
    kept = raw.drop(columns=[c for c in raw.columns if str(c).startswith(ERROR_PREFIX)])
    picked = kept.loc[kept.index.isin(merged.index)]
    missing = merged.index.difference(picked.index)
    if len(missing):
        blank = pd.DataFrame(
            "", index=pd.Index(missing, name=kept.index.name), columns=kept.columns
        )
        picked = pd.concat([picked, blank]) if len(picked) else blank
    picked = picked.sort_index(kind="stable")
    failures = merged.reindex(picked.index)
    extra = pd.DataFrame(
        {
            "error_file": [file] * len(failures),
            "error_row": picked.index.to_numpy(dtype="int64"),
            "error_stage": failures["stage"].to_numpy(dtype=object),
            "error_field": failures["fields"].to_numpy(dtype=object),
            "error_reason": failures["reasons"].to_numpy(dtype=object),
            "error_order_id": failures["order_id"].to_numpy(dtype=object),
        },
        columns=list(ERROR_COLUMNS),
    )
    return pd.concat([picked.reset_index(drop=True), extra], axis=1)


SKIP_COLUMNS: Final = ("skip_file", "skip_row", "skip_reason")


def skipped_table(files: Sequence[tuple[str, pd.DataFrame]], lines: pd.DataFrame) -> pd.DataFrame:
    """Every skipped source row: its original columns, then skip_file, skip_row, skip_reason."""
    skipped = lines[(lines["disposition"] == "skip") & ~lines["_failed"]]
    parts = []
    for name, raw in files:
        mine = skipped[skipped["_file"] == name]
        if not len(mine):
            continue
        kept = raw.drop(columns=[c for c in raw.columns if str(c).startswith(ERROR_PREFIX)])
        picked = kept.reindex(mine["_row"].to_numpy()).fillna("").reset_index(drop=True)
        picked["skip_file"] = name
        picked["skip_row"] = mine["_row"].to_numpy(dtype="int64")
        picked["skip_reason"] = mine["skip_reason"].to_numpy()
        parts.append(picked)
    if not parts:
        return pd.DataFrame(columns=list(SKIP_COLUMNS))
    table = pd.concat(parts, ignore_index=True).fillna("")
    ordered = [c for c in table.columns if c not in SKIP_COLUMNS] + list(SKIP_COLUMNS)
    return table[ordered]


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix "'" to text cells a spreadsheet would run as a formula (OWASP CSV injection)."""
    out = df.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if not pd.api.types.is_string_dtype(column):
            continue
        codes, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=False)
        distinct = pd.Series(uniques, dtype=column.dtype)
        flags = distinct.str.startswith(FORMULA_PREFIXES, na=False).to_numpy(dtype=bool)
        risky = pd.Series(flags[codes], index=column.index)  # checked once per distinct cell
        if risky.any():
            fixed = column.astype(object)
            fixed[risky] = "'" + column[risky].astype(str)
            out.isetitem(position, fixed.astype(column.dtype).array)
    return out
