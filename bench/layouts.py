"""Marketplace export layouts: each format's header, and one order laid out as its rows.

Oker, Amazon, Flipkart, Shopify and WooCommerce as formats.md describes them. `oker_text` is
`render_oker` as CSV text, fast enough for the million-row benchmark.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, TypeVar

if TYPE_CHECKING:  # bench.exports imports this module
    from bench.exports import Customer, Line, Order, Product

T = TypeVar("T")

IST: Final = timedelta(hours=5, minutes=30)
MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def oker_date(moment: datetime) -> str:
    """An Oker date cell: "2026-11-20 14:05:09" (whole seconds only, so no fraction)."""
    return moment.isoformat(" ")


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
        f"OKP{p.good:05d}",
        f"OKV{p.index:06d}",
        f"{p.title}, {p.colour}",
    ]


def _oker_head(order: Order) -> tuple[str, str]:
    """The order id, and the order cells after the item id (none of them needs quoting)."""
    sla = oker_date(order.placed + timedelta(hours=48)) if order.sla else ""
    rest = (
        f"OKR-{order.number},{oker_date(order.placed)},{sla},{OKER_STATUS[order.status]},"
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


def csv_text(cells: Sequence[str]) -> str:
    """One row as CSV text, without its line end."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _cached(cache: dict[object, str], key: object, cells: Callable[[T], list[str]], of: T) -> str:
    """The CSV text of `cells(of)`, made once per key."""
    text = cache.get(key)
    if text is None:
        text = cache[key] = csv_text(cells(of))
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
