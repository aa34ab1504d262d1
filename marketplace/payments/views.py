import secrets

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.clock import today
from marketplace.errors import Invalid, InvalidTransition, NotFound
from marketplace.forms import choices, show_errors
from marketplace.orders import services as orders
from marketplace.params import choice_arg, int_arg, page_arg, text_arg
from marketplace.payments import services
from marketplace.payments.forms import (
    InvoiceForm,
    IssueForm,
    PayoutForm,
    StatementForm,
    TransferForm,
)
from marketplace.payments.models import IssueKind, TransferStatus
from marketplace.payments.statements import FIELDS
from marketplace.permissions import can
from marketplace.views_common import actor
from marketplace.web import CSP, select_locale

bp = Blueprint("payments", __name__)


@bp.app_context_processor
def _hooks():
    """What the order, sub-order and dashboard pages ask about payment (small template hooks)."""

    def payment_of_order(order):
        if not can("payment.read", current_user, order):
            return None
        return services.order_payments(actor(), order)

    def payment_of_sub(sub):
        if not can("suborder.read", current_user, sub):
            return None
        return services.sub_order_payment(actor(), sub)

    return {"payment_of_order": payment_of_order, "payment_of_sub": payment_of_sub}


# The buyer: what is due, how to pay it ----------------------------------------------


@bp.get("/orders/<int:order_id>/payment")
@login_required
def order_payment(order_id: int):
    order = orders.get_order(actor(), order_id)
    pay = services.order_payments(actor(), order)
    response = Response(render_template("payments/order.html", pay=pay,
                                        unavailable=services.online_unavailable_reason(),
                                        csrf_form=StatementForm(formdata=None)))
    if pay.online_enabled:
        # The "pay online" form is answered with a redirect to Stripe's checkout page, which
        # browsers check against this page's form-action.
        origin = current_app.config["STRIPE_CHECKOUT_ORIGIN"]
        response.headers["Content-Security-Policy"] = CSP.replace(
            "form-action 'self'", f"form-action 'self' {origin}")
    return response


@bp.get("/orders/<int:order_id>/statement")
@login_required
def statement(order_id: int):
    order = orders.get_order(actor(), order_id)
    return render_template("payments/statement.html",
                           pay=services.order_payments(actor(), order), printed_on=today())


@bp.post("/sub-orders/<int:sub_id>/pay-online")
@login_required
def pay_online(sub_id: int):
    sub = orders.get_sub_order(actor(), sub_id)
    back = url_for("payments.order_payment", order_id=sub.purchase_order_id)
    if not StatementForm().validate_on_submit():
        return redirect(back)
    try:
        url = services.start_checkout(
            actor(), sub,
            success_url=url_for("payments.checkout_return", _external=True)
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=url_for("payments.checkout_cancelled", order=sub.purchase_order_id,
                               _external=True),
            locale="zh" if select_locale() == "zh" else "en")
    except services.CheckoutExists as exc:
        url = exc.url
    except (services.GatewayUnavailable, InvalidTransition) as exc:
        flash(exc.message, "error")
        return redirect(back, 303)
    return redirect(url, 303)


@bp.get("/payments/return")
@login_required
def checkout_return():
    payment = services.checkout_status(actor(), text_arg("session_id", 255))
    response = Response(render_template("payments/return.html", payment=payment,
                                        sub=payment.sub_order))
    if payment.status not in ("paid", "expired", "failed"):
        response.headers["Refresh"] = "5"  # until the webhook lands
    return response


@bp.get("/payments/cancelled")
@login_required
def checkout_cancelled():
    order_id = int_arg("order")
    flash(_("已取消在线支付，没有扣款。"), "success")
    if order_id is None:
        return redirect(url_for("orders.my_orders"))
    return redirect(url_for("payments.order_payment", order_id=order_id))


@bp.post("/payments/stripe/webhook")
def stripe_webhook():
    """Stripe's events (exempt from CSRF: marketplace.security.CSRF_EXEMPT)."""
    try:
        answer = services.receive_webhook(request.get_data(cache=False),
                                          request.headers.get("Stripe-Signature"))
    except services.RetryLater as exc:
        return jsonify(error=exc.message), 503
    return jsonify(outcome=answer.outcome), answer.status


# The producer: invoices and its own ledger ------------------------------------------


@bp.route("/sub-orders/<int:sub_id>/invoice", methods=["GET", "POST"])
@login_required
def invoice(sub_id: int):
    sub = orders.get_sub_order(actor(), sub_id)
    part = services.invoice_form(actor(), sub)
    form = InvoiceForm(obj=part.invoice) if request.method == "GET" else InvoiceForm()
    if request.method == "GET" and part.invoice is None:
        form.issued_on.data = today()
    if form.validate_on_submit():
        try:
            services.issue_invoice(actor(), sub, form.number.data, form.issued_on.data,
                                   request.files.get("file"))
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("发票已保存，采购单位可以下载。"), "success")
            return redirect(url_for("orders.sub_order_page", sub_id=sub.id))
    status = 400 if request.method == "POST" else 200
    return render_template("payments/invoice.html", sub=sub, part=part, form=form), status


@bp.get("/sub-orders/<int:sub_id>/invoice/file")
@login_required
def invoice_file(sub_id: int):
    sub = orders.get_sub_order(actor(), sub_id)
    path, content_type, name = services.invoice_file(actor(), sub)
    return send_file(path, mimetype=content_type, as_attachment=True, download_name=name)


@bp.get("/my/ledger")
@login_required
def my_ledger():
    org = getattr(current_user, "organisation", None)
    if org is None:
        raise NotFound(_("没有所属的经营主体。"))
    book = services.producer_ledger(actor(), org, page_arg())
    return render_template("payments/ledger.html", book=book,
                           rows=services.rows_of_page(book.page), endpoint="payments.my_ledger",
                           args={})


# Finance (the city administrator) --------------------------------------------------------


@bp.get("/admin/payments")
@login_required
def finance():
    return render_template("payments/finance.html", overview=services.finance_overview(actor()))


@bp.get("/admin/payments/producers/<int:org_id>/ledger")
@login_required
def producer_ledger(org_id: int):
    org = services.get_organisation(actor(), org_id)
    book = services.producer_ledger(actor(), org, page_arg())
    return render_template("payments/ledger.html", book=book,
                           rows=services.rows_of_page(book.page),
                           endpoint="payments.producer_ledger", args={"org_id": org.id})


def _transfer_form(form=None):
    form = form or TransferForm(formdata=None, value_date=today(),
                                idempotency_key=secrets.token_hex(16))
    form.payer_org_id.choices = choices(
        [("", _("（未知，按参考号匹配）"))]
        + [(o.id, o.name) for o in services.buyer_organisations(actor())])
    return form


@bp.route("/admin/payments/transfers/new", methods=["GET", "POST"])
@login_required
def new_transfer():
    form = _transfer_form(TransferForm() if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        data = services.TransferData(
            value_date=form.value_date.data, amount=form.amount.data,
            payer_org_id=form.payer_org_id.data, payer_name=form.payer_name.data or "",
            reference=form.reference.data or "", bank_reference=form.bank_reference.data or "",
            idempotency_key=form.idempotency_key.data or "")
        try:
            transfer = services.record_transfer(actor(), data)
        except services.DuplicateSubmission as exc:
            flash(exc.message, "error")
            return redirect(url_for("payments.transfers"))
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("已记录转账 ¥%(a)s：%(s)s。", a=f"{transfer.amount_fen / 100:,.2f}",
                    s=transfer.status_text), "success")
            return redirect(url_for("payments.transfers"))
    status = 400 if request.method == "POST" else 200
    return render_template("payments/transfer_form.html", form=form), status


@bp.get("/admin/payments/transfers")
@login_required
def transfers():
    status = choice_arg("status", set(TransferStatus))
    return render_template("payments/transfers.html", status=status,
                           statuses=list(TransferStatus),
                           page=services.list_transfers(actor(), status, page_arg()))


@bp.route("/admin/payments/import", methods=["GET", "POST"])
@login_required
def import_statement():
    services.open_statement_import(actor())
    form = StatementForm()
    if request.method == "POST" and form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            form.file.errors = [_("请选择文件。")]
        else:
            try:
                result = services.upload_statement(actor(), upload)
            except Invalid as exc:
                show_errors(form, exc)
            else:
                if isinstance(result, services.NeedsMapping):
                    return render_template("payments/mapping.html", staged=result,
                                           fields=FIELDS, form=StatementForm(formdata=None))
                return _imported(result)
        return render_template("payments/import.html", form=form), 400
    return render_template("payments/import.html", form=form)


def _imported(result):
    s = result.statement
    flash(_("导入完成：读取 %(r)s 行，新增 %(n)s 笔（匹配 %(m)s 笔，待人工处理 %(f)s 笔），"
            "此前已导入 %(k)s 笔，跳过支出或空行 %(s)s 行。", r=s.rows_read, n=s.rows_new,
            m=s.matched, f=s.flagged, k=s.rows_known, s=s.rows_skipped), "success")
    return redirect(url_for("payments.finance"))


@bp.post("/admin/payments/import/map")
@login_required
def map_statement():
    form = StatementForm()
    token = request.form.get("token", "")[:64]
    filename = request.form.get("filename", "")[:120]
    if not form.validate_on_submit():
        return redirect(url_for("payments.import_statement"))
    columns = {name: request.form.get(f"col_{name}", "")[:200] for name in FIELDS}
    try:
        result = services.import_mapped_statement(actor(), token, filename, columns)
    except Invalid as exc:
        flash(exc.message, "error")
        return redirect(url_for("payments.import_statement"))
    return _imported(result)


@bp.route("/admin/payments/issues/<int:issue_id>", methods=["GET", "POST"])
@login_required
def issue(issue_id: int):
    item = services.get_issue(actor(), issue_id)
    form = IssueForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.resolve_issue(actor(), item, form.action.data or "", form.note.data or "",
                                   form.target.data or "")
        except Invalid as exc:
            show_errors(form, exc)
        except (InvalidTransition, services.GatewayUnavailable) as exc:
            flash(exc.message, "error")
        else:
            flash(_("已处理。"), "success")
            return redirect(url_for("payments.finance"))
    actions = services.ISSUE_ACTIONS.get(IssueKind(item.kind), ())
    status = 400 if request.method == "POST" else 200
    return render_template("payments/issue.html", issue=item, form=form, actions=actions,
                           labels=services.ACTION_LABELS,
                           part=services.sub_order_payment(actor(), item.sub_order)
                           if item.sub_order else None), status


def _payout_form(form=None):
    owed = services.producers_owed(actor())
    form = form or PayoutForm(formdata=None, paid_on=today(),
                              idempotency_key=secrets.token_hex(16))
    form.producer_org_id.choices = choices(
        [("", "")] + [(o.id, f"{o.name}（¥{amount / 100:,.2f}）") for o, amount in owed])
    return form


@bp.route("/admin/payments/payouts", methods=["GET", "POST"])
@login_required
def payouts():
    form = _payout_form(PayoutForm() if request.method == "POST" else None)
    if request.method == "GET" and request.args.get("producer"):
        form.producer_org_id.data = int_arg("producer")
    if request.method == "POST" and form.validate_on_submit():
        data = services.PayoutData(
            producer_org_id=form.producer_org_id.data, amount=form.amount.data,
            paid_on=form.paid_on.data, bank_reference=form.bank_reference.data or "",
            note=form.note.data or "", idempotency_key=form.idempotency_key.data or "")
        try:
            services.record_payout(actor(), data)
        except services.DuplicateSubmission as exc:
            flash(exc.message, "error")
            return redirect(url_for("payments.payouts"))
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("已记录结算付款。"), "success")
            return redirect(url_for("payments.payouts"))
    status = 400 if request.method == "POST" else 200
    return render_template("payments/payouts.html", form=form,
                           page=services.list_payouts(actor(), page_arg())), status


def _month() -> tuple[int, int]:
    day = today()
    return (int_arg("year", default=day.year, minimum=2000, maximum=2100),
            int_arg("month", default=day.month, minimum=1, maximum=12))


@bp.get("/admin/payments/reconciliation")
@login_required
def reconciliation():
    year, month = _month()
    return render_template("payments/reconciliation.html",
                           rec=services.reconciliation(actor(), year, month), year=year,
                           month=month)


@bp.get("/admin/payments/reconciliation.xlsx")
@login_required
def reconciliation_export():
    year, month = _month()
    data = services.reconciliation_workbook(actor(), year, month)
    return Response(data, headers={
        "Content-Disposition": f"attachment; filename=reconciliation-{year}-{month:02d}.xlsx"},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
