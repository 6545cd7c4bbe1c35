"""Deterministic marketplace orders: the generator behind every sample and the benchmark's export.

`generate_orders` makes orders (same seed, same orders); `bench.layouts` lays them out as each
marketplace's export. `write_oker_export` streams an Oker CSV of any size (rows are written as
they are made) and says what it wrote, bad cells included. The committed samples are made by
`bench.samples` (`python -m bench.exports --samples data/samples` still runs it). Names,
addresses and phones come from small fixed lists: no real person's data.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal, NamedTuple

from bench.layouts import OKER_HEADER as OKER_HEADER
from bench.layouts import csv_text
from bench.layouts import oker_text as oker_text
from bench.layouts import render_oker as render_oker

Status = Literal["new", "pending", "cancelled"]
Stage = Literal["validate", "group"]

FIRST_NAMES: Final = (
    "Aarav", "Aditi", "Akash", "Ananya", "Arjun", "Bhavna", "Deepak", "Divya", "Farhan",
    "Gauri", "Harish", "Ishita", "Karan", "Kavya", "Manoj", "Meera", "Nikhil", "Pooja",
    "Rahul", "Riya", "Sandeep", "Sneha", "Tarun", "Varsha", "Vikram", "Zoya",
)  # fmt: skip
LAST_NAMES: Final = (
    "Agarwal", "Bhat", "Chatterjee", "Das", "Fernandes", "Gupta", "Iyer", "Joshi", "Kapoor",
    "Khan", "Menon", "Mishra", "Nair", "Patel", "Pillai", "Rao", "Reddy", "Shah", "Sharma",
    "Singh", "Verma",
)  # fmt: skip
# city, state, state code (as WooCommerce and Shopify write it), pincode prefix, Oker warehouse
CITIES: Final = (
    ("Bengaluru", "Karnataka", "KA", "560", "OKR-BLR-01"),
    ("Mysuru", "Karnataka", "KA", "570", "OKR-BLR-01"),
    ("Chennai", "Tamil Nadu", "TN", "600", "OKR-BLR-01"),
    ("Coimbatore", "Tamil Nadu", "TN", "641", "OKR-BLR-01"),
    ("Hyderabad", "Telangana", "TS", "500", "OKR-BLR-01"),
    ("Kochi", "Kerala", "KL", "682", "OKR-BLR-01"),
    ("Mumbai", "Maharashtra", "MH", "400", "OKR-MUM-01"),
    ("Pune", "Maharashtra", "MH", "411", "OKR-MUM-01"),
    ("Nagpur", "Maharashtra", "MH", "440", "OKR-MUM-01"),
    ("Ahmedabad", "Gujarat", "GJ", "380", "OKR-MUM-01"),
    ("Surat", "Gujarat", "GJ", "395", "OKR-MUM-01"),
    ("Indore", "Madhya Pradesh", "MP", "452", "OKR-MUM-01"),
    ("New Delhi", "Delhi", "DL", "110", "OKR-DEL-01"),
    ("Gurugram", "Haryana", "HR", "122", "OKR-DEL-01"),
    ("Noida", "Uttar Pradesh", "UP", "201", "OKR-DEL-01"),
    ("Lucknow", "Uttar Pradesh", "UP", "226", "OKR-DEL-01"),
    ("Jaipur", "Rajasthan", "RJ", "302", "OKR-DEL-01"),
    ("Chandigarh", "Chandigarh", "CH", "160", "OKR-DEL-01"),
    ("Kolkata", "West Bengal", "WB", "700", "OKR-DEL-01"),
    ("Bhubaneswar", "Odisha", "OR", "751", "OKR-DEL-01"),
    ("Guwahati", "Assam", "AS", "781", "OKR-DEL-01"),
)
STREETS: Final = (
    "MG Road", "Station Road", "Park Street", "Nehru Nagar Main Road", "Gandhi Marg",
    "Lake View Road", "Temple Street", "Church Street", "Ring Road", "Market Road",
)  # fmt: skip
BUILDINGS: Final = ("Sunrise Apartments", "Green Park Residency", "Lotus Towers", "Shanti Niwas")
LANDMARKS: Final = ("Near City Hospital", "Opp. Bus Stand", "Behind Post Office", "Sector 4", "")
# code, title, price in INR, HSN code
GOODS: Final = (
    ("TEE", "Cotton Crew T-Shirt", 499, "61091000"),
    ("POLO", "Pique Polo Shirt", 899, "61051000"),
    ("JEAN", "Slim Fit Jeans", 1499, "62034200"),
    ("KURTA", "Cotton Kurta", 1199, "62114290"),
    ("SAREE", "Printed Georgette Saree", 1799, "54075290"),
    ("SNKR", "Canvas Sneakers", 1299, "64041190"),
    ("BAG", "Laptop Backpack 25L", 1599, "42029200"),
    ("BOTL", "Steel Water Bottle 1L", 549, "73239390"),
    ("MUG", "Ceramic Coffee Mug 350ml", 299, "69120010"),
    ("LAMP", "LED Desk Lamp", 999, "94052010"),
    ("TOWEL", "Bath Towel Set of 2", 699, "63026010"),
    ("EARB", "Wireless Earbuds", 1999, "85183020"),
)
COLOURS: Final = (("BLK", "Black", 0), ("BLU", "Navy Blue", 0), ("MRN", "Maroon", 50))
CUSTOMER_POOL: Final = 997
BENCH_WEIGHTS: Final = (4, 3, 2, 1)  # orders of 1..4 items: mean 2.0 items per order
SAMPLE_WEIGHTS: Final = (2, 3, 3, 2)  # samples: more multi-item orders, mean 2.5
BENCH_WINDOW: Final = (datetime(2026, 8, 1), datetime(2026, 11, 15))
SAMPLE_WINDOW: Final = (datetime(2026, 11, 12, 9), datetime(2026, 11, 20, 21))
COD_SHARE, PENDING_SHARE, CANCELLED_SHARE = 0.35, 0.3, 0.06
OTHER_BILLING_SHARE, SLA_SHARE, GIFT_SHARE = 0.12, 0.6, 0.04
BAD_KINDS: Final[tuple[tuple[str, str, str, Stage], ...]] = (
    ("Pincode", "", "missing_pincode", "validate"),
    ("Order Date", "31/13/2026", "bad_date", "validate"),
    ("Warehouse Code", "OKR-HYD-09", "unknown_warehouse", "group"),
    ("Quantity", "-1", "negative_quantity", "validate"),
    ("Pincode", "56003", "short_pincode", "validate"),
    ("Selling Price", "Rs 499/-", "bad_price", "validate"),
)


@dataclass(frozen=True, slots=True)
class Customer:
    """A buyer and the address an order ships to."""

    first: str
    last: str
    line1: str
    line2: str
    city: str
    state: str
    state_code: str
    pincode: str
    phone: str  # 10 digits
    email: str
    warehouse: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True, slots=True)
class Product:
    """One seller SKU (the same SKUs sell on every marketplace)."""

    index: int
    sku: str
    title: str
    colour: str
    price: int
    hsn: str

    @property
    def good(self) -> int:
        """Which of GOODS this SKU is a colour of."""
        return self.index // len(COLOURS)


class Line(NamedTuple):
    """One order item; charges are totals over its units.

    Lines and orders are NamedTuples, not frozen dataclasses: a million-row export makes
    1.5 million of them, and a frozen dataclass is four times slower to make.
    """

    product: Product
    quantity: int
    shipping: int
    discount: int
    cod: int
    gift: str


class Order(NamedTuple):
    """One order as the marketplace knows it; renderers lay it out per export format."""

    number: int
    placed: datetime  # India time, naive
    status: Status
    cod: bool
    sla: bool  # whether the export states an SLA
    customer: Customer
    billing: Customer
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class BadCell:
    """A cell made bad on purpose, or a sound row of an order that has one."""

    file: str
    row: int  # spreadsheet row, header = 1
    column: str
    kind: str
    stage: Stage


@dataclass(frozen=True, slots=True)
class Fix:
    """A cell made untidy on purpose that a normaliser fixes without guessing."""

    file: str
    row: int
    column: str
    value: str
    fixed: str


@dataclass(frozen=True, slots=True)
class ExportFacts:
    """What a generated export holds: rows, orders, order items, units and the bad cells."""

    rows: int
    orders: int
    items: int  # order items: one per row
    units: int  # sum of quantities
    bad: tuple[BadCell, ...]
    bad_orders: int = 0  # orders holding at least one bad cell (none of their rows is sent)
    skipped_orders: int = 0  # cancelled on the marketplace: skipped by a run, never posted

    @property
    def posted_orders(self) -> int:
        """Orders a run posts: neither holding a bad cell nor cancelled on the marketplace."""
        return self.orders - self.bad_orders - self.skipped_orders

    @property
    def bad_rows(self) -> tuple[int, ...]:
        """Spreadsheet rows holding an injected bad cell."""
        return tuple(sorted({cell.row for cell in self.bad}))


def _customers(rng: random.Random) -> list[Customer]:
    out = []
    for n in range(CUSTOMER_POOL):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, state, code, prefix, warehouse = rng.choice(CITIES)
        house = rng.randrange(1, 400)
        line1 = (
            f"{house}, {rng.choice(STREETS)}"
            if rng.random() < 0.6
            else f"Flat {house}, {rng.choice(BUILDINGS)}"
        )
        pincode = f"{prefix}{rng.randrange(1, 100):03d}"
        phone = f"98765{n:05d}"
        email = f"{first}.{last}{n}@example.com".lower()
        out.append(
            Customer(first, last, line1, rng.choice(LANDMARKS), city, state, code, pincode, phone,
                     email, warehouse)
        )  # fmt: skip
    return out


def _products() -> list[Product]:
    products: list[Product] = []
    for code, title, price, hsn in GOODS:
        for colour_code, colour, extra in COLOURS:
            sku = f"OKB-{code}-{colour_code}"
            products.append(Product(len(products), sku, title, colour, price + extra, hsn))
    return products


def _lines(
    r: Callable[[], float], picked: list[Product], cod: bool, gift: bool
) -> tuple[Line, ...]:
    lines = []
    for k, product in enumerate(picked):
        u = r()
        quantity = 1 if u < 0.8 else 2 if u < 0.95 else 3
        shipping = 40 * quantity if product.price < 500 else 0
        discount = (product.price // 10) * quantity if r() < 0.2 else 0
        lines.append(
            Line(product, quantity, shipping, discount, 30 if cod and k == 0 else 0,
                 "Happy birthday!" if gift and k == 0 else "")
        )  # fmt: skip
    return tuple(lines)


def _status(u: float, cod: bool) -> Status:
    if u < CANCELLED_SHARE:
        return "cancelled"
    return "pending" if cod and u < PENDING_SHARE else "new"


def generate_orders(
    seed: int, *, rows: int, start: int = 1, weights: Sequence[int] = BENCH_WEIGHTS,
    window: tuple[datetime, datetime] = BENCH_WINDOW,
) -> Iterator[Order]:  # fmt: skip
    """Orders with `rows` order items in all (the last order is cut to fit), evenly in `window`."""
    rng = random.Random(seed)
    r = rng.random
    customers, products = _customers(rng), _products()
    sizes = [n + 1 for n, weight in enumerate(weights) for _ in range(weight)]
    mean = sum(sizes) / len(sizes)
    step = max(1.0, (window[1] - window[0]).total_seconds() * mean / max(rows, 1))
    made, number = 0, start
    while made < rows:
        placed = window[0] + timedelta(seconds=int((number - start + r()) * step))
        cod = r() < COD_SHARE
        status = _status(r(), cod)
        count = min(sizes[int(r() * len(sizes))], rows - made)
        first, stride = int(r() * len(products)), (1, 5, 7, 11)[int(r() * 4)]
        picked = [products[(first + stride * k) % len(products)] for k in range(count)]
        customer = customers[int(r() * len(customers))]
        billing = customers[int(r() * len(customers))] if r() < OTHER_BILLING_SHARE else customer
        lines = _lines(r, picked, cod, r() < GIFT_SHARE)
        yield Order(number, placed, status, cod, r() < SLA_SHARE, customer, billing, lines)
        made += count
        number += 1


def write_oker_export(
    path: Path,
    *,
    rows: int,
    seed: int = 7,
    bad_share: float = 0.0,
    start_order: int = 1,
    window: tuple[datetime, datetime] = BENCH_WINDOW,
) -> ExportFacts:
    """Stream an Oker CSV of `rows` order items (mean 2 per order); a `bad_share` of the rows
    get one bad cell each (the samples' kinds), listed in the facts. Same arguments, same bytes.
    """
    spoil = random.Random(seed + 1).random  # its own stream: clean cells never depend on it
    bad: list[BadCell] = []
    cache: dict[object, str] = {}
    orders = units = bad_orders = skipped = done = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(csv_text(OKER_HEADER) + "\n")
        for order in generate_orders(seed, rows=rows, start=start_order, window=window):
            hits = [k for k in range(len(order.lines)) if bad_share and spoil() < bad_share]
            if order.status == "cancelled":  # skipped whole: a bad cell in it is never reported
                hits, skipped = [], skipped + 1
            if hits:
                out.write(_spoil(order, hits, spoil, bad, file=path.name, first_row=done + 2))
                bad_orders += 1
            else:
                out.write(oker_text(order, cache))
            orders += 1
            done += len(order.lines)
            units += sum(line.quantity for line in order.lines)
    return ExportFacts(rows, orders, rows, units, tuple(bad), bad_orders, skipped)


def _spoil(
    order: Order,
    hits: list[int],
    spoil: Callable[[], float],
    bad: list[BadCell],
    *,
    file: str,
    first_row: int,
) -> str:
    """The order's rows as CSV text, with one bad cell in each row of `hits` (recorded)."""
    rows = render_oker(order)
    for k in hits:
        column, value, kind, stage = BAD_KINDS[int(spoil() * len(BAD_KINDS))]
        rows[k][OKER_HEADER.index(column)] = value
        bad.append(BadCell(file, first_row + k, column, kind, stage))
    return "".join(csv_text(row) + "\n" for row in rows)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.exports --samples data/samples` (and --fixtures, --oker FILE)."""
    from bench.samples import main as write_from_command_line  # bench.samples imports this

    return write_from_command_line(argv)


if __name__ == "__main__":
    sys.exit(main())
