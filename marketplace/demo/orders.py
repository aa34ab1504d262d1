"""A year of purchase orders for the demo buyers, and order lines in bulk for benchmarks.

Orders are simulated rather than replayed through the services (which would take minutes):
each order gets a plan — when it was submitted, whether it needed approval and got it, and for
each producer's part when it was accepted or declined, shipped, received, disputed, settled or
cancelled — and only the events already past are applied, each checked against the sub-order's
transition table. The rows the services would have written are then inserted in bulk with
explicit ids:

- order lines with the snapshot `orders.services._snapshot_line` takes (product, producer,
  county, township, village and its 脱贫村 flag, category, unit, price, and the certificate
  valid on the day of the order);
- stock movements: the take at submission, a release on cancel or decline and for what was
  not shipped, and a restock whenever a producer would have run short, so every product's
  ledger still sums to its stock;
- the audit events the order pages show as their timeline, the notices the services would
  have sent to users who exist, and ratings;
- order numbers drawn from the counters `submit_purchase_order` uses, so an order submitted
  afterwards never collides.
"""

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from operator import itemgetter

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from marketplace.accounts.models import Role, User
from marketplace.audit.models import AuditEvent
from marketplace.buyers.models import BuyerProfile, Channel, DeliveryAddress
from marketplace.catalog.models import Category, Product, StockMovement
from marketplace.catalog.pictures import line_of
from marketplace.certification.models import Certificate
from marketplace.clock import now as clock_now
from marketplace.demo import data
from marketplace.extensions import db
from marketplace.money import line_amount
from marketplace.notices.models import Notice
from marketplace.orders.models import (
    OrderLine,
    PurchaseOrder,
    SubOrder,
    SubOrderStatus,
    SupplierRating,
    derive_order_status,
)
from marketplace.orders.services import DELIVERY_WINDOWS
from marketplace.organisations.models import Organisation
from marketplace.places.models import County, Township, Village
from marketplace.sequences import Counter

S = SubOrderStatus
H = timedelta(hours=1)
Q3 = Decimal("0.001")


# What an order is made of ------------------------------------------------------------------


@dataclass(slots=True)
class Item:
    """A product as an order line snapshots it, and the certificates that put it on sale."""

    id: int
    org_id: int
    name: str
    specification: str
    unit: str
    price_fen: int
    min_qty: Decimal
    step: Decimal
    category_id: int
    category_code: str
    category_name: str
    certs: list  # (valid_from, valid_until, id, number), newest first
    season: tuple  # weight per month, index 1..12

    def certificate_on(self, day: date):
        for cert in self.certs:
            if cert[0] <= day <= cert[1]:
                return cert
        return None


@dataclass(slots=True)
class Producer:
    id: int
    name: str
    county_id: int
    county_name: str
    township_id: int | None
    township_name: str
    village_id: int | None
    village_name: str
    formerly_poor: bool
    items: list = field(default_factory=list)
    by_month: dict = field(default_factory=dict)  # month -> (items, cumulative weights)
    users: list = field(default_factory=list)  # (id, display name)
    mixes: dict = field(default_factory=dict)  # month -> {category code: seasonal weight}

    def mix(self, month: int) -> dict:
        if month not in self.mixes:
            mix: dict[str, float] = {}
            for item in self.items:
                mix[item.category_code] = mix.get(item.category_code, 0) + item.season[month]
            self.mixes[month] = mix
        return self.mixes[month]

    def pick(self, rng, month: int) -> Item:
        if month not in self.by_month:
            self.by_month[month] = (self.items, list(accumulate(i.season[month]
                                                                for i in self.items)))
        items, cumulative = self.by_month[month]
        return items[bisect(cumulative, rng.random() * cumulative[-1])]


@dataclass(slots=True)
class Buyer:
    id: int
    name: str
    org_type: str
    channel: str
    address: str
    contact: str
    phone: str
    invoice_title: str
    tax_number: str
    threshold: int | None
    purchasers: list  # (id, display name)
    approvers: list

    def purchaser(self, rng):
        return rng.choice(self.purchasers) if self.purchasers else (None, f"{self.name}采购员")

    def approver(self, rng):
        return rng.choice(self.approvers) if self.approvers else (None, f"{self.name}负责人")


@dataclass
class Catalogue:
    producers: dict  # id -> Producer
    buyers: list
    admin: tuple  # (id, display name)
    tables: dict = field(default_factory=dict)  # (buyer type, month) -> (producers, cumulative)

    def producers_for(self, org_type: str, month: int):
        key = (org_type, month)
        if key not in self.tables:
            taste = data.TASTES.get(org_type, {})
            producers = list(self.producers.values())
            # A producer with a login (the demo's) is a busy one: its history fills a page.
            weights = [sum(taste.get(code, 1) * weight for code, weight in p.mix(month).items())
                       * (4 if p.users else 1) for p in producers]
            self.tables[key] = (producers, list(accumulate(weights)))
        return self.tables[key]

    def pick_producer(self, rng, org_type: str, month: int) -> Producer:
        producers, cumulative = self.producers_for(org_type, month)
        return producers[bisect(cumulative, rng.random() * cumulative[-1])]


def _season(name: str) -> tuple:
    line = line_of(name)
    peak, off = data.SEASONS.get(line.keyword if line else "", ((), 1.0))
    return (0.0,) + tuple((3.0 if m in peak else off) if peak else 1.0 for m in range(1, 13))


def _load_catalogue() -> Catalogue:
    """Products that were ever on sale (active, producer verified, an active certificate)."""
    certs: dict[int, list] = {}
    for product_id, valid_from, valid_until, cert_id, number in db.session.execute(
            select(Certificate.product_id, Certificate.valid_from, Certificate.valid_until,
                   Certificate.id, Certificate.number)
            .where(Certificate.status == "active").order_by(Certificate.issued_on.desc())):
        certs.setdefault(product_id, []).append((valid_from, valid_until, cert_id, number))
    producers: dict[int, Producer] = {}
    for row in db.session.execute(
            select(Organisation.id, Organisation.name, Organisation.county_id, County.name,
                   Organisation.township_id, Township.name, Organisation.village_id,
                   Village.name, Village.formerly_poor)
            .join(County, County.id == Organisation.county_id)
            .outerjoin(Township, Township.id == Organisation.township_id)
            .outerjoin(Village, Village.id == Organisation.village_id)
            .where(Organisation.kind == "producer", Organisation.status == "verified")):
        producers[row[0]] = Producer(row[0], row[1], row[2], row[3], row[4], row[5] or "",
                                     row[6], row[7] or "", bool(row[8]))
    for row in db.session.execute(
            select(Product.id, Product.organisation_id, Product.name, Product.specification,
                   Product.unit, Product.price_fen, Product.min_order_qty, Product.qty_step,
                   Product.category_id, Category.code, Category.name)
            .join(Category, Category.id == Product.category_id)
            .where(Product.status == "active").order_by(Product.id)):
        producer = producers.get(row[1])
        if producer is None or row[0] not in certs:
            continue
        producer.items.append(Item(row[0], row[1], row[2], row[3], row[4], row[5],
                                   Decimal(row[6]), Decimal(row[7]), row[8], row[9], row[10],
                                   certs[row[0]], _season(row[2])))
    producers = {k: p for k, p in producers.items() if p.items}
    for user_id, name, org_id in db.session.execute(
            select(User.id, User.display_name, User.organisation_id)
            .where(User.role == Role.PRODUCER, User.active.is_(True))):
        if org_id in producers:
            producers[org_id].users.append((user_id, name))
    admin = db.session.execute(select(User.id, User.display_name)
                               .where(User.role == Role.ADMIN).order_by(User.id)).first()
    return Catalogue(producers, _load_buyers(), tuple(admin) if admin else (None, "市农业农村局"))


def _load_buyers() -> list[Buyer]:
    buyers = []
    members: dict[int, dict[str, list]] = {}
    for user_id, name, org_id, role in db.session.execute(
            select(User.id, User.display_name, User.organisation_id, User.role)
            .where(User.role.in_((Role.BUYER, Role.BUYER_APPROVER)), User.active.is_(True))
            .order_by(User.id)):
        members.setdefault(org_id, {}).setdefault(role, []).append((user_id, name))
    for org, profile in db.session.execute(
            select(Organisation, BuyerProfile)
            .join(BuyerProfile, BuyerProfile.organisation_id == Organisation.id)
            .where(Organisation.kind == "buyer", Organisation.status == "verified")
            .order_by(Organisation.id)):
        address = db.session.scalar(select(DeliveryAddress).where(
            DeliveryAddress.organisation_id == org.id, DeliveryAddress.active.is_(True))
            .order_by(DeliveryAddress.id))
        if address is None:
            continue
        roles = members.get(org.id, {})
        buyers.append(Buyer(org.id, org.name, org.org_type,
                            Channel.OF_TYPE.get(org.org_type, ""), address.address,
                            address.contact_name, address.contact_phone, profile.invoice_title,
                            profile.tax_number, profile.approval_threshold_fen,
                            roles.get(Role.BUYER, []), roles.get(Role.BUYER_APPROVER, [])))
    return buyers


# Plans: what will happen to an order, and when ---------------------------------------------


@dataclass(slots=True)
class LineDraft:
    id: int
    item: Item
    quantity: Decimal
    position: int
    cert: tuple
    shipped: Decimal | None = None
    received: Decimal | None = None


@dataclass(slots=True)
class SubDraft:
    id: int
    number: str
    producer: Producer
    lines: list
    status: str = ""
    routed_at: datetime | None = None
    accept_by: datetime | None = None
    shipped_at: datetime | None = None
    received_on: date | None = None
    due_fen: int | None = None
    decline_reason: str = ""
    dispute_reason: str = ""
    resolution: str = ""
    events: list = field(default_factory=list)  # (at, event, payload)

    @property
    def ordered_fen(self) -> int:
        return sum(line_amount(li.item.price_fen, li.quantity) for li in self.lines)


@dataclass
class Script:
    """A hand-made order for a demo login: who, when (hours before now), which path."""

    buyer: int  # index into the catalogue's buyers
    hours_ago: float
    subs: list  # per sub-order: list of (event, hours before now, payload)
    producer: int | None = None  # the first sub-order's producer
    approval: list | None = None  # order events: (event, hours before now, reason)
    big: bool = False  # over the approval threshold
    small: bool = False  # under it


def _weighted_days(rng, start: date, days: int, volume: dict, weekend: float, count: int):
    choices = [start + timedelta(days=k) for k in range(days)]
    weights = [volume.get(d.month, 1.0) * (weekend if d.weekday() >= 5 else 1.0)
               for d in choices]
    return rng.choices(choices, weights=weights, k=count)


def _clock(rng) -> time:
    hour = rng.choice((7, 7, 8, 8, 8, 9, 9, 10, 10, 11, 14, 15, 16))
    return time(hour, rng.randrange(60), rng.randrange(60))


def _quantity(rng, item: Item, org_type: str) -> Decimal:
    if item.unit in ("斤", "公斤"):
        factor = rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 10))
    else:
        factor = rng.choice((1, 1, 1, 2, 2, 3, 4, 5, 6))
    if org_type == "trade_union" and item.category_code in ("bee", "grain_oil", "fungi", "herb"):
        factor *= rng.randint(5, 20)  # a gift for every member
    quantity = item.min_qty * factor
    steps = (quantity / item.step).to_integral_value(rounding="ROUND_CEILING")
    return max(item.min_qty, steps * item.step).quantize(Q3)


def _less(rng, quantity: Decimal, step: Decimal, share=(0.05, 0.25)) -> Decimal:
    """A little less than `quantity`, on the unit step, not below 0."""
    steps = int(quantity / step)
    cut = max(1, round(steps * rng.uniform(*share)))
    return max(Decimal(0), (steps - cut) * step).quantize(Q3)


def _after(at: datetime, rng, low: float, high: float) -> datetime:
    return at + timedelta(hours=rng.uniform(low, high))


def _plan_sub(rng, sub: SubDraft, routed: datetime, delivery: date, hours: int) -> None:
    """The producer's answer and what follows, from the moment the part is routed."""
    events = sub.events
    roll = rng.random()
    deadline = routed + timedelta(hours=hours)
    if roll < 0.03:
        events.append((_after(routed, rng, 0.5, 10), "decline", rng.choice(data.DECLINE_REASONS)))
        return
    if roll < 0.045:  # no answer; the buyer cancels once the deadline has passed
        events.append((_after(deadline, rng, 1, 48), "cancel", data.OVERDUE_CANCEL_REASON))
        return
    accepted = min(_after(routed, rng, 0.2, 14), deadline - timedelta(minutes=5))
    events.append((accepted, "accept", None))
    if roll < 0.065:
        events.append((_after(accepted, rng, 1, 12), "cancel", rng.choice(data.CANCEL_REASONS)))
        return
    shipped = max(accepted + H, datetime.combine(delivery, time(5)) + timedelta(
        minutes=rng.randrange(240)))
    events.append((shipped, "ship", {"short": rng.random() < 0.06}))
    roll = rng.random()
    if roll < 0.015:  # disputed on arrival, before any receipt
        disputed = _after(shipped, rng, 1, 6)
        events.append((disputed, "dispute", rng.choice(data.DISPUTE_REASONS)))
        if rng.random() < 0.85:
            events.append((_after(disputed, rng, 20, 120), "resolve",
                           rng.choice(data.RESOLUTIONS)))
        last = events[-1][0]
    else:
        received = _after(shipped, rng, 1, 5)
        events.append((received, "receive", {"short": rng.random() < 0.12}))
        last = received
        if roll < 0.04:
            disputed = _after(received, rng, 2, 48)
            events.append((disputed, "dispute", rng.choice(data.DISPUTE_REASONS)))
            last = None
            if rng.random() < 0.85:
                last = _after(disputed, rng, 20, 120)
                events.append((last, "resolve", rng.choice(data.RESOLUTIONS)))
    if last is not None and rng.random() < 0.3:
        events.append((_after(last, rng, 1, 72), "rate", None))


# Building the rows -------------------------------------------------------------------------


def _later(msgid: str, **values) -> tuple:
    """A notice's text, translated only if someone is there to receive it (the same
    messages as the services send)."""
    return msgid, values


def _to_minimum(subs) -> None:
    for line in (li for s in subs for li in s.lines):
        line.quantity = line.item.min_qty


def _one_line_each(subs) -> None:
    for sub in subs:
        del sub.lines[1:]


def _one_producer(subs) -> None:
    del subs[1:]


class Writer:
    """Buffers the rows of many orders and inserts them in bulk, parents first."""

    TABLES = (PurchaseOrder, SubOrder, OrderLine, SupplierRating, AuditEvent, Notice)
    FLUSH_LINES = 20_000  # rows are written about this many order lines at a time

    def __init__(self):
        self.rows = {model: [] for model in self.TABLES}
        self.next_id = {model: (db.session.scalar(select(func.max(model.id))) or 0) + 1
                        for model in (*self.TABLES, StockMovement)}
        self.moves: dict[int, list] = {}  # product id -> [(at, delta, reason, sub id, actor)]
        self.counts = {model.__tablename__: 0 for model in self.TABLES}

    def take_id(self, model) -> int:
        value = self.next_id[model]
        self.next_id[model] = value + 1
        return value

    def add(self, model, row: dict) -> None:
        if "id" not in row:
            row["id"] = self.take_id(model)
        self.rows[model].append(row)

    def order_done(self) -> None:
        """Between orders every row's parent is buffered too: a good moment to write."""
        if len(self.rows[OrderLine]) >= self.FLUSH_LINES:
            self.flush()

    def move(self, product_id: int, at: datetime, delta: Decimal, reason: str, sub_id: int,
             actor_id) -> None:
        self.moves.setdefault(product_id, []).append((at, delta, reason, sub_id, actor_id))

    def flush(self) -> None:
        for model in self.TABLES:
            rows = self.rows[model]
            if rows:
                bulk_insert(model.__table__, rows)
                self.counts[model.__tablename__] += len(rows)
                self.rows[model] = []


def _sqlite_value(column):
    """How sqlite3 must be given a value of this column (SQLAlchemy's own storage formats)."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return None
    if kind is datetime:
        return lambda v: v.isoformat(" ", "microseconds")
    if kind is date:
        return date.isoformat
    if kind is Decimal:
        return str
    if kind is bool:
        return int
    return None


def _fill_defaults(table, rows: list[dict]) -> None:
    """Give the rows the scalar default of each column they leave out (a column added later)."""
    if not rows:
        return
    missing = {}
    for column in table.columns:
        if column.name in rows[0]:
            continue
        if column.default is None or not column.default.is_scalar:
            raise KeyError(f"{table.name}.{column.name} has no scalar default: give it a value")
        missing[column.name] = column.default.arg
    if missing:
        for row in rows:
            row.update(missing)


def bulk_insert(table, rows: list[dict]) -> None:
    """Insert many rows fast, in the session's transaction: COPY on PostgreSQL, executemany
    on SQLite, either way without SQLAlchemy's per-row parameter processing (which costs more
    than the database at a million rows)."""
    names = [c.name for c in table.columns]
    _fill_defaults(table, rows)
    values = map(itemgetter(*names), rows)  # every row names every column
    cursor = db.session.connection().connection.cursor()
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        for column in table.columns:
            convert = _sqlite_value(column)
            if convert is not None:
                name = column.name
                for row in rows:
                    if row[name] is not None:
                        row[name] = convert(row[name])
        values = map(itemgetter(*names), rows)
        cursor.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
                           f"({', '.join('?' * len(names))})", values)
    finally:
        cursor.close()


class Simulation:
    def __init__(self, catalogue: Catalogue, rng: random.Random, at: datetime, writer: Writer):
        self.catalogue = catalogue
        self.rng = rng
        self.now = at
        self.writer = writer
        self.hours = current_app.config["ORDER_ACCEPT_HOURS"]

    # An order's lines
    def draft_lines(self, buyer: Buyer, day: date, n_lines: int, first_producer=None,
                    n_producers=None):
        """Lines from a few producers, each on sale that day; grouped by producer."""
        rng, catalogue = self.rng, self.catalogue
        taste = data.TASTES.get(buyer.org_type, {})
        n_producers = n_producers or min(n_lines, rng.choice((1, 1, 2, 2, 2, 3, 3, 4)))
        groups: dict[int, dict[int, Item]] = {}
        attempts = 0
        count = 0
        while count < n_lines and attempts < n_lines * 200:
            attempts += 1
            if attempts == n_lines * 4:
                n_producers = n_lines  # these producers have too little on sale that day
            if first_producer is not None and not groups:
                producer = catalogue.producers[first_producer]
            elif len(groups) < n_producers:
                producer = catalogue.pick_producer(rng, buyer.org_type, day.month)
            else:
                producer = catalogue.producers[rng.choice(list(groups))]
            item = producer.pick(rng, day.month)
            if (item.certificate_on(day) is None or rng.random() > min(
                    1.0, taste.get(item.category_code, 1)) or item.id in groups.get(
                    producer.id, {})):
                continue
            groups.setdefault(producer.id, {})[item.id] = item
            count += 1
        return [(catalogue.producers[pid], list(items.values())) for pid, items in
                sorted(groups.items())]

    def order(self, buyer: Buyer, submitted: datetime, number: str, n_lines: int,
              script: Script | None = None) -> None:
        rng, writer = self.rng, self.writer
        self.buyer = buyer
        day = submitted.date()
        groups = self.draft_lines(buyer, day, n_lines, script.producer if script else None,
                                  len(script.subs) if script else None)
        if not groups:
            return
        order_id = self.order_id = writer.take_id(PurchaseOrder)
        subs = []
        position = 0
        for k, (producer, items) in enumerate(groups, start=1):
            lines = []
            for item in items:
                lines.append(LineDraft(writer.take_id(OrderLine), item,
                                       _quantity(rng, item, buyer.org_type), position,
                                       item.certificate_on(day)))
                position += 1
            subs.append(SubDraft(writer.take_id(SubOrder), f"{number}-{k}", producer, lines))
        total = sum(s.ordered_fen for s in subs)
        if script and script.big:
            while total <= (buyer.threshold or 0):
                for line in (li for s in subs for li in s.lines):
                    line.quantity = (line.quantity * 2).quantize(Q3)
                total = sum(s.ordered_fen for s in subs)
        if script and script.small and buyer.threshold is not None:
            # Smallest quantities first, then one line a producer, then fewer producers.
            for shrink in (_to_minimum, _one_line_each, _one_producer):
                if total <= buyer.threshold:
                    break
                shrink(subs)
                total = sum(s.ordered_fen for s in subs)
        needs_approval = buyer.threshold is not None and total > buyer.threshold
        delivery = day + timedelta(days=rng.choice((1, 1, 1, 1, 2, 3)))
        purchaser = buyer.purchaser(rng)
        approver = buyer.approver(rng)

        # The plan: order-level decisions first, then each routed part.
        order_events = []  # (at, event, payload)
        routed = submitted
        if script is not None:
            for event, hours_ago, payload in script.approval or ():
                order_events.append((self.now - timedelta(hours=hours_ago), event, payload))
            for sub, path in zip(subs, script.subs, strict=False):
                sub.events = [(self.now - timedelta(hours=h), event, payload)
                              for event, h, payload in path]
            if needs_approval and script.approval is None and any(s.events for s in subs):
                order_events.append((submitted + H, "approve", None))
        else:
            if needs_approval:
                roll = rng.random()
                if roll < 0.08:
                    returned = _after(submitted, rng, 1, 20)
                    order_events.append((returned, "return", rng.choice(data.RETURN_REASONS)))
                    if roll < 0.04:
                        resubmitted = _after(returned, rng, 2, 30)
                        order_events.append((resubmitted, "resubmit", None))
                        routed = _after(resubmitted, rng, 1, 10)
                        order_events.append((routed, "approve", None))
                    else:
                        order_events.append((_after(returned, rng, 20, 72), "cancel",
                                             rng.choice(data.CANCEL_REASONS)))
                        routed = None
                else:
                    routed = _after(submitted, rng, 0.5, 20)
                    order_events.append((routed, "approve", None))
            if routed is not None:
                for sub in subs:
                    _plan_sub(rng, sub, routed, delivery, self.hours)

        # Apply what has happened by now.
        initial = S.AWAITING_APPROVAL if needs_approval else S.PENDING
        audit, notices = [], []
        for sub in subs:
            sub.status = initial
            if not needs_approval:
                sub.routed_at = submitted
                sub.accept_by = submitted + timedelta(hours=self.hours)
        order_status = derive_order_status(s.status for s in subs)
        audit.append((submitted, purchaser, "order.submitted", "purchase_orders", order_id,
                      None, order_status, f"{number} ¥{total / 100:.2f}"))
        for sub in subs:
            audit.append((submitted, purchaser, "suborder.created", "sub_orders", sub.id, None,
                          initial, ""))
            for line in sub.lines:
                writer.move(line.item.id, submitted, -line.quantity, "order", sub.id,
                            purchaser[0])
            if not needs_approval:
                notices.append(("producer", sub, submitted, _later("新订单 %(n)s 待接单", n=sub.number)))
        if needs_approval:
            notices.append(("approvers", None, submitted, _later("采购单 %(n)s 待审批", n=number)))

        timeline = [(at, 0, None, event, payload) for at, event, payload in order_events]
        for index, sub in enumerate(subs):
            timeline += [(at, 1, index, event, payload) for at, event, payload in sub.events]
        timeline.sort(key=lambda t: (t[0], t[1], -1 if t[2] is None else t[2]))
        for at, _scope, index, event, payload in timeline:
            if at > self.now:
                break
            if index is None:
                self._order_event(at, event, payload, subs, number, purchaser, approver,
                                  audit, notices)
            else:
                self._sub_event(at, event, payload, subs[index], purchaser, audit, notices)

        statuses = [s.status for s in subs]
        writer.add(PurchaseOrder, {
            "id": order_id, "number": number, "buyer_org_id": buyer.id,
            "created_by_id": purchaser[0], "status": str(derive_order_status(statuses)),
            "buyer_type": buyer.org_type, "channel": buyer.channel, "buyer_name": buyer.name,
            "delivery_address": buyer.address, "delivery_contact": buyer.contact,
            "delivery_phone": buyer.phone, "delivery_date": delivery,
            "delivery_window": rng.choice(DELIVERY_WINDOWS), "invoice_title": buyer.invoice_title,
            "tax_number": buyer.tax_number, "notes": rng.choice(data.ORDER_NOTES),
            "total_fen": total, "needs_approval": needs_approval,
            "idempotency_key": f"demo-{order_id}", "submitted_at": submitted,
        })
        for sub in subs:
            writer.add(SubOrder, {
                "id": sub.id, "purchase_order_id": order_id, "producer_org_id": sub.producer.id,
                "number": sub.number, "status": str(sub.status),
                "producer_name": sub.producer.name, "ordered_fen": sub.ordered_fen,
                "due_fen": sub.due_fen, "routed_at": sub.routed_at, "accept_by": sub.accept_by,
                "shipped_at": sub.shipped_at, "received_on": sub.received_on,
                "decline_reason": sub.decline_reason, "dispute_reason": sub.dispute_reason,
                "resolution": sub.resolution,
            })
            self._lines(sub)
        for at, actor, action, subject_type, subject_id, old, new, reason in audit:
            writer.add(AuditEvent, {
                "at": at, "actor_id": actor[0], "actor_name": actor[1], "action": action,
                "subject_type": subject_type, "subject_id": subject_id,
                "from_status": str(old) if old is not None else None,
                "to_status": str(new) if new is not None else None, "reason": reason,
            })
        self._notices(buyer, order_id, notices)
        writer.order_done()

    def _lines(self, sub: SubDraft) -> None:
        producer = sub.producer
        for line in sub.lines:
            item = line.item
            received_fen = (line_amount(item.price_fen, line.received)
                            if line.received is not None else None)
            self.writer.add(OrderLine, {
                "id": line.id, "sub_order_id": sub.id, "product_id": item.id, "batch_id": None,
                "position": line.position, "product_name": item.name,
                "specification": item.specification, "unit": item.unit,
                "unit_price_fen": item.price_fen, "category_id": item.category_id,
                "category_name": item.category_name, "producer_org_id": producer.id,
                "producer_name": producer.name, "county_id": producer.county_id,
                "county_name": producer.county_name, "township_id": producer.township_id,
                "township_name": producer.township_name, "village_id": producer.village_id,
                "village_name": producer.village_name, "formerly_poor": producer.formerly_poor,
                "certificate_id": line.cert[2], "certificate_number": line.cert[3],
                "quantity": line.quantity, "quantity_shipped": line.shipped,
                "quantity_received": line.received,
                "amount_fen": line_amount(item.price_fen, line.quantity),
                "received_fen": received_fen,
            })

    def _fire(self, sub: SubDraft, event: str, at: datetime, actor, audit, reason: str = ""):
        edge = SubOrder.EDGES[event]
        if sub.status not in edge.source:
            raise AssertionError(f"{sub.number}: {event} from {sub.status}")
        if edge.reason_required and not reason:
            raise AssertionError(f"{sub.number}: {event} needs a reason")
        audit.append((at, actor, f"suborder.{event}", "sub_orders", sub.id, sub.status,
                      edge.target, reason or ""))
        sub.status = edge.target

    def _release(self, sub: SubDraft, at: datetime, actor, keep=None) -> None:
        for line in sub.lines:
            unused = line.quantity - (keep(line) if keep else 0)
            if unused > 0:
                self.writer.move(line.item.id, at, unused, "release", sub.id, actor[0])

    def _order_event(self, at, event, payload, subs, number, purchaser, approver, audit,
                     notices):
        if event == "approve":
            for sub in subs:
                if sub.status == S.AWAITING_APPROVAL:
                    self._fire(sub, "approve", at, approver, audit)
                    sub.routed_at = at
                    sub.accept_by = at + timedelta(hours=self.hours)
                    notices.append(("producer", sub, at, _later("新订单 %(n)s 待接单", n=sub.number)))
            notices.append(("buyers", None, at, _later("采购单 %(n)s 已批准", n=number)))
        elif event == "return":
            for sub in subs:
                if sub.status == S.AWAITING_APPROVAL:
                    self._fire(sub, "return", at, approver, audit, payload)
            notices.append(("buyers", None, at, _later("采购单 %(n)s 被退回：%(r)s", n=number,
                                                  r=payload)))
        elif event == "resubmit":
            for sub in subs:
                if sub.status == S.RETURNED:
                    self._fire(sub, "resubmit", at, purchaser, audit)
            total = sum(s.ordered_fen for s in subs)
            audit.append((at, purchaser, "order.resubmitted", "purchase_orders",
                          self.order_id, None, None, f"¥{total / 100:.2f}"))
        elif event == "cancel":
            for sub in subs:
                if sub.status in SubOrder.EDGES["cancel"].source:
                    self._sub_event(at, "cancel", payload, sub, purchaser, audit, notices)

    def _sub_event(self, at, event, payload, sub: SubDraft, purchaser, audit, notices):
        rng = self.rng
        producer = sub.producer
        maker = rng.choice(producer.users) if producer.users else (None, producer.name)
        if event == "cancel":
            self._fire(sub, "cancel", at, purchaser, audit, payload)
            self._release(sub, at, purchaser)
            if sub.routed_at:
                notices.append(("producer", sub, at, _later("订单 %(n)s 已被采购单位取消", n=sub.number)))
        elif event == "accept":
            self._fire(sub, "accept", at, maker, audit)
            notices.append(("buyers", None, at, _later("%(p)s 已接单 %(n)s", p=producer.name,
                                                  n=sub.number)))
        elif event == "decline":
            self._fire(sub, "decline", at, maker, audit, payload)
            sub.decline_reason = payload
            self._release(sub, at, maker)
            notices.append(("buyers", None, at, _later("%(p)s 拒绝了订单 %(n)s：%(r)s",
                                                  p=producer.name, n=sub.number, r=payload)))
        elif event == "ship":
            self._fire(sub, "ship", at, maker, audit)
            for line in sub.lines:
                line.shipped = line.quantity
            if payload and payload.get("short"):
                line = rng.choice(sub.lines)
                line.shipped = _less(rng, line.quantity, line.item.step)
                if not any(li.shipped for li in sub.lines):
                    line.shipped = line.quantity
            self._release(sub, at, maker, keep=lambda li: li.shipped)
            sub.shipped_at = at
            notices.append(("buyers", None, at, _later("%(p)s 已发货 %(n)s，请验收", p=producer.name,
                                                  n=sub.number)))
        elif event == "receive":
            self._fire(sub, "receive", at, purchaser, audit)
            for line in sub.lines:
                line.received = line.shipped
            if payload and payload.get("short"):
                for line in rng.sample(sub.lines, min(len(sub.lines), rng.choice((1, 1, 2)))):
                    line.received = _less(rng, line.shipped, line.item.step, (0.03, 0.15))
            self._settle(sub)
            sub.received_on = at.date()
            notices.append(("producer", sub, at, _later("订单 %(n)s 已验收，应付 ¥%(a)s", n=sub.number,
                                                   a=f"{sub.due_fen / 100:.2f}")))
        elif event == "dispute":
            self._fire(sub, "dispute", at, purchaser, audit, payload)
            sub.dispute_reason = payload
            notices.append(("producer", sub, at, _later("订单 %(n)s 有争议：%(r)s", n=sub.number,
                                                   r=payload)))
        elif event == "resolve":
            admin = self.catalogue.admin
            if sub.received_on is None:
                sub.received_on = at.date()
            self._fire(sub, "resolve", at, admin, audit, payload)
            sub.resolution = payload
            for line in sub.lines:
                line.received = (line.shipped if rng.random() < 0.5
                                 else _less(rng, line.shipped, line.item.step, (0.02, 0.1)))
            self._settle(sub)
            notices.append(("producer", sub, at, _later("订单 %(n)s 的争议已处理", n=sub.number)))
            notices.append(("buyers", None, at, _later("订单 %(n)s 的争议已处理", n=sub.number)))
        elif event == "rate":
            if sub.status != S.RECEIVED:
                return
            score = rng.choice((5, 5, 5, 4, 4, 4, 3, 2))
            self.writer.add(SupplierRating, {
                "sub_order_id": sub.id, "producer_org_id": producer.id,
                "buyer_org_id": self.buyer.id, "score": score, "comment": rng.choice(
                    data.RATING_COMMENTS), "rated_by_id": purchaser[0], "created_at": at,
            })
            audit.append((at, purchaser, "suborder.rated", "sub_orders", sub.id, None, None,
                          str(score)))

    @staticmethod
    def _settle(sub: SubDraft) -> None:
        sub.due_fen = sum(line_amount(li.item.price_fen, li.received) for li in sub.lines)

    def _notices(self, buyer: Buyer, order_id: int, notices) -> None:
        buyers = buyer.purchasers + buyer.approvers
        for whom, sub, at, message in notices:
            if whom == "producer":
                users, subject = sub.producer.users, ("sub_orders", sub.id)
            elif whom == "approvers":
                users, subject = buyer.approvers, ("purchase_orders", order_id)
            else:
                users, subject = buyers, ("purchase_orders", order_id)
            read = at + timedelta(hours=self.rng.uniform(0.2, 30))
            if users:
                body = _(message[0], **message[1])[:300]
            for user_id, _name in users:
                self.writer.add(Notice, {
                    "user_id": user_id, "text": body, "subject_type": subject[0],
                    "subject_id": subject[1], "created_at": at,
                    "read_at": read if read < self.now - 36 * H else None,
                })


def _reserve_numbers(year: int, count: int) -> int:
    """Take `count` numbers of the year's order counter at once; return the first."""
    name = f"order-{year}"
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(Counter).values(name=name, value=0)
                       .on_conflict_do_nothing(index_elements=["name"]))
    last = db.session.execute(update(Counter).where(Counter.name == name)
                              .values(value=Counter.value + count)
                              .returning(Counter.value)).scalar_one()
    return last - count + 1


def _set_stock(updates: list[tuple[int, Decimal]]) -> None:
    """products.stock = the ledger's last balance, for every product that moved."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("CREATE TEMP TABLE demo_stock (id integer PRIMARY KEY, "
                                   "stock numeric(14, 3)) ON COMMIT DROP")
        cursor = connection.connection.cursor()
        with cursor.copy("COPY demo_stock (id, stock) FROM STDIN") as copy:
            for row in updates:
                copy.write_row(row)
        cursor.close()
        connection.exec_driver_sql("UPDATE products SET stock = demo_stock.stock "
                                   "FROM demo_stock WHERE products.id = demo_stock.id")
    else:
        cursor = connection.connection.cursor()
        cursor.executemany("UPDATE products SET stock = ? WHERE id = ?",
                           [(str(stock), product_id) for product_id, stock in updates])
        cursor.close()


def _write_stock(writer: Writer, rng: random.Random, start: datetime) -> int:
    """Insert the movements in time order per product, restocking before a take would fail."""
    product_ids = sorted(writer.moves)
    query = select(Product.id, Product.stock)
    if len(product_ids) < 10_000:
        query = query.where(Product.id.in_(product_ids))
    stock = dict(db.session.execute(query).all())
    rows, updates = [], []
    for product_id in product_ids:
        balance = Decimal(stock[product_id])
        previous = start
        for at, delta, reason, sub_id, actor in sorted(writer.moves[product_id],
                                                      key=lambda m: m[0]):
            if balance + delta < 0:
                need = -(balance + delta)
                restock = (need + max(-delta * 3, Decimal(50))).to_integral_value()
                when = max(previous + timedelta(seconds=1),
                           at - timedelta(hours=rng.uniform(1, 20)))
                balance += restock
                rows.append({"id": writer.take_id(StockMovement), "product_id": product_id,
                             "delta": restock, "balance": balance, "reason": "restock",
                             "note": "补货入库", "sub_order_id": None, "actor_id": None,
                             "at": when})
            balance += delta
            rows.append({"id": writer.take_id(StockMovement), "product_id": product_id,
                         "delta": delta, "balance": balance, "reason": reason, "note": "",
                         "sub_order_id": sub_id, "actor_id": actor, "at": at})
            previous = at
        updates.append((product_id, balance))
        if len(rows) >= 20_000:
            bulk_insert(StockMovement.__table__, rows)
            rows = []
    if rows:
        bulk_insert(StockMovement.__table__, rows)
    _set_stock(updates)
    # The opening stock was there before the first order.
    movements = StockMovement.__table__
    db.session.execute(movements.update().where(movements.c.reason == "initial",
                                                movements.c.at > start)
                       .values(at=start - timedelta(days=1)))
    return writer.next_id[StockMovement]


@dataclass
class Result:
    orders: int
    sub_orders: int
    lines: int


def _finish(writer: Writer, rng, start: datetime) -> Result:
    writer.flush()
    _write_stock(writer, rng, start)
    from marketplace.demo.generate import _fix_sequences
    from marketplace.reports import rollups

    _fix_sequences()
    rollups.rebuild()  # the orders were written in bulk, past the hooks that keep the roll-ups
    db.session.commit()
    return Result(writer.counts["purchase_orders"], writer.counts["sub_orders"],
                  writer.counts["order_lines"])


def _numbers(slots) -> list[str]:
    """Order numbers in submission order, from each year's counter."""
    years: dict[int, int] = {}
    for submitted, *_rest in slots:
        years[submitted.year] = years.get(submitted.year, 0) + 1
    first = {year: _reserve_numbers(year, count) for year, count in sorted(years.items())}
    numbers = []
    for submitted, *_rest in slots:
        numbers.append(f"CG{submitted.year}{first[submitted.year]:07d}")
        first[submitted.year] += 1
    return numbers


def generate_orders(*, lines: int, seed: int = 2026, days: int = 365) -> Result:
    """Add about `lines` order lines (benchmarks), spread over the last `days` days."""
    rng = random.Random(seed)
    catalogue = _load_catalogue()
    if not catalogue.buyers:
        from marketplace.demo.generate import add_buyers

        add_buyers()
        catalogue.buyers = _load_buyers()
    if not catalogue.producers:
        raise RuntimeError("No product on sale to order: generate a catalogue first.")
    at = clock_now()
    start = at - timedelta(days=days)
    weights = [ORDERS_WEIGHT.get(b.org_type, 1) for b in catalogue.buyers]
    slots, total = [], 0
    while total < lines:
        n = min(lines - total, rng.choice(LINES_PER_ORDER))
        buyer = rng.choices(catalogue.buyers, weights=weights)[0]
        slots.append((buyer, n))
        total += n
    by_buyer: dict[int, list] = {}
    for buyer, n in slots:
        by_buyer.setdefault(buyer.id, []).append(n)
    timed = []
    for buyer in catalogue.buyers:
        counts = by_buyer.get(buyer.id, [])
        days_ = _weighted_days(rng, start.date() + timedelta(days=1), days,
                               data.VOLUME.get(buyer.org_type, {}),
                               0.15 if buyer.org_type in ("school", "government") else 0.7,
                               len(counts))
        for day, n in zip(days_, counts, strict=True):
            submitted = datetime.combine(day, _clock(rng))
            if submitted > at:
                submitted = at - timedelta(minutes=rng.randrange(30, 600))
            timed.append((submitted, buyer, n))
    timed.sort(key=lambda t: t[0])
    if db.session.get_bind().dialect.name == "sqlite":
        # A million rows go into indexes at random places: keep the pages in memory (256 MB)
        # rather than read them again and again from the file.
        db.session.execute(text("PRAGMA cache_size = -262144"))
    writer = Writer()
    simulation = Simulation(catalogue, rng, at, writer)
    for (submitted, buyer, n), number in zip(timed, _numbers(timed), strict=True):
        simulation.order(buyer, submitted, number, n)
    return _finish(writer, rng, start)


#: Lines per order in generated benchmark data (a 10-line order is the benchmark's case).
LINES_PER_ORDER = (1, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8, 8, 9, 10, 10, 12, 14)
ORDERS_WEIGHT = {"canteen": 3, "school": 3, "government": 2, "supermarket": 2}


def demo_orders(seed: int = 2026) -> Result:
    """A year of orders for the demo buyers, and recent ones that wait for each demo login."""
    rng = random.Random(seed)
    catalogue = _load_catalogue()
    at = clock_now()
    start = at - timedelta(days=365)
    timed = []
    hospital = _hospital_index(catalogue)
    for index, buyer in enumerate(catalogue.buyers):
        count = data.ORDERS_A_YEAR.get(buyer.org_type, 40) + (60 if index == hospital else 0)
        days_ = _weighted_days(rng, start.date() + timedelta(days=1), 364,
                               data.VOLUME.get(buyer.org_type, {}),
                               0.15 if buyer.org_type in ("school", "government") else 0.7,
                               count)
        for day in days_:
            submitted = datetime.combine(day, _clock(rng))
            if submitted > at - 40 * H:  # the last two days belong to the scripts below
                submitted -= timedelta(days=2)
            timed.append((submitted, buyer, rng.choice((1, 2, 2, 3, 3, 4, 4, 5, 6, 8)), None))
    for script in _scripts(catalogue, hospital):
        timed.append((at - timedelta(hours=script.hours_ago), catalogue.buyers[script.buyer],
                      max(3, len(script.subs) * 2), script))
    timed.sort(key=lambda t: t[0])
    writer = Writer()
    simulation = Simulation(catalogue, rng, at, writer)
    for (submitted, buyer, n, script), number in zip(timed, _numbers(timed), strict=True):
        simulation.order(buyer, submitted, number, n, script)
    return _finish(writer, rng, start)


def _hospital_index(catalogue: Catalogue) -> int:
    """The buyer the demo logins `buyer` and `approver` belong to (else the first one)."""
    for index, buyer in enumerate(catalogue.buyers):
        if buyer.purchasers and buyer.approvers:
            return index
    return 0


def _scripts(catalogue: Catalogue, hospital: int) -> list[Script]:
    """Recent orders that leave work waiting for every demo login."""
    producer = next((p.id for p in catalogue.producers.values() if p.users), None)
    others = [i for i in range(len(catalogue.buyers)) if i != hospital] or [hospital]
    school = others[0]
    market = others[-1]
    return [
        # approver: orders over the threshold wait for approval (one with the demo producer)
        Script(hospital, 3, [[], []], big=True),
        Script(hospital, 20, [[]], producer=producer, big=True),
        # buyer: a returned order to revise or cancel
        Script(hospital, 30, [[], []], big=True, approval=[("return", 26, data.RETURN_REASONS[0])]),
        # buyer: shipped parts to receive
        Script(hospital, 28, [[("accept", 25, None), ("ship", 2, None)],
                              [("accept", 24, None), ("ship", 3, None)]], small=True),
        Script(hospital, 50, [[("accept", 47, None), ("ship", 5, None)],
                              [("accept", 46, None), ("ship", 26, None),
                               ("receive", 22, {"short": True})]]),
        # producer: parts to accept (one overdue, past its deadline) and to ship
        Script(hospital, 2, [[]], producer=producer, small=True),
        Script(school, 30, [[]], producer=producer, small=True),
        Script(market, 9, [[("accept", 7, None)]], producer=producer, small=True),
        Script(school, 22, [[("accept", 20, None)], [("accept", 19, None)]],
               producer=producer, small=True),
        # admin: disputes to resolve
        Script(hospital, 80, [[("accept", 76, None), ("ship", 60, None),
                               ("receive", 58, {"short": True}),
                               ("dispute", 20, data.DISPUTE_REASONS[0])]]),
        Script(market, 40, [[("accept", 36, None), ("ship", 12, None),
                             ("dispute", 5, data.DISPUTE_REASONS[2])]]),
        # the hospital's history shows a decline and a cancellation
        Script(hospital, 60, [[("decline", 55, data.DECLINE_REASONS[1])],
                              [("accept", 57, None), ("ship", 40, None),
                               ("receive", 38, None), ("rate", 30, None)]]),
        Script(hospital, 45, [[("cancel", 40, data.CANCEL_REASONS[0])]], small=True),
    ]
