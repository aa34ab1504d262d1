import io
import secrets

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from marketplace.audit.models import history_of
from marketplace.catalog.services import get_product
from marketplace.clock import now, today
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, show_errors
from marketplace.orders import cart as carts
from marketplace.orders import services
from marketplace.orders.delivery_note import delivery_note_pdf as render_note_pdf
from marketplace.orders.forms import (
    AddToCartForm,
    CartQuantityForm,
    CheckoutForm,
    RatingForm,
    ReasonForm,
)
from marketplace.orders.models import OrderStatus, SubOrderStatus
from marketplace.params import choice_arg, page_arg
from marketplace.views_common import actor

bp = Blueprint("orders", __name__)


def line_quantities() -> dict[int, str]:
    """{line id: typed quantity} from fields named q<line id>."""
    out = {}
    for key, value in request.form.items():
        # ASCII digits only: "q²" passes str.isdigit() but not int().
        if key.startswith("q") and key[1:].isascii() and key[1:].isdigit() and len(key) < 12:
            out[int(key[1:])] = value
    return out


# Cart --------------------------------------------------------------------------------


@bp.post("/cart/add/<int:product_id>")
@login_required
def add_to_cart(product_id: int):
    product = get_product(product_id)
    form = AddToCartForm()
    page = url_for("catalog.product_page", product_id=product.id)
    if form.validate_on_submit():
        try:
            carts.add_to_cart(actor(), product, form.quantity.data)
        except Invalid as exc:
            flash(exc.message, "error")
            return redirect(url_for("catalog.product_page", product_id=product.id,
                                    qty=(form.quantity.data or "")[:20]) + "#order")
        flash(_("已加入购物车。"), "success")
        return redirect(page)
    for message in form.quantity.errors:
        flash(message, "error")
    return redirect(page + "#order")


def _render_cart(checkout=None, status=200):
    user = actor()
    cart = carts.view_cart(user)
    addresses = carts.delivery_addresses(user)
    if checkout is None:
        profile = user.organisation.buyer_profile
        checkout = CheckoutForm(addresses=addresses, windows=services.DELIVERY_WINDOWS,
                                formdata=None, invoice_title=profile.invoice_title,
                                tax_number=profile.tax_number, delivery_date=today(),
                                idempotency_key=secrets.token_hex(16))
    return render_template("orders/cart.html", cart=cart, checkout=checkout,
                           quantity_form=CartQuantityForm(formdata=None), confirm=ConfirmForm(),
                           needs_approval=user.organisation.buyer_profile.needs_approval(
                               cart.total_fen)), status


@bp.get("/cart")
@login_required
def cart():
    return _render_cart()


@bp.post("/cart/lines/<int:line_id>")
@login_required
def update_cart_line(line_id: int):
    form = CartQuantityForm()
    if form.validate_on_submit():
        try:
            carts.set_cart_quantity(actor(), line_id, form.quantity.data)
        except Invalid as exc:
            flash(exc.message, "error")
    return redirect(url_for("orders.cart"))


@bp.post("/cart/lines/<int:line_id>/remove")
@login_required
def remove_cart_line(line_id: int):
    if ConfirmForm().validate_on_submit():
        carts.remove_from_cart(actor(), line_id)
    return redirect(url_for("orders.cart"))


@bp.post("/cart/checkout")
@login_required
def checkout():
    user = actor()
    form = CheckoutForm(addresses=carts.delivery_addresses(user),
                        windows=services.DELIVERY_WINDOWS)
    if form.validate_on_submit():
        try:
            order = services.submit_purchase_order(user, form.data, form.idempotency_key.data)
        except services.DuplicateSubmission as exc:
            order = services.order_by_key(user, form.idempotency_key.data)
            if order is not None:  # the first copy's order: where the retry should land
                return redirect(url_for("orders.order_page", order_id=order.id))
            flash(exc.message, "error")
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("采购单 %(n)s 已提交。", n=order.number) + (
                _("金额超过审批额度，等待审批。") if order.needs_approval
                else _("已分送各供应商。")), "success")
            return redirect(url_for("orders.order_page", order_id=order.id))
    return _render_cart(checkout=form, status=400)


# Buyer's orders ------------------------------------------------------------------------


@bp.get("/orders")
@login_required
def my_orders():
    status = choice_arg("status", set(OrderStatus))
    return render_template("orders/list.html", page=services.orders_of_buyer(
        actor(), page_arg(), status), status=status, statuses=list(OrderStatus))


@bp.get("/approvals")
@login_required
def approvals():
    return render_template("orders/approvals.html", orders=services.awaiting_approval(actor()))


def _timeline(order):
    events = history_of(order) + [e for sub in order.sub_orders for e in history_of(sub)]
    return sorted(events, key=lambda e: (e.at, e.id))


def _render_order(order, status=200, **forms):
    return render_template(
        "orders/order.html", order=order, timeline=_timeline(order), now=now(),
        reason_form=forms.get("reason_form") or ReasonForm(formdata=None),
        rating_form=RatingForm(formdata=None), confirm=ConfirmForm(),
        errors=forms.get("errors", {}), typed=forms.get("typed", {}),
    ), status


@bp.get("/orders/<int:order_id>")
@login_required
def order_page(order_id: int):
    return _render_order(services.get_order(actor(), order_id))


def _order_action(order_id: int, call, done: str):
    """Run `call(actor, order, form)` for a ReasonForm post on the order page."""
    order = services.get_order(actor(), order_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return redirect(url_for("orders.order_page", order_id=order.id))
    try:
        call(actor(), order, form)
    except Invalid as exc:
        show_errors(form, exc)
        return _render_order(order, 400, reason_form=form, errors=exc.errors,
                             typed=line_quantities())
    flash(done, "success")
    return redirect(url_for("orders.order_page", order_id=order.id))


@bp.post("/orders/<int:order_id>/approve")
@login_required
def approve(order_id: int):
    return _order_action(order_id, lambda a, o, f: services.approve_purchase_order(
        a, o, f.reason.data or ""), _("已批准，采购单已分送各供应商。"))


@bp.post("/orders/<int:order_id>/return")
@login_required
def return_order(order_id: int):
    return _order_action(order_id, lambda a, o, f: services.return_purchase_order(
        a, o, f.reason.data or ""), _("已退回采购人。"))


@bp.post("/orders/<int:order_id>/revise")
@login_required
def revise(order_id: int):
    return _order_action(order_id, lambda a, o, f: services.revise_returned_order(
        a, o, line_quantities()), _("已修改并重新提交。"))


@bp.post("/orders/<int:order_id>/cancel")
@login_required
def cancel_order(order_id: int):
    return _order_action(order_id, lambda a, o, f: services.cancel_purchase_order(
        a, o, f.reason.data or ""), _("采购单已取消，库存已释放。"))


@bp.post("/orders/<int:order_id>/reorder")
@login_required
def reorder(order_id: int):
    order = services.get_order(actor(), order_id)
    if ConfirmForm().validate_on_submit():
        skipped = services.reorder(actor(), order)
        if skipped:
            flash(_("以下产品已不能订购，未加入购物车：%(names)s", names="、".join(skipped)), "error")
        if len(skipped) < sum(len(sub.lines) for sub in order.sub_orders):
            flash(_("已把可订购的产品加入购物车。"), "success")
    return redirect(url_for("orders.cart"))


# Sub-orders ----------------------------------------------------------------------------


def _render_sub(sub, status=200, form=None, errors=None):
    return render_template(
        "orders/sub_order.html", sub=sub, order=sub.purchase_order, now=now(),
        history=history_of(sub), reason_form=form or ReasonForm(formdata=None),
        rating_form=RatingForm(formdata=None), confirm=ConfirmForm(), errors=errors or {},
        typed=line_quantities() if errors else {},
    ), status


@bp.get("/sub-orders/<int:sub_id>")
@login_required
def sub_order_page(sub_id: int):
    return _render_sub(services.get_sub_order(actor(), sub_id))


def _back_to(sub) -> str:
    """Where the form was: the purchase order's page (at this part) or the sub-order's."""
    if request.form.get("back") == "order":
        return url_for("orders.order_page", order_id=sub.purchase_order_id,
                       _anchor=f"sub-{sub.id}")
    return url_for("orders.sub_order_page", sub_id=sub.id)


def _sub_action(sub_id: int, call, done: str):
    sub = services.get_sub_order(actor(), sub_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return redirect(_back_to(sub))
    try:
        call(actor(), sub, form)
    except Invalid as exc:
        show_errors(form, exc)
        return _render_sub(sub, 400, form=form, errors=exc.errors)
    flash(done, "success")
    return redirect(_back_to(sub))


SUB_ACTIONS = {
    "accept": (lambda a, s, f: services.accept_sub_order(a, s), _("已接单。")),
    "decline": (lambda a, s, f: services.decline_sub_order(a, s, f.reason.data or ""),
                _("已拒单，库存已释放。")),
    "ship": (lambda a, s, f: services.ship_sub_order(a, s, line_quantities()), _("已发货。")),
    "receive": (lambda a, s, f: services.receive_sub_order(a, s, line_quantities()),
                _("已验收。")),
    "dispute": (lambda a, s, f: services.dispute_sub_order(a, s, f.reason.data or ""),
                _("已提出争议，等待处理。")),
    "resolve": (lambda a, s, f: services.resolve_dispute(a, s, line_quantities(),
                                                         f.reason.data or ""),
                _("争议已处理。")),
    "cancel": (lambda a, s, f: services.cancel_sub_order(a, s, f.reason.data or ""),
               _("已取消，库存已释放。")),
}


@bp.post("/sub-orders/<int:sub_id>/<any(accept, decline, ship, receive, dispute, resolve, cancel):action>")
@login_required
def sub_action(sub_id: int, action: str):
    call, done = SUB_ACTIONS[action]
    return _sub_action(sub_id, call, str(done))


@bp.post("/sub-orders/<int:sub_id>/rate")
@login_required
def rate(sub_id: int):
    sub = services.get_sub_order(actor(), sub_id)
    form = RatingForm()
    if form.validate_on_submit():
        try:
            services.rate_supplier(actor(), sub, form.score.data, form.comment.data)
        except Invalid as exc:
            flash(exc.message, "error")
        else:
            flash(_("感谢评价。"), "success")
    return redirect(url_for("orders.sub_order_page", sub_id=sub.id))


@bp.get("/sub-orders/<int:sub_id>/delivery-note")
@login_required
def delivery_note(sub_id: int):
    sub = services.get_sub_order(actor(), sub_id)
    return render_template("orders/delivery_note.html", sub=sub, order=sub.purchase_order)


@bp.get("/sub-orders/<int:sub_id>/delivery-note.pdf")
@login_required
def delivery_note_pdf(sub_id: int):
    sub = services.get_sub_order(actor(), sub_id)
    pdf = render_note_pdf(sub, sub.purchase_order)
    return send_file(io.BytesIO(pdf), mimetype="application/pdf",
                     download_name=f"delivery-note-{sub.number}.pdf")


@bp.get("/my/orders")
@login_required
def producer_orders():
    status = choice_arg("status", set(SubOrderStatus))
    return render_template("orders/producer_list.html", now=now(), status=status,
                           statuses=list(SubOrderStatus),
                           page=services.sub_orders_of_producer(actor(), page_arg(), status))


@bp.get("/admin/disputes")
@login_required
def disputes():
    return render_template("orders/disputes.html", subs=services.disputes(actor()))
