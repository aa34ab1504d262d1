"""Purchase orders: submit, approve or return, route to producers, fulfil, receive, dispute.

Each use case is one transaction: submitting an order reserves stock line by line with
guarded statements, writes the order, its sub-orders and their lines, empties the cart and
notifies who must act — or, if any line cannot be had, changes nothing at all.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.audit.models import record
from marketplace.buyers.models import BuyerProfile, Channel, DeliveryAddress
from marketplace.catalog import stock
from marketplace.catalog.availability import is_on_sale
from marketplace.clock import now, today
from marketplace.errors import Invalid, InvalidTransition, NotFound
from marketplace.extensions import db
from marketplace.money import MoneyError, format_quantity, line_amount, parse_quantity
from marketplace.notices.services import notify_buyers, notify_producer
from marketplace.orders.cart import cart_lines, clear_cart, line_problem
from marketplace.orders.models import (
    OrderLine,
    PurchaseOrder,
    SubOrder,
    SubOrderStatus,
    SupplierRating,
    derive_order_status,
)
from marketplace.orders.quantities import quantity_problem
from marketplace.payments import services as payments
from marketplace.permissions import authorize
from marketplace.reports.rollups import sub_order_changed
from marketplace.sequences import next_value
from marketplace.uow import lock_row, use_case
from marketplace.workflow import fire

S = SubOrderStatus
DELIVERY_WINDOWS = ("06:00-08:00", "08:00-10:00", "10:00-12:00", "14:00-16:00", "16:00-18:00")
KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


class DuplicateSubmission(InvalidTransition):
    """The same form was submitted twice; the first order stands."""


@dataclass
class DeliveryDetails:
    address: DeliveryAddress
    delivery_date: date
    window: str
    invoice_title: str
    tax_number: str
    notes: str


def _clean_delivery(org, data: dict) -> DeliveryDetails:
    errors: dict[str, list[str]] = {}
    address = None
    address_id = data.get("address_id")
    if isinstance(address_id, int) and 0 < address_id < 2**31:
        address = db.session.get(DeliveryAddress, address_id)
    if address is None or address.organisation_id != org.id or not address.active:
        errors["address_id"] = [_("请选择本单位的收货地址。")]
    day = data.get("delivery_date")
    horizon = current_app.config["ORDER_MAX_DAYS_AHEAD"]
    if not isinstance(day, date):
        errors["delivery_date"] = [_("请选择送达日期。")]
    elif day < today():
        errors["delivery_date"] = [_("送达日期不能早于今天。")]
    elif day > today() + timedelta(days=horizon):
        errors["delivery_date"] = [_("送达日期最多可选 %(n)s 天以内。", n=horizon)]
    window = data.get("window") or ""
    if window and window not in DELIVERY_WINDOWS:
        errors["window"] = [_("请选择送达时段。")]
    profile = org.buyer_profile
    title = (data.get("invoice_title") or profile.invoice_title or "").strip()
    tax = (data.get("tax_number") or profile.tax_number or "").strip().upper()
    if len(title) > 120:
        errors["invoice_title"] = [_("不能超过 %(n)s 个字。", n=120)]
    if tax and not re.fullmatch(r"[0-9A-Z]{15,20}", tax):
        errors["tax_number"] = [_("纳税人识别号应为 15–20 位数字或大写字母。")]
    notes = (data.get("notes") or "").strip()
    if len(notes) > 1000:
        errors["notes"] = [_("不能超过 %(n)s 个字。", n=1000)]
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    return DeliveryDetails(address, day, window, title, tax, notes)


def _order_number(year: int) -> str:
    return f"CG{year}{next_value(f'order-{year}'):07d}"


def _snapshot_line(sub: SubOrder, product, quantity: Decimal, position: int) -> OrderLine:
    org = product.organisation
    certificate = product.live_certificate(today())
    return OrderLine(
        sub_order_id=sub.id, product_id=product.id, position=position,
        product_name=product.name, specification=product.specification, unit=product.unit,
        unit_price_fen=product.price_fen, category_id=product.category_id,
        category_name=product.category.name, producer_org_id=org.id, producer_name=org.name,
        county_id=org.county_id, county_name=org.county.name,
        township_id=org.township_id, township_name=org.township.name if org.township else "",
        village_id=org.village_id, village_name=org.village.name if org.village else "",
        formerly_poor=bool(org.village and org.village.formerly_poor),
        certificate_id=certificate.id if certificate else None,
        certificate_number=certificate.number if certificate else "",
        quantity=quantity, amount_fen=line_amount(product.price_fen, quantity),
    )


def _route(sub: SubOrder) -> None:
    sub.routed_at = now()
    sub.accept_by = SubOrder.deadline(sub.routed_at, current_app.config["ORDER_ACCEPT_HOURS"])


def in_lock_order(lines) -> list:
    """Cart or order lines in the one order every use case moves stock in: by product.

    Two transactions that take (or put back) the same products in opposite orders can each
    hold one product's row lock and wait for the other's: PostgreSQL then kills one of them
    ("deadlock detected", a 500 for its user). Taking the locks in one global order cannot
    form such a circle.
    """
    return sorted(lines, key=lambda line: line.product_id)


def refresh_status(order: PurchaseOrder) -> None:
    """Recompute the purchase order's status from its sub-orders, as committed plus ours.

    The order row is locked first, so two producers finishing their parts at the same
    moment cannot both compute from a stale view of the other's sub-order.
    """
    lock_row(order)
    db.session.flush()
    statuses = db.session.scalars(select(SubOrder.status)
                                  .where(SubOrder.purchase_order_id == order.id)).all()
    order.status = derive_order_status(statuses)


@use_case("po.submit", subject=lambda args: args["actor"].organisation)
def submit_purchase_order(actor, data: dict, idempotency_key: str) -> PurchaseOrder:
    """Turn the purchaser's cart into one purchase order with a sub-order per producer.

    Prices, producers and certificates come from the listings, never from the form. Each
    line's stock is taken with a guarded UPDATE; if any line is refused (off sale, under the
    minimum, off the step, out of stock) the whole submission changes nothing and the
    message names the line.
    """
    org = actor.organisation
    if not KEY.fullmatch(idempotency_key or ""):
        raise Invalid(_("表单已过期，请刷新页面后重新提交。"))
    # One submission per purchaser at a time: a double click or a network retry waits for
    # the first copy and then finds its order here, rather than an empty cart.
    lock_row(actor)
    if order_by_key(actor, idempotency_key) is not None:
        raise DuplicateSubmission(_("这张采购单已经提交过了。"))
    details = _clean_delivery(org, data)
    lines = cart_lines(actor)
    if not lines:
        raise Invalid(_("购物车是空的。"))
    problems = [p for p in (line_problem(line.product, line.quantity) for line in lines) if p]
    if problems:
        raise Invalid(_("以下产品不能下单，请调整购物车后再提交：") + "；".join(problems))
    total = sum(line_amount(line.product.price_fen, line.quantity) for line in lines)
    profile: BuyerProfile = org.buyer_profile
    needs_approval = profile.needs_approval(total)
    order = PurchaseOrder(
        number=_order_number(today().year), buyer_org_id=org.id, created_by_id=actor.id,
        status="", buyer_type=org.org_type, channel=Channel.OF_TYPE.get(org.org_type, ""),
        buyer_name=org.name, delivery_address=details.address.address,
        delivery_contact=details.address.contact_name,
        delivery_phone=details.address.contact_phone, delivery_date=details.delivery_date,
        delivery_window=details.window, invoice_title=details.invoice_title,
        tax_number=details.tax_number, notes=details.notes, total_fen=total,
        needs_approval=needs_approval, idempotency_key=idempotency_key,
    )
    db.session.add(order)
    try:
        db.session.flush()
    except IntegrityError:
        raise DuplicateSubmission(_("这张采购单已经提交过了。")) from None
    by_producer: dict[int, list] = {}
    for line in lines:
        by_producer.setdefault(line.product.organisation_id, []).append(line)
    parts: list[tuple[SubOrder, list]] = []
    for k, (producer_id, producer_lines) in enumerate(sorted(by_producer.items()), start=1):
        producer = producer_lines[0].product.organisation
        sub = SubOrder(
            purchase_order_id=order.id, producer_org_id=producer_id,
            number=f"{order.number}-{k}", producer_name=producer.name,
            status=S.AWAITING_APPROVAL if needs_approval else S.PENDING,
            ordered_fen=sum(line_amount(cl.product.price_fen, cl.quantity)
                            for cl in producer_lines),
        )
        if not needs_approval:
            _route(sub)
        db.session.add(sub)
        parts.append((sub, producer_lines))
    db.session.flush()  # every part gets its id in one statement
    sub_of = {cart_line.product_id: sub for sub, part in parts for cart_line in part}
    # Lines, stock movements, events and notices are written together at the next flush
    # (a few batched INSERTs), not one INSERT before each guarded stock UPDATE.
    with db.session.no_autoflush:
        for cart_line in in_lock_order(lines):
            product = cart_line.product
            if not stock.take(product.id, cart_line.quantity,
                              sub_order_id=sub_of[product.id].id, actor=actor):
                raise Invalid(_("%(name)s 库存不足，刚被其他单位订走。请调整数量后再提交。",
                                name=product.name))
        for sub, producer_lines in parts:
            for position, cart_line in enumerate(producer_lines):
                db.session.add(_snapshot_line(sub, cart_line.product, cart_line.quantity,
                                              position))
            record(actor, "suborder.created", sub, to_status=sub.status)
            if not needs_approval:
                notify_producer(sub, _("新订单 %(n)s 待接单", n=sub.number))
    order.status = derive_order_status(s.status for s in order.sub_orders)
    record(actor, "order.submitted", order, to_status=order.status,
           reason=f"{order.number} ¥{total / 100:.2f}")
    clear_cart(actor)
    if needs_approval:
        notify_buyers(order, _("采购单 %(n)s 待审批", n=order.number), approvers_only=True)
    return order


def order_by_key(actor, idempotency_key: str) -> PurchaseOrder | None:
    """The order a given form submission made (after a duplicate submission)."""
    return db.session.scalar(select(PurchaseOrder).where(
        PurchaseOrder.buyer_org_id == actor.organisation_id,
        PurchaseOrder.idempotency_key == idempotency_key))


def _awaiting_approval(order: PurchaseOrder) -> list[SubOrder]:
    """The parts an approval decides; none means someone decided already (or never needed to)."""
    subs = [sub for sub in order.sub_orders if sub.status == S.AWAITING_APPROVAL]
    if not subs:
        raise InvalidTransition(_("当前状态“%(state)s”下不能执行此操作。",
                                  state=order.status_text))
    return subs


@use_case("po.approve", subject="order")
def approve_purchase_order(actor, order: PurchaseOrder, reason: str = "") -> None:
    """The approver lets an order over the threshold go out: it is routed to producers."""
    for sub in _awaiting_approval(order):
        fire(sub, "approve", actor, reason=reason)
        _route(sub)
        notify_producer(sub, _("新订单 %(n)s 待接单", n=sub.number))
    refresh_status(order)
    notify_buyers(order, _("采购单 %(n)s 已批准", n=order.number))


@use_case("po.approve", subject="order")
def return_purchase_order(actor, order: PurchaseOrder, reason: str) -> None:
    """The approver sends an order back to the purchasers with a reason."""
    for sub in _awaiting_approval(order):
        fire(sub, "return", actor, reason=reason)
    refresh_status(order)
    notify_buyers(order, _("采购单 %(n)s 被退回：%(r)s", n=order.number, r=reason))


@use_case("po.submit", subject="order")
def revise_returned_order(actor, order: PurchaseOrder, quantities: dict[int, str]) -> None:
    """Edit a returned order's quantities (0 removes a line) and submit it again.

    Stock follows each change with guarded statements; the approval rule is applied to the
    new total, so a revised order under the threshold goes straight to its producers.
    """
    subs = [s for s in order.sub_orders if s.status == S.RETURNED]
    if not subs:
        raise InvalidTransition(_("只有被退回的采购单可以修改后重新提交。"))
    errors: dict[str, list[str]] = {}
    wanted: list[tuple[OrderLine, Decimal]] = []
    for sub in subs:
        for line in sub.lines:
            text = quantities.get(line.id, format_quantity(line.quantity))
            try:
                quantity = parse_quantity(text, positive=False)
            except MoneyError:
                errors[f"q{line.id}"] = [_("%(name)s：请填写数量。", name=line.product_name)]
                continue
            problem = None
            if quantity and not is_on_sale(line.product, today()):
                problem = _("%(name)s 已下架或认定证书已失效，只能删除。", name=line.product_name)
            elif quantity:
                problem = quantity_problem(line.product, quantity, check_stock=False)
            if problem:
                errors[f"q{line.id}"] = [problem]
                continue
            wanted.append((line, quantity))
    if errors:
        raise Invalid(_("请检查数量。"), errors)
    # The parts move first (compare-and-set, row locks): of a revision and a cancellation of
    # the same order racing, one lands; then the stock, in lock order.
    for sub in subs:
        fire(sub, "resubmit", actor)
    removed = {line.id for line, quantity in wanted if quantity == 0}
    for line, quantity in sorted(wanted, key=lambda pair: pair[0].product_id):
        _change_line_quantity(actor, line, quantity)
    for sub in subs:
        live = [line for line in sub.lines if line.id not in removed]
        sub.ordered_fen = sum(line.amount_fen for line in live)
        if not live:
            fire(sub, "cancel", actor, reason=_("修改时删除了全部产品。"))
    live_subs = [s for s in subs if s.status != S.CANCELLED]
    order.total_fen = sum(s.ordered_fen for s in live_subs)
    order.needs_approval = order.buyer.buyer_profile.needs_approval(order.total_fen)
    if not order.needs_approval:
        for sub in live_subs:
            fire(sub, "route", actor)
            _route(sub)
            notify_producer(sub, _("新订单 %(n)s 待接单", n=sub.number))
    refresh_status(order)
    record(actor, "order.resubmitted", order, reason=f"¥{order.total_fen / 100:.2f}")


def _change_line_quantity(actor, line: OrderLine, quantity: Decimal) -> None:
    delta = quantity - line.quantity
    if delta > 0 and not stock.take(line.product_id, delta, sub_order_id=line.sub_order_id,
                                    actor=actor):
        raise Invalid(_("%(name)s 库存不足。", name=line.product_name))
    if delta < 0:
        stock.put_back(line.product_id, -delta, sub_order_id=line.sub_order_id, actor=actor)
    if quantity == 0:
        db.session.delete(line)
        return
    line.quantity = quantity
    line.amount_fen = line_amount(line.unit_price_fen, quantity)


def _release(lines, actor, *, keep=None) -> None:
    """Put back what order lines reserved and will not use (`keep`: line id -> kept qty)."""
    for line in in_lock_order(lines):
        unused = line.quantity - ((keep or {}).get(line.id, Decimal(0)))
        stock.put_back(line.product_id, unused, sub_order_id=line.sub_order_id, actor=actor)


@use_case("suborder.cancel", subject="sub")
def cancel_sub_order(actor, sub: SubOrder, reason: str) -> None:
    """The buyer cancels a part until it ships (an overdue one included); stock goes back."""
    fire(sub, "cancel", actor, reason=reason)
    _release(sub.lines, actor)
    refresh_status(sub.purchase_order)
    if sub.routed_at:
        notify_producer(sub, _("订单 %(n)s 已被采购单位取消", n=sub.number))


@use_case("po.submit", subject="order")
def cancel_purchase_order(actor, order: PurchaseOrder, reason: str) -> None:
    """Cancel every part that can still be cancelled (a returned order, say)."""
    cancellable = [s for s in order.sub_orders if s.allows("cancel")]
    if not cancellable:
        raise InvalidTransition(_("这张采购单已没有可以取消的部分。"))
    for sub in cancellable:
        fire(sub, "cancel", actor, reason=reason)
    _release([line for sub in cancellable for line in sub.lines], actor)  # all in lock order
    refresh_status(order)
    for sub in cancellable:
        if sub.routed_at:
            notify_producer(sub, _("订单 %(n)s 已被采购单位取消", n=sub.number))


@use_case("suborder.fulfil", subject="sub")
def accept_sub_order(actor, sub: SubOrder) -> None:
    fire(sub, "accept", actor)
    refresh_status(sub.purchase_order)
    notify_buyers(sub.purchase_order, _("%(p)s 已接单 %(n)s", p=sub.producer_name, n=sub.number))


@use_case("suborder.fulfil", subject="sub")
def decline_sub_order(actor, sub: SubOrder, reason: str) -> None:
    fire(sub, "decline", actor, reason=reason)
    sub.decline_reason = reason.strip()
    _release(sub.lines, actor)
    refresh_status(sub.purchase_order)
    notify_buyers(sub.purchase_order, _("%(p)s 拒绝了订单 %(n)s：%(r)s", p=sub.producer_name,
                                        n=sub.number, r=reason))


def _line_quantities(sub: SubOrder, event: str, quantities: dict, *, ceiling,
                     label: str) -> dict:
    """Parse {line id: text} for every line of `sub`; each within [0, ceiling(line)].

    The state comes first: receiving what was never shipped is "not now", not "more than 0".
    """
    if not sub.allows(event):
        raise InvalidTransition(_("当前状态“%(state)s”下不能执行此操作。", state=sub.status_text))
    parsed, errors = {}, {}
    for line in sub.lines:
        text = quantities.get(line.id)
        try:
            value = parse_quantity(text, positive=False)
        except MoneyError:
            errors[f"q{line.id}"] = [_("%(name)s：请填写%(what)s数量。", name=line.product_name,
                                       what=label)]
            continue
        if value > ceiling(line):
            errors[f"q{line.id}"] = [_("%(name)s：%(what)s数量不能超过 %(q)s。",
                                       name=line.product_name, what=label,
                                       q=format_quantity(ceiling(line)))]
            continue
        parsed[line.id] = value
    if errors:
        raise Invalid(_("请检查数量。"), errors)
    return parsed


@use_case("suborder.fulfil", subject="sub")
def ship_sub_order(actor, sub: SubOrder, quantities: dict[int, str]) -> None:
    """Mark shipped with the quantity sent per line (not more than ordered).

    What is not shipped goes back to stock at once.
    """
    shipped = _line_quantities(sub, "ship", quantities, ceiling=lambda line: line.quantity,
                               label=_("发货"))
    if not any(shipped.values()):
        raise Invalid(_("至少要发出一种产品；全部无法供应请拒单。"))
    fire(sub, "ship", actor)
    for line in sub.lines:
        line.quantity_shipped = shipped[line.id]
    _release(sub.lines, actor, keep=shipped)
    sub.shipped_at = now()
    refresh_status(sub.purchase_order)
    notify_buyers(sub.purchase_order, _("%(p)s 已发货 %(n)s，请验收", p=sub.producer_name,
                                        n=sub.number))


def _settle(sub: SubOrder, received: dict) -> None:
    """Fix what is due from what was accepted: price snapshot × quantity, line by line."""
    for line in sub.lines:
        line.quantity_received = received[line.id]
        line.received_fen = line_amount(line.unit_price_fen, line.quantity_received)
    sub.due_fen = sum(line.received_fen for line in sub.lines)


@use_case("suborder.receive", subject="sub")
def receive_sub_order(actor, sub: SubOrder, quantities: dict[int, str]) -> None:
    """验收: the quantity actually received per line (not more than shipped); a shortfall
    lowers the amount due."""
    received = _line_quantities(sub, "receive", quantities,
                                ceiling=lambda line: line.quantity_shipped or Decimal(0),
                                label=_("验收"))
    fire(sub, "receive", actor)
    _settle(sub, received)
    sub.received_on = today()
    sub_order_changed(sub, S.SHIPPED)
    refresh_status(sub.purchase_order)
    notify_producer(sub, _("订单 %(n)s 已验收，应付 ¥%(a)s", n=sub.number,
                           a=f"{sub.due_fen / 100:.2f}"))


@use_case("suborder.receive", subject="sub")
def dispute_sub_order(actor, sub: SubOrder, reason: str) -> None:
    old = sub.status
    fire(sub, "dispute", actor, reason=reason)
    sub_order_changed(sub, old)
    sub.dispute_reason = reason.strip()
    refresh_status(sub.purchase_order)
    notify_producer(sub, _("订单 %(n)s 有争议：%(r)s", n=sub.number, r=reason))


@use_case("suborder.resolve", subject="sub")
def resolve_dispute(actor, sub: SubOrder, quantities: dict[int, str], reason: str) -> None:
    """The city settles a dispute by fixing the accepted quantity of each line."""
    accepted = _line_quantities(sub, "resolve", quantities,
                                ceiling=lambda line: line.quantity_shipped or Decimal(0),
                                label=_("认可"))
    if sub.received_on is None:
        sub.received_on = today()
    fire(sub, "resolve", actor, reason=reason)
    sub.resolution = reason.strip()
    _settle(sub, accepted)
    sub_order_changed(sub, S.DISPUTED)
    refresh_status(sub.purchase_order)
    payments.refund_after_resolution(actor, sub)  # paid beyond the new amount due goes back
    notify_producer(sub, _("订单 %(n)s 的争议已处理", n=sub.number))
    notify_buyers(sub.purchase_order, _("订单 %(n)s 的争议已处理", n=sub.number))


@use_case("suborder.receive", subject="sub")
def rate_supplier(actor, sub: SubOrder, score, comment: str) -> SupplierRating:
    """After receipt, one rating per sub-order (1–5 with a comment)."""
    if sub.status != S.RECEIVED:
        raise InvalidTransition(_("验收后才能评价。"))
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise Invalid(_("请选择 1–5 分。"), {"score": [_("请选择 1–5 分。")]})
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise Invalid(_("请检查填写的内容。"), {"comment": [_("不能超过 %(n)s 个字。", n=500)]})
    rating = SupplierRating(sub_order_id=sub.id, producer_org_id=sub.producer_org_id,
                            buyer_org_id=sub.purchase_order.buyer_org_id, score=score,
                            comment=comment, rated_by_id=actor.id)
    db.session.add(rating)
    try:
        db.session.flush()
    except IntegrityError:
        raise InvalidTransition(_("这笔订单已经评价过了。")) from None
    record(actor, "suborder.rated", sub, reason=f"{score}")
    return rating


@use_case("cart.use")
def reorder(actor, order: PurchaseOrder) -> list[str]:
    """Put a past order's lines back into the cart; return the names left out (off sale)."""
    from marketplace.orders.cart import add_to_cart

    authorize("po.read", actor, order)
    skipped = []
    for sub in order.sub_orders:
        for line in sub.lines:
            product = line.product
            try:
                add_to_cart(actor, product, format_quantity(line.quantity))
            except Invalid:
                skipped.append(line.product_name)
    return skipped


# Reading -------------------------------------------------------------------------------


def get_order(actor, order_id: int) -> PurchaseOrder:
    order = db.session.get(PurchaseOrder, order_id)
    if order is None:
        raise NotFound(_("采购单不存在。"))
    authorize("po.read", actor, order)
    return order


def get_sub_order(actor, sub_id: int) -> SubOrder:
    sub = db.session.get(SubOrder, sub_id)
    if sub is None or (sub.status in (S.AWAITING_APPROVAL, S.RETURNED)
                       and sub.producer_org_id == getattr(actor, "organisation_id", None)):
        raise NotFound(_("订单不存在。"))  # not routed yet: the producer does not see it
    authorize("suborder.read", actor, sub)
    return sub


def orders_of_buyer(actor, page: int = 1, status: str | None = None):
    """The organisation's purchase orders, newest first."""
    authorize("cart.use", actor)
    query = select(PurchaseOrder).where(PurchaseOrder.buyer_org_id == actor.organisation_id)
    if status:
        query = query.where(PurchaseOrder.status == status)
    return db.paginate(query.order_by(PurchaseOrder.id.desc()), page=page, per_page=20,
                       error_out=False)


def sub_orders_of_producer(actor, page: int = 1, status: str | None = None):
    """The producer's own sub-orders once routed to it, newest first."""
    org = actor.organisation
    authorize("orders.producer", actor, org)
    query = select(SubOrder).where(SubOrder.producer_org_id == org.id,
                                   SubOrder.status.notin_((S.AWAITING_APPROVAL, S.RETURNED)))
    if status:
        query = query.where(SubOrder.status == status)
    # The list shows each part's purchase order (buyer, delivery date): one query, not 20.
    query = query.options(selectinload(SubOrder.purchase_order))
    return db.paginate(query.order_by(SubOrder.id.desc()), page=page, per_page=20,
                       error_out=False)


def disputes(actor) -> list[SubOrder]:
    authorize("suborder.resolve", actor)
    return list(db.session.scalars(select(SubOrder).where(SubOrder.status == S.DISPUTED)
                                   .order_by(SubOrder.id)))


def producer_rating(org_id: int) -> tuple[float | None, int]:
    """(average score, number of ratings) for a producer's public page."""
    average, count = db.session.execute(
        select(db.func.avg(SupplierRating.score), db.func.count(SupplierRating.id))
        .where(SupplierRating.producer_org_id == org_id)).one()
    return (round(float(average), 1) if average is not None else None), count


def awaiting_approval(actor) -> list[PurchaseOrder]:
    """Orders of the approver's organisation waiting for an approval they may give."""
    if getattr(actor, "organisation_id", None) is None:
        return []
    orders = db.session.scalars(select(PurchaseOrder).where(
        PurchaseOrder.buyer_org_id == actor.organisation_id,
        PurchaseOrder.status == "awaiting_approval").order_by(PurchaseOrder.id))
    from marketplace.permissions import can

    return [o for o in orders if can("po.approve", actor, o)]

