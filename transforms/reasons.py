"""The reasons that failed the most rows, as data and as summary entries, personal data masked."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import pandas as pd

from transforms.errors import STAGES, ErrorTable, RowError, Stage

TOP_REASONS: Final = 10

_QUOTED: Final = re.compile(r"'[^']*'|\"[^\"]*\"")
_EMAIL: Final = re.compile(
    r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
# 10 to 13 digits with optional spaces, dashes or brackets between them, not inside a longer
# number, word, decimal or time: phone numbers, but not dates, pincodes or Amazon order ids.
_PHONE: Final = re.compile(r"(?<![\w.:/+-])\+?\(?\d(?:[ ()-]{0,2}\d){9,12}(?![\w.:/-]|[ ()-]\d)")


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """How many source rows failed for one reason (quoted values generalised to '…')."""

    stage: Stage
    field: str
    reason: str
    rows: int
    code: str = ""  # the errors' stable code ("pincode.digits")


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
