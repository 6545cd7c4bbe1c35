"""The committed sample exports and test fixtures: plans of bad and untidy cells, and writers.

`write_samples` regenerates the committed samples byte for byte
(`python -m bench.exports --samples data/samples`); each sample's injected bad cells are
listed in `<name>.expected.json` as `{"file", "row", "column", "kind", "stage"}` (row = the
spreadsheet row, header = 1). Kind `order_not_sent` marks a sound row of an order that has a
bad row (orders are sent whole); its column is "". A bad cell injected into a cancelled
order is not listed: the marketplace cancelled it, so the run skips the order and reports
none of its cells. Untidy cells a normaliser fixes are listed in `<name>.fixes.json`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal

from openpyxl import Workbook

from bench.exports import (
    SAMPLE_WEIGHTS,
    SAMPLE_WINDOW,
    BadCell,
    Fix,
    Order,
    Stage,
    generate_orders,
    write_oker_export,
)
from bench.layouts import (
    AMAZON_HEADER,
    FLIPKART_HEADER,
    FLIPKART_NUMERIC,
    OKER_HEADER,
    OKER_NUMERIC,
    SHOPIFY_HEADER,
    WOO_HEADER,
    oker_date,
    render_amazon,
    render_flipkart,
    render_oker,
    render_shopify,
    render_woocommerce,
)

Scope = Literal["all", "line", "first", "repeat", "conflict"]
Render = Callable[[Order], list[list[str]]]


@dataclass(frozen=True, slots=True)
class Injection:
    """One planned change to a sample: which cells of which order, made bad (or untidy) how.

    Scopes: "all" rows of the order, one "line" (the second when there are several),
    "first" row only (first-row-only exports: every row inherits it, so every row is listed),
    "repeat" (the third item takes the second's id), "conflict" (Oker: the second row's order
    date moves an hour; the order gets an explicit SLA so only the date disagrees).
    """

    kind: str
    column: str
    scope: Scope
    new: str | Callable[[str], str] = ""
    at: float = 0.0  # where to start looking for an order, as a share of the file's orders
    min_lines: int = 1
    state: str = ""  # only an order shipping to this state
    stage: Stage = "validate"
    fix: bool = False  # untidy, not bad: a normaliser fixes it without guessing


@dataclass(frozen=True, slots=True)
class SampleFile:
    """One sample export: its layout, its orders (seed, first order number, rows) and its plan."""

    name: str
    render: Render
    header: tuple[str, ...]
    seed: int
    start: int
    rows: int
    plan: tuple[Injection, ...]
    layout: Literal["csv", "tsv", "xlsx", "php"] = "csv"
    numeric: frozenset[str] = frozenset()  # xlsx: columns written as numbers


def _drop_last(value: str) -> str:
    return value[:-1]


def _rupees(value: str) -> str:
    return f"Rs {value.removesuffix('.00')}/-"


def _european(value: str) -> str:
    return f"{float(value):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def _spaced_phone(value: str) -> str:
    return f"+91 {value[:5]} {value[5:]}"


def _padded(value: str) -> str:
    return f"  {value} "


OKER_PLAN: Final = (
    Injection("missing_pincode", "Pincode", "all", "", at=0.03),
    Injection("bad_date", "Order Date", "all", "31/13/2026", at=0.12),
    Injection("unknown_warehouse", "Warehouse Code", "line", "OKR-HYD-09", at=0.21, min_lines=2,
              stage="group"),
    Injection("negative_quantity", "Quantity", "line", "-1", at=0.3, min_lines=2),
    Injection("short_pincode", "Pincode", "all", _drop_last, at=0.42),
    Injection("bad_price", "Selling Price", "line", _rupees, at=0.5, min_lines=3),
    Injection("conflicting_order_field", "Order Date", "conflict", at=0.58, min_lines=2,
              stage="group"),
    Injection("repeated_item_id", "Order Item ID", "repeat", at=0.7, min_lines=3, stage="group"),
    Injection("phone", "Phone", "all", _spaced_phone, at=0.08, fix=True),
    Injection("state_code", "State", "all", "KA", at=0.16, state="Karnataka", fix=True),
    Injection("state_capitals", "State", "all", str.upper, at=0.36, fix=True),
    Injection("country_code", "Country", "all", "IN", at=0.25, fix=True),
    Injection("country_capitals", "Country", "all", "INDIA", at=0.62, fix=True),
    Injection("spaces", "Customer Name", "all", _padded, at=0.8, fix=True),
    Injection("spaces", "SKU", "line", _padded, at=0.9, min_lines=2, fix=True),
)  # fmt: skip
AMAZON_PLAN: Final = (
    Injection("short_pincode", "ship-postal-code", "all", _drop_last, at=0.2),
    Injection("missing_price", "item-price", "line", "", at=0.5, min_lines=2),
    Injection("bad_date", "purchase-date", "all", "2026-11-31T10:15:00+00:00", at=0.8),
)
FLIPKART_PLAN: Final = (
    Injection("missing_pincode", "PIN Code", "all", "", at=0.15),
    Injection("bad_date", "Ordered On", "all", "Sep 31, 2026", at=0.45),
    Injection("zero_quantity", "Quantity", "line", "0", at=0.7, min_lines=2),
)
SHOPIFY_PLAN: Final = (
    Injection("missing_sku", "Lineitem sku", "line", "", at=0.3, min_lines=2),
    Injection("short_pincode", "Shipping Zip", "first", _drop_last, at=0.55, min_lines=2),
    Injection("missing_phone", "Shipping Phone", "first", "", at=0.8),
)
WOO_PLAN: Final = (
    Injection("missing_pincode", "Postcode (Shipping)", "all", "", at=0.2),
    Injection("bad_price", "Item Cost", "line", _european, at=0.5, min_lines=2),
    Injection("negative_quantity", "Quantity", "line", "-1", at=0.8, min_lines=2),
)


def _samples(*, seed: int, start: int, scale: float, flipkart: Literal["xlsx", "csv"]) -> (
    dict[str, tuple[SampleFile, ...]]
):  # fmt: skip
    """Sample files by the name of their expected-cells file; fixtures are the same, smaller."""
    return {
        "oker-orders": (
            SampleFile("oker-orders.csv", render_oker, OKER_HEADER, seed + 11, start,
                       round(300 * scale), OKER_PLAN),
            SampleFile("oker-orders.xlsx", render_oker, OKER_HEADER, seed + 12, start + 500,
                       round(150 * scale), OKER_PLAN, "xlsx", OKER_NUMERIC),
        ),
        "amazon-orders": (
            SampleFile("amazon-orders.txt", render_amazon, AMAZON_HEADER, seed + 21, start,
                       round(50 * scale), AMAZON_PLAN, "tsv"),
        ),
        "flipkart-orders": (
            SampleFile(f"flipkart-orders.{flipkart}", render_flipkart, FLIPKART_HEADER,
                       seed + 31, start, round(40 * scale), FLIPKART_PLAN, flipkart,
                       FLIPKART_NUMERIC),
        ),
        "shopify-orders": (
            SampleFile("shopify-orders.csv", render_shopify, SHOPIFY_HEADER, seed + 41,
                       start + 1000, round(45 * scale), SHOPIFY_PLAN),
        ),
        "woocommerce-orders": (
            SampleFile("woocommerce-orders.csv", render_woocommerce, WOO_HEADER, seed + 51,
                       start + 10233, round(40 * scale), WOO_PLAN, "php"),
        ),
    }  # fmt: skip


SAMPLES: Final = _samples(seed=0, start=1, scale=1.0, flipkart="xlsx")
# Held-out fixtures for tests: other seeds and order numbers, fewer rows, Flipkart as CSV.
FIXTURES: Final = _samples(seed=100, start=90_001, scale=0.6, flipkart="csv")
XLSX_TIME: Final = (2026, 11, 20, 9, 0, 0)
XLSX_STAMP: Final = b"2026-11-20T09:00:00Z"


def _pick(orders: list[tuple[Order, list[list[str]]]], plan: Injection, used: set[int]) -> int:
    """The first unused order at or after the plan's place (wrapping round) that suits it."""
    start = int(plan.at * len(orders))
    for step in range(len(orders)):
        i = (start + step) % len(orders)
        order, rows = orders[i]
        suits = len(rows) >= plan.min_lines and plan.state in ("", order.customer.state)
        if i not in used and suits:
            return i
    raise ValueError(f"no order suits {plan.kind} in {len(orders)} orders: make the file bigger")


def _inject(rows: list[list[str]], column: int, plan: Injection) -> list[int]:
    """Change the cells; return the positions (within the order) of the rows to list."""
    new = plan.new

    def changed(value: str) -> str:
        return new(value) if callable(new) else new

    if plan.scope == "all":
        for row in rows:
            row[column] = changed(row[column])
        return list(range(len(rows)))
    if plan.scope == "repeat":
        rows[2][column] = rows[1][column]
        return [1, 2]
    if plan.scope == "conflict":
        sla = OKER_HEADER.index("SLA Date")
        placed = datetime.fromisoformat(rows[0][column])
        for row in rows:
            row[sla] = row[sla] or oker_date(placed + timedelta(hours=48))
        rows[1][column] = oker_date(placed + timedelta(hours=1))
        return list(range(len(rows)))
    k = 1 if plan.scope == "line" and len(rows) > 1 else 0
    rows[k][column] = changed(rows[k][column])
    return [k] if plan.scope == "line" else list(range(len(rows)))


def _sample_orders(spec: SampleFile) -> list[tuple[Order, list[list[str]]]]:
    made = generate_orders(
        spec.seed, rows=spec.rows, start=spec.start, weights=SAMPLE_WEIGHTS, window=SAMPLE_WINDOW
    )
    return [(order, spec.render(order)) for order in made]


def build_sample(spec: SampleFile) -> tuple[list[list[str]], list[BadCell], list[Fix]]:
    """A sample's rows after its plan, the bad cells (with their orders' other rows), the fixes."""
    orders = _sample_orders(spec)
    firsts = [2]  # spreadsheet row of each order's first row
    for _, rows in orders:
        firsts.append(firsts[-1] + len(rows))
    used: set[int] = set()
    bad: list[BadCell] = []
    fixes: list[Fix] = []
    for plan in spec.plan:
        i = _pick(orders, plan, used)
        used.add(i)
        rows, column = orders[i][1], spec.header.index(plan.column)
        before = [row[column] for row in rows]
        skipped = orders[i][0].status == "cancelled"  # skipped whole: its cells not reported
        for k in _inject(rows, column, plan):
            if plan.fix:
                fixes.append(Fix(spec.name, firsts[i] + k, plan.column, rows[k][column], before[k]))
            elif not skipped:
                bad.append(BadCell(spec.name, firsts[i] + k, plan.column, plan.kind, plan.stage))
        if not plan.fix and not skipped:
            listed = {cell.row for cell in bad}
            bad += [
                BadCell(spec.name, row, "", "order_not_sent", "group")
                for row in range(firsts[i], firsts[i + 1])
                if row not in listed
            ]
    rows = [row for _, block in orders for row in block]
    return rows, sorted(bad, key=lambda c: (c.row, c.column)), sorted(fixes, key=lambda f: f.row)


def _php_field(value: str) -> str:
    """PHP's fputcsv: quote a field holding a space, comma, quote, tab, CR, LF or backslash."""
    if re.search(r'[ ,"\t\r\n\\]', value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _xlsx_cell(value: str, numeric: bool) -> str | int | float | None:
    if value == "":
        return None
    if numeric and re.fullmatch(r"-?\d+", value):
        return int(value)
    if numeric and re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    return value


def _xlsx_bytes(header: Sequence[str], rows: list[list[str]], numeric: frozenset[str]) -> bytes:
    """An .xlsx made the same bytes every time: fixed document dates and zip entry times,
    entries stored uncompressed (zlib builds differ in what they write).
    """
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(list(header))
    for row in rows:
        sheet.append([_xlsx_cell(v, h in numeric) for v, h in zip(row, header, strict=True)])
    made = io.BytesIO()
    book.save(made)
    frozen = io.BytesIO()
    with zipfile.ZipFile(made) as src, zipfile.ZipFile(frozen, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + XLSX_STAMP, data
                )
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=XLSX_TIME), data)
    return frozen.getvalue()


def write_sample(folder: Path, spec: SampleFile) -> tuple[list[BadCell], list[Fix]]:
    """Write one sample export into `folder`; return its bad cells and fixes."""
    rows, bad, fixes = build_sample(spec)
    path = folder / spec.name
    if spec.layout == "xlsx":
        path.write_bytes(_xlsx_bytes(spec.header, rows, spec.numeric))
    elif spec.layout == "php":
        lines = [",".join(_php_field(v) for v in row) for row in [list(spec.header), *rows]]
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    else:
        with path.open("w", encoding="utf-8", newline="") as out:
            delimiter = "\t" if spec.layout == "tsv" else ","
            writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
            writer.writerow(spec.header)
            writer.writerows(rows)
    return bad, fixes


def _json_lines(entries: Sequence[BadCell | Fix]) -> str:
    return "[\n" + ",\n".join(json.dumps(asdict(e), ensure_ascii=False) for e in entries) + "\n]\n"


def write_samples(
    folder: Path, *, samples: dict[str, tuple[SampleFile, ...]] = SAMPLES
) -> list[Path]:
    """Write every sample and its `.expected.json` (and `.fixes.json` when it has fixes)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, files in samples.items():
        bad: list[BadCell] = []
        fixes: list[Fix] = []
        for spec in files:
            more_bad, more_fixes = write_sample(folder, spec)
            bad += more_bad
            fixes += more_fixes
            written.append(folder / spec.name)
        (folder / f"{name}.expected.json").write_text(_json_lines(bad), encoding="utf-8")
        written.append(folder / f"{name}.expected.json")
        if fixes:
            (folder / f"{name}.fixes.json").write_text(_json_lines(fixes), encoding="utf-8")
            written.append(folder / f"{name}.fixes.json")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.exports --samples data/samples` (and --fixtures, --oker FILE)."""
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__)
    parser.add_argument("--samples", type=Path, help="(re)write the committed samples here")
    parser.add_argument("--fixtures", type=Path, help="(re)write the held-out test fixtures here")
    parser.add_argument("--oker", type=Path, help="write one Oker CSV export to this file")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bad-share", type=float, default=0.0)
    parser.add_argument("--start-order", type=int, default=1)
    args = parser.parse_args(argv)
    if not (args.samples or args.fixtures or args.oker):
        parser.error("give --samples DIR, --fixtures DIR or --oker FILE")
    for folder, samples in ((args.samples, SAMPLES), (args.fixtures, FIXTURES)):
        if folder:
            for path in write_samples(folder, samples=samples):
                print(path)
    if args.oker:
        facts = write_oker_export(
            args.oker, rows=args.rows, seed=args.seed, bad_share=args.bad_share,
            start_order=args.start_order,
        )  # fmt: skip
        print(f"{args.oker}: {facts.rows} rows, {facts.orders} orders, {len(facts.bad)} bad cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
