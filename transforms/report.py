"""The failure report and run summary as data: failed rows, top reasons, markdown, masking."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast
from urllib.parse import urlsplit, urlunsplit

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
TOP_REASONS: Final = 10

_QUOTED: Final = re.compile(r"'[^']*'|\"[^\"]*\"")
_EMAIL: Final = re.compile(
    r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
# 10 to 13 digits with optional spaces, dashes or brackets between them, not inside a longer
# number, word, decimal or time: phone numbers, but not dates, pincodes or Amazon order ids.
_PHONE: Final = re.compile(r"(?<![\w.:/+-])\+?\(?\d(?:[ ()-]{0,2}\d){9,12}(?![\w.:/-]|[ ()-]\d)")


@dataclass(frozen=True, slots=True)
class RowFailure:
    """Every reason one source row failed, merged into the report's error columns.

    `fields[i]` is the column `reasons[i]` is about (`NO_FIELD` for none): one per error.
    """

    stage: Stage
    fields: tuple[str, ...]
    reasons: tuple[str, ...]
    order_id: str


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """How many source rows failed for one reason (quoted values generalised to '…')."""

    stage: Stage
    field: str
    reason: str
    rows: int
    code: str = ""  # the errors' stable code ("pincode.digits")


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


def top_reasons(errors: Iterable[RowError] | ErrorTable, n: int = TOP_REASONS) -> list[ReasonCount]:
    """The `n` reasons that failed the most source rows, most first.

    Errors are grouped by stage, field, code and reason with quoted values generalised to
    '…' (worked out once per distinct reason, not once per error).
    """
    frame = ErrorTable.of(errors).frame
    if not len(frame):
        return []
    keys, reasons = pd.factorize(frame["reason"])
    general = np.array([_QUOTED.sub("'…'", str(r)) for r in reasons], dtype=object)[keys]
    keyed = pd.DataFrame(
        {
            "stage": frame["stage"].to_numpy(),
            "field": frame["field"].to_numpy(),
            "code": frame["code"].to_numpy(),
            "reason": general,
            "file": frame["file"].to_numpy(),
            "row": frame["row"].to_numpy(),
        }
    ).drop_duplicates()
    counts = keyed.groupby(["stage", "field", "code", "reason"], sort=False).size()
    found: list[tuple[tuple[Stage, str, str, str], int]] = []
    for key, count in counts.items():
        stage, field, code, reason = cast(tuple[Stage, str, str, str], key)
        found.append(((stage, field, code, reason), int(count)))
    ranked = sorted(found, key=lambda kv: (-kv[1], STAGES.index(kv[0][0]), kv[0][1], kv[0][3]))
    return [
        ReasonCount(stage, field, reason, count, code)
        for (stage, field, code, reason), count in ranked[:n]
    ]


def reason_entries(reasons: Sequence[ReasonCount], limit: int = 3) -> list[dict[str, Any]]:
    """The top reasons as plain summary entries, personal data masked."""
    return [
        {"stage": r.stage, "field": r.field, "reason": mask_personal(r.reason), "rows": r.rows}
        for r in reasons[:limit]
    ]


def mask_personal(text: str) -> str:
    """Hide e-mail addresses (j***@example.com) and phone numbers (all but the last 2 digits)."""
    masked = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(_mask_digits, masked)


def _mask_digits(match: re.Match[str]) -> str:
    phone = match.group(0)
    digits = sum(ch.isdigit() for ch in phone)
    out, seen = [], 0
    for ch in phone:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - 2 else "*")
        else:
            out.append(ch)
    return "".join(out)


def summary_markdown(summary: Mapping[str, Any], top_reasons: Sequence[ReasonCount]) -> str:
    """The run summary as Markdown: readable in a terminal and in Prefect's UI."""
    return "\n".join(
        [
            *_headline(summary),
            *_counts(summary),
            *_sync(summary),
            *_by_stage(summary),
            *_by_file(summary),
            *_reasons(top_reasons),
        ]
    )


def _headline(summary: Mapping[str, Any]) -> list[str]:
    mode = "dry run: validated and built, nothing posted" if summary.get("dry_run") else "posted"
    return [
        f"# uniload run {summary.get('run_id', '?')}",
        "",
        f"- Mode: {mode}",
        f"- Destination: {_without_credentials(str(summary.get('destination', '')))}",
        f"- Started: {summary.get('started_at', '?')}, finished: {summary.get('finished_at', '?')}",
        f"- Duration: {float(summary.get('duration_seconds', 0)):,.1f} s, throughput: "
        f"{float(summary.get('throughput_orders_per_second', 0)):,.1f} orders/s",
        f"- Warnings (values normalised): {_n(summary.get('warnings'))}",
        "",
    ]


def _sync(summary: Mapping[str, Any]) -> list[str]:
    """Cancellations and returns of earlier orders, when the run had any."""
    keys = ("cancelled", "returned", "cancel_failed", "return_failed", "changes_unanswered")
    said = [f"{key.replace('_', ' ')} {_n(summary.get(key))}" for key in keys if summary.get(key)]
    if summary.get("changed_after_posting"):
        said.append(
            f"changed after posting (update in Uniware) {_n(summary['changed_after_posting'])}"
        )
    return [f"- After posting: {', '.join(said)}", ""] if said else []


def _counts(summary: Mapping[str, Any]) -> list[str]:
    def line(what: str, total: str) -> str:
        cells = [summary.get(f"{what}_{k}") for k in ("accepted", "already_accepted", "failed")]
        return _row([what, _n(summary.get(total)), *map(_n, cells)])

    return [
        _row(["", "read / built", "accepted", "already accepted", "failed"]),
        _row(["---"] * 5),
        line("rows", "rows_read"),
        line("orders", "orders_built"),
        "",
        *_skipped(summary),
    ]


def _skipped(summary: Mapping[str, Any]) -> list[str]:
    if not summary.get("rows_skipped"):
        return []
    reasons: Mapping[str, Any] = summary.get("orders_skipped_by_reason") or {}
    head = (
        f"Skipped, not posted (listed in skipped.csv): {_n(summary.get('rows_skipped'))} rows "
        f"in {_n(summary.get('orders_skipped'))} orders"
    )
    return [head, "", *(f"- {_n(n)} orders {reason}" for reason, n in reasons.items()), ""]


def _by_stage(summary: Mapping[str, Any]) -> list[str]:
    stages: Mapping[str, Any] = summary.get("rows_failed_by_stage") or {}
    ordered = [s for s in STAGES if s in stages] + [s for s in stages if s not in STAGES]
    body = [_row([s, _n(stages[s])]) for s in ordered]
    return ["## Failed rows by stage", "", _row(["stage", "rows"]), _row(["---"] * 2), *body, ""]


def _by_file(summary: Mapping[str, Any]) -> list[str]:
    files: Sequence[Mapping[str, Any]] = summary.get("files") or []
    body = [
        _row(
            [
                f.get("name", ""),
                f.get("profile") or "",
                _n(f.get("rows_read")),
                _n(f.get("rows_failed")),
            ]
        )
        if not f.get("error")
        else _row([f.get("name", ""), "", "not read", str(f.get("error"))])
        for f in files
    ]
    head = _row(["file", "profile", "rows read", "rows failed"])
    return ["## Files", "", head, _row(["---"] * 4), *body, ""]


def _reasons(reasons: Sequence[ReasonCount]) -> list[str]:
    if not reasons:
        return ["## Top reasons", "", "No row failed.", ""]
    body = [_row([_n(r.rows), r.stage, r.field, r.reason]) for r in reasons]
    head = _row(["rows", "stage", "field", "reason"])
    return ["## Top reasons", "", head, _row(["---"] * 4), *body, ""]


def _row(cells: Sequence[object]) -> str:
    text = (str(c).replace("|", "\\|").replace("\r", " ").replace("\n", " ") for c in cells)
    return "| " + " | ".join(text) + " |"


def _n(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "0" if value is None else str(value)


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname or "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))
