"""Deterministic marketplace exports: the benchmark's Oker generator and every committed sample.

`write_oker_export` streams an Oker CSV of any size (rows are written as they are made) and
says what it wrote. `write_samples` regenerates the committed samples byte for byte
(`python -m bench.exports --samples data/samples`); each sample's injected bad cells are
listed in `<name>.expected.json` as `{"file", "row", "column", "kind", "stage"}` (row = the
spreadsheet row, header = 1). Kind `order_not_sent` marks a sound row of an order that has a
bad row (orders are sent whole); its column is "". Names, addresses and phones come from
small fixed lists: no real person's data.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal, NamedTuple, TypeVar

from openpyxl import Workbook

Status = Literal["new", "pending", "cancelled"]
Scope = Literal["all", "line", "first", "repeat", "conflict"]
Stage = Literal["validate", "group"]
Render = Callable[["Order"], list[list[str]]]
T = TypeVar("T")

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
IST: Final = timedelta(hours=5, minutes=30)
MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
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


def _oker_date(moment: datetime) -> str:
    return moment.isoformat(" ")  # "2026-11-20 14:05:09": whole seconds only, so no fraction


OKER_HEADER: Final = (
    "Order ID", "Order Item ID", "Display Order No", "Order Date", "SLA Date", "Order Status",
    "Payment Mode", "SKU", "Product ID", "Variant ID", "Product Title", "Quantity",
    "Selling Price", "Total Price", "Shipping Charges", "Discount", "COD Charges",
    "Warehouse Code", "Customer Name", "Address Line 1", "Address Line 2", "City", "State",
    "Pincode", "Country", "Phone", "Email", "Billing Name", "Billing Address Line 1",
    "Billing Address Line 2", "Billing City", "Billing State", "Billing Pincode",
    "Billing Country", "Billing Phone", "Gift Message", "Gift Charges",
)  # fmt: skip
OKER_STATUS: Final = {
    "new": "Confirmed",
    "pending": "Pending Verification",
    "cancelled": "Cancelled",
}
OKER_NUMERIC: Final = frozenset(
    {"Quantity", "Selling Price", "Total Price", "Shipping Charges", "Discount", "COD Charges",
     "Gift Charges"}
)  # fmt: skip


def _oker_ship(c: Customer) -> list[str]:
    """Warehouse and shipping cells."""
    return [c.warehouse, c.name, c.line1, c.line2, c.city, c.state, c.pincode, "India", c.phone,
            c.email]  # fmt: skip


def _oker_bill(order: Order) -> list[str]:
    """Billing cells, left blank on every fourth order that bills the buyer's own address."""
    b = order.billing
    if b is order.customer and order.number % 4 == 0:
        return [""] * 8  # the profile derives billing from shipping
    return [b.name, b.line1, b.line2, b.city, b.state, b.pincode, "India", b.phone]


def _oker_product(p: Product) -> list[str]:
    return [
        p.sku,
        f"OKP{p.index // len(COLOURS):05d}",
        f"OKV{p.index:06d}",
        f"{p.title}, {p.colour}",
    ]


def _oker_head(order: Order) -> tuple[str, str]:
    """The order id, and the order cells after the item id (none of them needs quoting)."""
    sla = _oker_date(order.placed + timedelta(hours=48)) if order.sla else ""
    rest = (
        f"OKR-{order.number},{_oker_date(order.placed)},{sla},{OKER_STATUS[order.status]},"
        f"{'COD' if order.cod else 'Prepaid'}"
    )
    return f"OKR{order.number:09d}", rest


def _oker_amounts(line: Line) -> str:
    price = f"{line.product.price}.00"
    return f"{line.quantity},{price},{price},{line.shipping}.00,{line.discount}.00,{line.cod}.00"


def render_oker(order: Order) -> list[list[str]]:
    """Oker: one row per item, every order field repeated."""
    oid, rest = _oker_head(order)
    party = _oker_ship(order.customer) + _oker_bill(order)
    rows = []
    for k, line in enumerate(order.lines, 1):
        gift = [line.gift, "50.00" if line.gift else ""]
        head = [oid, f"OKI{order.number:09d}{k:02d}", *rest.split(",")]
        amounts = _oker_amounts(line).split(",")
        rows.append(head + _oker_product(line.product) + amounts + party + gift)
    return rows


def _csv_text(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _cached(cache: dict[object, str], key: object, cells: Callable[[T], list[str]], of: T) -> str:
    """The CSV text of `cells(of)`, made once per key."""
    text = cache.get(key)
    if text is None:
        text = cache[key] = _csv_text(cells(of))
    return text


def oker_text(order: Order, cache: dict[object, str]) -> str:
    """`render_oker` as CSV text, fast: customer and product cells are quoted once, then cached.

    Use one cache per `generate_orders` run: it is keyed by the identity of that run's customers.
    """
    oid, rest = _oker_head(order)
    party = f"{_cached(cache, ('ship', id(order.customer)), _oker_ship, order.customer)},"
    blank = order.billing is order.customer and order.number % 4 == 0
    party += _cached(cache, ("bill", id(order.billing), blank), _oker_bill, order)
    text = []
    for k, line in enumerate(order.lines, 1):
        product = _cached(cache, line.product.index, _oker_product, line.product)
        gift = f"{line.gift},50.00" if line.gift else ","
        item = f"OKI{order.number:09d}{k:02d}"
        text.append(f"{oid},{item},{rest},{product},{_oker_amounts(line)},{party},{gift}\n")
    return "".join(text)


def write_oker_export(
    path: Path, *, rows: int, seed: int = 7, bad_share: float = 0.0, start_order: int = 1
) -> ExportFacts:
    """Stream an Oker CSV of `rows` order items (mean 2 per order); a `bad_share` of the rows
    get one bad cell each (the samples' kinds), listed in the facts. Same arguments, same bytes.
    """
    spoil = random.Random(seed + 1).random  # its own stream: clean cells never depend on it
    bad: list[BadCell] = []
    cache: dict[object, str] = {}
    orders = units = bad_orders = done = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(_csv_text(OKER_HEADER) + "\n")
        for order in generate_orders(seed, rows=rows, start=start_order):
            hits = [k for k in range(len(order.lines)) if bad_share and spoil() < bad_share]
            if hits:
                out.write(_spoil(order, hits, spoil, bad, file=path.name, first_row=done + 2))
                bad_orders += 1
            else:
                out.write(oker_text(order, cache))
            orders += 1
            done += len(order.lines)
            units += sum(line.quantity for line in order.lines)
    return ExportFacts(rows, orders, rows, units, tuple(bad), bad_orders)


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
    return "".join(_csv_text(row) + "\n" for row in rows)


def _header(line: str, *, delimiter: str = ",") -> tuple[str, ...]:
    """Column names from a header line as the marketplace writes it (formats.md)."""
    return tuple(next(csv.reader([line], delimiter=delimiter)))


AMAZON_HEADER: Final = _header(
    "order-id\torder-item-id\tpurchase-date\tpayments-date\tbuyer-email\tbuyer-name\t"
    "buyer-phone-number\tsku\tproduct-name\tquantity-purchased\tcurrency\titem-price\t"
    "item-tax\tshipping-price\tshipping-tax\tship-service-level\trecipient-name\t"
    "ship-address-1\tship-address-2\tship-address-3\tship-city\tship-state\t"
    "ship-postal-code\tship-country\tship-phone-number\tdelivery-start-date\t"
    "delivery-end-date\tdelivery-time-zone\tdelivery-Instructions",
    delimiter="\t",
)
FLIPKART_HEADER: Final = _header(
    "Ordered On,Shipment ID,ORDER ITEM ID,Order Id,HSN CODE,Order State,Order Type,FSN,SKU,"
    "Product,Invoice No.,CGST,IGST,SGST,Invoice Date (mm/dd/yy),Invoice Amount,"
    "Selling Price Per Item,Shipping and Handling Charges,Quantity,"
    "Price inc. FKMP Contribution & Subsidy,Buyer name,Ship to name,Address Line 1,"
    "Address Line 2,City,State,PIN Code,Dispatch After date,Dispatch by date,Form requirement,"
    "Tracking ID,Package Length (cm),Package Breadth (cm),Package Height (cm),"
    "Package Weight (kg),Ready to Make,With Attachment"
)
FLIPKART_NUMERIC: Final = frozenset(
    {"Invoice Amount", "Selling Price Per Item", "Shipping and Handling Charges", "Quantity",
     "Price inc. FKMP Contribution & Subsidy", "PIN Code", "Package Length (cm)",
     "Package Breadth (cm)", "Package Height (cm)", "Package Weight (kg)"}
)  # fmt: skip
SHOPIFY_HEADER: Final = _header(
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,Billing City,"
    "Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,"
    "Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,"
    "Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,Employee,"
    "Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,Tax 1 Name,Tax 1 Value,"
    "Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,Tax 4 Name,Tax 4 Value,Tax 5 Name,"
    "Tax 5 Value,Phone,Receipt Number,Duties,Billing Province Name,Shipping Province Name,"
    "Payment ID,Payment Terms Name,Next Payment Due At,Payment References"
)
# The header line exactly as the plugin writes it (PHP fputcsv quotes names holding a space).
WOO_HEADER_LINE: Final = (
    '"Order Number","Order Status","Order Date","Customer Note","First Name (Billing)",'
    '"Last Name (Billing)","Company (Billing)","Address 1&2 (Billing)","City (Billing)",'
    '"State Code (Billing)","Postcode (Billing)","Country Code (Billing)","Email (Billing)",'
    '"Phone (Billing)","First Name (Shipping)","Last Name (Shipping)","Address 1&2 (Shipping)",'
    '"City (Shipping)","State Code (Shipping)","Postcode (Shipping)","Country Code (Shipping)",'
    '"Item #",SKU,Name,"Product Variation",Quantity,"Quantity (- Refund)","Item Cost",'
    '"Order Line (w/o tax)","Order Line Tax","Order Line Total","Order Line Total Refunded",'
    '"Order Line Total (- Refund)","Image URL","Coupon Code","Discount Amount",'
    '"Discount Amount Tax","Payment Method Title","Coupons Used","Cart Discount Amount",'
    '"Order Subtotal Amount","Order Tax Amount","Order Shipping Amount","Order Refund Amount",'
    '"Order Total Amount","Order Total Tax Amount","Total items","Total products"'
)
WOO_HEADER: Final = _header(WOO_HEADER_LINE)
FLIPKART_STATES: Final = ("APPROVED", "PACKED", "READY_TO_DISPATCH")
WOO_STATUS: Final = {"new": "processing", "pending": "on-hold", "cancelled": "cancelled"}
NOTE: Final = "Please call before delivery.\nLeave with the security guard if nobody is home."


def _money(amount: float) -> str:
    return f"{amount:.2f}"


def _gst(amount: float) -> str:
    """The GST inside a tax-inclusive Indian price (18%)."""
    return _money(round(amount * 18 / 118, 2))


def _by_header(header: Sequence[str], cells: dict[str, str]) -> list[str]:
    return [cells.get(name, "") for name in header]


def render_amazon(order: Order) -> list[list[str]]:
    """Amazon order report: line-total prices, UTC ISO dates, states in capitals, no billing."""
    c, n = order.customer, order.number
    utc = order.placed - IST
    base = {
        "order-id": f"{402 + n % 6}-{n * 7_919_321 % 10**7:07d}-{n:07d}",
        "purchase-date": f"{utc.isoformat()}+00:00",
        "payments-date": f"{(utc + timedelta(minutes=3)).isoformat()}+00:00",
        "buyer-email": f"{n * 2_654_435_761 % 16**12:012x}@marketplace.amazon.in",
        "buyer-name": c.name,
        "currency": "INR",
        "ship-service-level": "Expedited" if n % 5 == 0 else "Standard",
        "recipient-name": c.name,
        "ship-address-1": c.line1,
        "ship-address-2": c.line2,
        "ship-city": c.city,
        "ship-state": c.state.upper(),
        "ship-postal-code": c.pincode,
        "ship-country": "IN",
        "ship-phone-number": c.phone,
    }
    rows = []
    for k, line in enumerate(order.lines):
        total = line.product.price * line.quantity
        rows.append(
            _by_header(
                AMAZON_HEADER,
                base
                | {
                    "order-item-id": f"{30_000_000_000_000 + n * 10 + k}",
                    "sku": line.product.sku,
                    "product-name": f"{line.product.title} ({line.product.colour})",
                    "quantity-purchased": str(line.quantity),
                    "item-price": _money(total),
                    "item-tax": _gst(total),
                    "shipping-price": _money(line.shipping),
                    "shipping-tax": _gst(line.shipping),
                },
            )
        )
    return rows


def _flipkart_date(moment: datetime, *, time: bool) -> str:
    day = f"{MONTHS[moment.month - 1]} {moment.day:02d}, {moment.year}"
    return f"{day} {moment.time().isoformat()}" if time else day


def render_flipkart(order: Order) -> list[list[str]]:
    """Flipkart Seller Hub: date without time, item ids with a leading "'", no phone, no billing."""
    c, n = order.customer, order.number
    state = "CANCELLED" if order.status == "cancelled" else FLIPKART_STATES[n % 3]
    base = {
        "Ordered On": _flipkart_date(order.placed, time=False),
        "Shipment ID": f"SHP{n * 104_729 % 10**12:012d}",
        "Order Id": f"OD4{n * 104_729 % 10**17:017d}",
        "Order State": state,
        "Order Type": "COD" if order.cod else "Prepaid",
        "CGST": "NA",
        "SGST": "NA",
        "Buyer name": c.name,
        "Ship to name": c.name,
        "Address Line 1": c.line1,
        "Address Line 2": c.line2,
        "City": c.city,
        "State": c.state,
        "PIN Code": c.pincode,
        "Dispatch After date": _flipkart_date(order.placed + timedelta(hours=2), time=True),
        "Dispatch by date": _flipkart_date(order.placed + timedelta(hours=26), time=True),
        "Form requirement": "NA",
        "Ready to Make": "false",
        "With Attachment": "false",
    }
    rows = []
    for k, line in enumerate(order.lines, 1):
        p = line.product
        cells = {
            "ORDER ITEM ID": f"'43{n:012d}{k:04d}",
            "HSN CODE": p.hsn,
            "FSN": f"{p.sku.split('-')[1][:3]}F{p.index * 7_919_321 % 16**12:012X}",
            "SKU": p.sku,
            "Product": f"{p.title} ({p.colour})",
            "Invoice Amount": _money(p.price * line.quantity + line.shipping),
            "Selling Price Per Item": _money(p.price),
            "Shipping and Handling Charges": _money(line.shipping),
            "Quantity": str(line.quantity),
            "Price inc. FKMP Contribution & Subsidy": _money(p.price),
            "Package Length (cm)": "30",
            "Package Breadth (cm)": "25",
            "Package Height (cm)": "6",
            "Package Weight (kg)": "0.6",
        }
        rows.append(_by_header(FLIPKART_HEADER, base | cells))
    return rows


def _address_cells(prefix: str, who: Customer) -> dict[str, str]:
    """Shopify's address block for "Billing" or "Shipping"."""
    return {
        f"{prefix} Name": who.name,
        f"{prefix} Street": f"{who.line1} {who.line2}".strip(),
        f"{prefix} Address1": who.line1,
        f"{prefix} Address2": who.line2,
        f"{prefix} City": who.city,
        f"{prefix} Zip": f"'{who.pincode}",
        f"{prefix} Province": who.state_code,
        f"{prefix} Country": "IN",
        f"{prefix} Phone": f"+91{who.phone}",
        f"{prefix} Province Name": who.state,
    }


def _shopify_order(order: Order) -> dict[str, str]:
    """The order columns Shopify writes on an order's first row only."""
    n = order.number
    subtotal = sum(line.product.price * line.quantity for line in order.lines)
    shipping = sum(line.shipping for line in order.lines)
    discount = sum(line.discount for line in order.lines)
    total = subtotal + shipping - discount
    cancelled = order.status == "cancelled"
    paid = not order.cod and not cancelled
    reference = f"c{n * 2_654_435_761 % 10**13:013d}.1" if paid else ""
    return {
        "Financial Status": "voided" if cancelled else "paid" if paid else "pending",
        "Paid at": f"{(order.placed + timedelta(minutes=1)).isoformat(' ')} +0530" if paid else "",
        "Fulfillment Status": "unfulfilled",
        "Accepts Marketing": "yes" if n % 3 == 0 else "no",
        "Currency": "INR",
        "Subtotal": _money(subtotal),
        "Shipping": _money(shipping),
        "Taxes": _gst(total),
        "Total": _money(total),
        "Discount Code": "FESTIVE10" if discount else "",
        "Discount Amount": _money(discount),
        "Shipping Method": "Standard Shipping",
        **_address_cells("Billing", order.billing),
        **_address_cells("Shipping", order.customer),
        "Notes": NOTE if n % 9 == 4 else "",
        "Cancelled at": f"{(order.placed + timedelta(hours=2)).isoformat(' ')} +0530"
        if cancelled
        else "",
        "Payment Method": "Cash on Delivery (COD)"
        if order.cod
        else "Razorpay Secure (UPI, Cards, Wallets, NetBanking)",
        "Refunded Amount": "0.00",
        "Outstanding Balance": _money(total) if order.cod and not cancelled else "0.00",
        "Id": str(6_100_000_000_000 + n * 7919),
        "Risk Level": "Low",
        "Source": "web",
        "Tax 1 Name": "IGST 18%",
        "Tax 1 Value": _gst(total),
        "Phone": f"+91{order.customer.phone}",
        "Payment ID": reference,
        "Payment References": reference,
    }


def render_shopify(order: Order) -> list[list[str]]:
    """Shopify: order columns on the first row only; item and a few order columns on every row."""
    every = {
        "Name": f"#{order.number}",
        "Email": order.customer.email,
        "Created at": f"{order.placed.isoformat(' ')} +0530",
        "Vendor": "Oker Basics",
    }
    rows = []
    for k, line in enumerate(order.lines):
        p = line.product
        item = {
            "Lineitem quantity": str(line.quantity),
            "Lineitem name": f"{p.title} - {p.colour}",
            "Lineitem price": _money(p.price),
            "Lineitem compare at price": _money(p.price + 200),
            "Lineitem sku": p.sku,
            "Lineitem requires shipping": "true",
            "Lineitem taxable": "true",
            "Lineitem fulfillment status": "pending",
            "Lineitem discount": "0.00",
        }
        first = _shopify_order(order) if k == 0 else {}
        rows.append(_by_header(SHOPIFY_HEADER, first | every | item))
    return rows


def _street(who: Customer) -> str:
    return f"{who.line1}, {who.line2}" if who.line2 else who.line1


def _woo_order(order: Order) -> dict[str, str]:
    """The order columns WooCommerce repeats on each of the order's rows."""
    c, b = order.customer, order.billing
    subtotal = sum(line.product.price * line.quantity for line in order.lines)
    shipping = sum(line.shipping for line in order.lines)
    discount = sum(line.discount for line in order.lines)
    return {
        "Order Number": str(order.number),
        "Order Status": WOO_STATUS[order.status],
        "Order Date": order.placed.isoformat(" ", "minutes"),
        "Customer Note": "Please deliver after 6 pm" if order.number % 7 == 2 else "",
        "First Name (Billing)": b.first,
        "Last Name (Billing)": b.last,
        "Address 1&2 (Billing)": _street(b),
        "City (Billing)": b.city,
        "State Code (Billing)": b.state_code,
        "Postcode (Billing)": b.pincode,
        "Country Code (Billing)": "IN",
        "Email (Billing)": c.email,
        "Phone (Billing)": c.phone,
        "First Name (Shipping)": c.first,
        "Last Name (Shipping)": c.last,
        "Address 1&2 (Shipping)": _street(c),
        "City (Shipping)": c.city,
        "State Code (Shipping)": c.state_code,
        "Postcode (Shipping)": c.pincode,
        "Country Code (Shipping)": "IN",
        "Payment Method Title": "Cash on delivery" if order.cod else "UPI / Cards (Razorpay)",
        "Coupons Used": "diwali10" if discount else "",
        "Cart Discount Amount": _money(discount),
        "Order Subtotal Amount": _money(subtotal),
        "Order Tax Amount": "0.00",
        "Order Shipping Amount": _money(shipping),
        "Order Refund Amount": "0.00",
        "Order Total Amount": _money(subtotal + shipping - discount),
        "Order Total Tax Amount": "0.00",
        "Total items": str(sum(line.quantity for line in order.lines)),
        "Total products": str(len(order.lines)),
    }


def render_woocommerce(order: Order) -> list[list[str]]:
    """WooCommerce (Advanced Order Export): one row per product, order columns repeated."""
    base = _woo_order(order)
    rows = []
    for k, line in enumerate(order.lines, 1):
        p, total = line.product, _money(line.product.price * line.quantity)
        item = {
            "Item #": str(k),
            "SKU": p.sku,
            "Name": p.title,
            "Product Variation": f"Colour: {p.colour}",
            "Quantity": str(line.quantity),
            "Quantity (- Refund)": str(line.quantity),
            "Item Cost": _money(p.price),
            "Order Line (w/o tax)": total,
            "Order Line Tax": "0.00",
            "Order Line Total": total,
            "Order Line Total Refunded": "0.00",
            "Order Line Total (- Refund)": total,
            "Image URL": f"https://shop.example.com/wp-content/uploads/2026/10/{p.sku.lower()}.jpg",
            "Discount Amount": "0.00",
            "Discount Amount Tax": "0.00",
        }
        rows.append(_by_header(WOO_HEADER, base | item))
    return rows


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
            row[sla] = row[sla] or _oker_date(placed + timedelta(hours=48))
        rows[1][column] = _oker_date(placed + timedelta(hours=1))
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
        for k in _inject(rows, column, plan):
            if plan.fix:
                fixes.append(Fix(spec.name, firsts[i] + k, plan.column, rows[k][column], before[k]))
            else:
                bad.append(BadCell(spec.name, firsts[i] + k, plan.column, plan.kind, plan.stage))
        if not plan.fix:
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
