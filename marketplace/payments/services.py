"""Payments: invoices, bank transfers and statement imports, Stripe Checkout and its webhooks,
refunds, payouts to producers, and the reading side (order payments, ledgers, reconciliation).

Money moves only through `ledger.post`, inside the use case's one transaction. A sub-order is
paid when the ledger holds its `due_fen` for its producer; nothing else says so. Online
payments become paid only from a signature-verified webhook.
"""

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import cast

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from marketplace.accounts.models import Role, User
from marketplace.audit.models import record
from marketplace.clock import now, today
from marketplace.errors import DomainError, Invalid, InvalidTransition, NotFound
from marketplace.extensions import db
from marketplace.money import MoneyError, format_yuan, parse_yuan
from marketplace.notices.services import notify, notify_buyers, notify_producer
from marketplace.orders.models import PurchaseOrder, SubOrder, SubOrderStatus
from marketplace.organisations.models import Organisation
from marketplace.payments import ledger, statements, stripe_gateway
from marketplace.payments.ledger import credit, debit
from marketplace.payments.matching import (
    BANK,
    STRIPE,
    SUSPENSE,
    Source,
    Split,
    SubFacts,
    facts_of,
    judge,
    lines,
    load_facts,
    split,
)
from marketplace.payments.models import (
    Account,
    BankTransfer,
    Invoice,
    IssueKind,
    IssueStatus,
    JournalKind,
    LedgerEntry,
    LedgerJournal,
    OnlinePayment,
    OnlineStatus,
    PaymentIssue,
    Payout,
    Refund,
    StatementImport,
    StatementMapping,
    TransferStatus,
    WebhookEvent,
    find_references,
    payment_reference,
)
from marketplace.permissions import authorize
from marketplace.uow import lock_row, on_commit, on_rollback, use_case
from marketplace.uploads import discard, store_document, stored_path, upload_dir
from marketplace.workflow import compare_and_set, fire

log = logging.getLogger("marketplace.payments")
S = SubOrderStatus
KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
STAGED = re.compile(r"[0-9a-f]{32}\.(csv|xlsx)")


class GatewayUnavailable(DomainError):
    """Stripe could not be reached or refused; nothing was paid or refunded, retrying is safe."""

    status_code = 502


class RetryLater(DomainError):
    """A webhook about something this platform is still writing: Stripe should send it again."""

    status_code = 503


class CheckoutExists(InvalidTransition):
    """Another click made the same checkout session a moment ago: go to it."""

    def __init__(self, url: str):
        super().__init__(_("支付页面已创建。"))
        self.url = url


class DuplicateSubmission(InvalidTransition):
    """The same form was submitted twice; the first one stands."""


def _gateway_message(exc: stripe_gateway.GatewayError) -> str:
    if exc.kind == "network":
        why = _("连接 Stripe 超时或网络中断")
    elif exc.kind == "auth":
        why = _("Stripe 密钥无效")
    elif exc.kind == "refused":
        why = _("Stripe 拒绝了请求")
    else:
        why = _("Stripe 服务出错")
    return _("%(why)s。没有产生任何付款或退款，请稍后重试。", why=why)


def _prefix() -> str:
    return current_app.config["PAYMENT_REFERENCE_PREFIX"]


def reference_of(sub: SubOrder) -> str:
    """The payment reference a buyer writes in the transfer's memo (附言) for this sub-order."""
    return payment_reference(_prefix(), sub.id)


def payee() -> dict:
    config = current_app.config
    return {"name": config["PAYEE_NAME"], "bank": config["PAYEE_BANK"],
            "account": config["PAYEE_ACCOUNT"]}


# Reading: what is due, paid and refunded ---------------------------------------------


PAYMENT_LABELS = {
    "not_due": _l("未到付款"),
    "nothing_due": _l("无需付款"),
    "unpaid": _l("待付款"),
    "partly_paid": _l("部分付款"),
    "paid": _l("已付款"),
}


@dataclass
class SubPayment:
    """Where one sub-order stands in payment (apart from where it stands in fulfilment)."""

    sub: SubOrder
    reference: str
    paid_fen: int
    credit_fen: int
    refunded_fen: int
    invoice: Invoice | None
    refunds: list = field(default_factory=list)
    online: list = field(default_factory=list)

    @property
    def due_fen(self) -> int | None:
        return self.sub.due_fen

    @property
    def outstanding_fen(self) -> int:
        return max(0, self.sub.due_fen - self.paid_fen) if self.sub.due_fen is not None else 0

    @property
    def status(self) -> str:
        due = self.sub.due_fen
        if due is None:
            return "not_due"
        if self.paid_fen >= due:
            return "nothing_due" if due == 0 and not self.refunded_fen else "paid"
        return "partly_paid" if self.paid_fen > 0 else "unpaid"

    @property
    def status_text(self) -> str:
        return str(PAYMENT_LABELS[self.status])

    @property
    def payable_online(self) -> bool:
        return self.sub.status == S.RECEIVED and self.outstanding_fen > 0

    @property
    def processing(self) -> bool:
        return any(p.status == OnlineStatus.PROCESSING for p in self.online)


@dataclass
class OrderPayments:
    order: PurchaseOrder
    parts: list[SubPayment]
    payee: dict
    online_enabled: bool

    @property
    def due_fen(self) -> int:
        return sum(p.due_fen or 0 for p in self.parts)

    @property
    def paid_fen(self) -> int:
        return sum(p.paid_fen for p in self.parts)

    @property
    def outstanding_fen(self) -> int:
        return sum(p.outstanding_fen for p in self.parts)

    @property
    def refunded_fen(self) -> int:
        return sum(p.refunded_fen for p in self.parts)

    @property
    def status(self) -> str:
        due = [p for p in self.parts if p.status != "not_due"]
        if not due:
            return "not_due"
        if all(p.status in ("paid", "nothing_due") for p in due):
            return "paid" if any(p.status == "paid" for p in due) else "nothing_due"
        return "partly_paid" if self.paid_fen > 0 else "unpaid"

    @property
    def status_text(self) -> str:
        return str(PAYMENT_LABELS[self.status])


def _sub_payments(subs) -> list[SubPayment]:
    subs = list(subs)
    ids = [s.id for s in subs]
    sums = ledger.paid_by_sub_order(ids)
    invoices = {i.sub_order_id: i for i in db.session.scalars(
        select(Invoice).where(Invoice.sub_order_id.in_(ids)))} if ids else {}
    refunds: dict[int | None, list] = {}
    online: dict[int | None, list] = {}
    if ids:
        for refund in db.session.scalars(select(Refund).where(Refund.sub_order_id.in_(ids))
                                         .order_by(Refund.id)):
            refunds.setdefault(refund.sub_order_id, []).append(refund)
        for payment in db.session.scalars(select(OnlinePayment).where(
                OnlinePayment.sub_order_id.in_(ids)).order_by(OnlinePayment.id)):
            online.setdefault(payment.sub_order_id, []).append(payment)
    out = []
    for sub in subs:
        paid, held = sums[sub.id]
        sub_refunds = refunds.get(sub.id, [])
        out.append(SubPayment(
            sub=sub, reference=reference_of(sub), paid_fen=paid, credit_fen=held,
            refunded_fen=sum(r.amount_fen for r in sub_refunds if r.status != "failed"),
            invoice=invoices.get(sub.id), refunds=sub_refunds, online=online.get(sub.id, [])))
    return out


def online_unavailable_reason() -> str:
    """Why the online option is not offered ("" when it is)."""
    if stripe_gateway.configured():
        return ""
    return _("平台尚未配置 Stripe 密钥（STRIPE_SECRET_KEY 和 STRIPE_WEBHOOK_SECRET），暂不提供在线支付，"
             "请按下方账户信息对公转账。")


def order_payments(actor, order: PurchaseOrder) -> OrderPayments:
    """What the buyer owes on a purchase order, to whom, and what it has paid."""
    authorize("payment.read", actor, order)
    live = [s for s in order.sub_orders if s.routed_at is not None
            and s.status not in (S.DECLINED, S.CANCELLED)]
    return OrderPayments(order=order, parts=_sub_payments(live), payee=payee(),
                         online_enabled=stripe_gateway.configured())


def sub_order_payment(actor, sub: SubOrder) -> SubPayment:
    authorize("suborder.read", actor, sub)
    return _sub_payments([sub])[0]


def invoice_form(actor, sub: SubOrder) -> SubPayment:
    """The invoice form is the producer's: refused to everyone its POST would refuse."""
    authorize("invoice.issue", actor, sub)
    return _sub_payments([sub])[0]


def _sub_order(sub_id) -> SubOrder:
    sub = db.session.get(SubOrder, sub_id) if isinstance(sub_id, int) and sub_id < 2**31 else None
    if sub is None:
        raise NotFound(_("订单不存在。"))
    return sub


# Invoices ----------------------------------------------------------------------------


INVOICE_NUMBER = re.compile(r"[0-9A-Za-z\-]{6,40}")


@use_case("invoice.issue", subject="sub")
def issue_invoice(actor, sub: SubOrder, number: str, issued_on,
                  upload: FileStorage | None = None) -> Invoice:
    """The producer uploads its invoice (PDF or image) or marks it issued with number and date.

    Issuing again replaces the earlier one (a red-letter correction after a dispute, say).
    """
    if sub.due_fen is None:
        raise InvalidTransition(_("验收后才能开具发票。"))
    number = (number or "").strip()
    errors = {}
    if not INVOICE_NUMBER.fullmatch(number):
        errors["number"] = [_("发票号码应为 6–40 位数字、字母或连字符。")]
    if not isinstance(issued_on, date):
        errors["issued_on"] = [_("请填写开票日期。")]
    elif issued_on > today():
        errors["issued_on"] = [_("开票日期不能晚于今天。")]
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    stored = None
    if upload is not None and upload.filename:
        stored = store_document(upload, kind="invoices", field="file")
        on_rollback(lambda: discard("invoices", stored.stored_name))
    lock_row(sub)
    invoice = db.session.scalar(select(Invoice).where(Invoice.sub_order_id == sub.id))
    if invoice is None:
        invoice = Invoice(sub_order_id=sub.id)
        db.session.add(invoice)
    elif stored and invoice.stored_name:
        old = invoice.stored_name
        on_commit(lambda: discard("invoices", old))
    invoice.number = number
    invoice.issued_on = issued_on
    invoice.amount_fen = sub.due_fen
    invoice.issued_by_id = actor.id
    invoice.updated_at = now()
    if stored:
        invoice.stored_name = stored.stored_name
        invoice.content_type = stored.content_type
        invoice.size = stored.size
    record(actor, "invoice.issued", sub, reason=f"{number} ¥{format_yuan(sub.due_fen)}")
    notify_buyers(sub.purchase_order, _("%(p)s 已为订单 %(n)s 开具发票 %(i)s", p=sub.producer_name,
                                        n=sub.number, i=number))
    return invoice


def invoice_file(actor, sub: SubOrder):
    """(path, content type, download name) of a sub-order's uploaded invoice."""
    authorize("suborder.read", actor, sub)
    invoice = db.session.scalar(select(Invoice).where(Invoice.sub_order_id == sub.id))
    if invoice is None or not invoice.stored_name:
        raise NotFound(_("没有上传发票文件。"))
    extension = invoice.stored_name.rsplit(".", 1)[-1]
    return (stored_path("invoices", invoice.stored_name), invoice.content_type,
            f"invoice-{sub.number}-{invoice.number}.{extension}")


# Applying money to a sub-order ---------------------------------------------------------


def _open_issue(kind, *, amount_fen=0, detail="", **refs) -> PaymentIssue:
    issue = PaymentIssue(kind=str(kind), status=IssueStatus.OPEN, amount_fen=amount_fen,
                         detail=detail[:300], **refs)
    db.session.add(issue)
    return issue


def _close_underpaid(sub: SubOrder, actor) -> None:
    """The sub-order is paid in full now: an open underpayment matter is settled by itself."""
    for issue in db.session.scalars(select(PaymentIssue).where(
            PaymentIssue.sub_order_id == sub.id, PaymentIssue.kind == IssueKind.UNDERPAID,
            PaymentIssue.status == IssueStatus.OPEN)):
        issue.resolution = _("后续付款已补足。")
        issue.resolved_at = now()
        fire(issue, "resolve", actor, check_rule=False)


def _apply(sub: SubOrder, amount_fen: int, source: Source, kind, *, actor, memo: str,
           booked_on=None, flag_underpaid: bool, notify: bool = True, **refs) -> Split:
    """Book `amount_fen` against `sub`: up to what is outstanding for its producer, the rest
    as the buyer's credit (flagged as an overpayment). `source` is the debited account."""
    lock_row(sub)
    facts = facts_of(sub)
    parts = split(amount_fen, sub.due_fen, ledger.paid_fen(sub.id))
    ledger.post(kind, lines(source, amount_fen, facts, parts), actor=actor, memo=memo,
                booked_on=booked_on, **refs)
    issue_refs = {k: v for k, v in refs.items() if k in ("transfer_id", "online_payment_id")}
    if parts.excess_fen:
        _open_issue(IssueKind.OVERPAID, amount_fen=parts.excess_fen, sub_order_id=sub.id,
                    detail=_overpaid_text(facts, parts), **issue_refs)
    after = parts.outstanding_after
    if after == 0 and parts.applied_fen:
        _close_underpaid(sub, actor)
    elif after > 0 and flag_underpaid and sub.id not in _open_underpaid([sub.id]):
        _open_issue(IssueKind.UNDERPAID, amount_fen=after, sub_order_id=sub.id,
                    detail=_underpaid_text(facts, parts), **issue_refs)
    if notify and parts.applied_fen:
        text = _paid_text(facts, parts)
        notify_buyers(sub.purchase_order, text)
        notify_producer(sub, text)
    return parts


def _overpaid_text(sub: SubFacts, parts: Split) -> str:
    return _("订单 %(n)s 多付 ¥%(a)s", n=sub.number, a=format_yuan(parts.excess_fen))


def _underpaid_text(sub: SubFacts, parts: Split) -> str:
    return _("订单 %(n)s 尚欠 ¥%(a)s", n=sub.number, a=format_yuan(parts.outstanding_after))


def _paid_text(sub: SubFacts, parts: Split) -> str:
    if parts.outstanding_after == 0:
        return _("订单 %(n)s 已付清 ¥%(a)s", n=sub.number, a=format_yuan(sub.due_fen))
    return _("订单 %(n)s 收到付款 ¥%(a)s，尚欠 ¥%(o)s", n=sub.number,
             a=format_yuan(parts.applied_fen), o=format_yuan(parts.outstanding_after))


def _open_underpaid(sub_ids) -> set[int]:
    """Which of these sub-orders have an underpayment open for a person."""
    ids = list(sub_ids)
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        found.update(db.session.scalars(select(PaymentIssue.sub_order_id).where(
            PaymentIssue.sub_order_id.in_(ids[start:start + 500]),
            PaymentIssue.kind == IssueKind.UNDERPAID, PaymentIssue.status == IssueStatus.OPEN)))
    return found


def _match_target(refs: list[int], payer_org_id: int | None) -> tuple[SubOrder | None, str]:
    """The sub-order a transfer pays, or why it matches none (for the person who resolves it)."""
    facts, why = judge(refs, load_facts(refs), payer_org_id)
    return (db.session.get(SubOrder, facts.id) if facts else None), why


def _book_transfer(transfer: BankTransfer, actor, *, notify: bool = True) -> str:
    """Match a transfer by the reference in its memo and book it; returns its status.

    The transfer may be new (not flushed yet): it is written once, with its outcome.
    """
    sub, why = _match_target(find_references(_prefix(), transfer.memo), transfer.payer_org_id)
    transfer.status = TransferStatus.MATCHED if sub else TransferStatus.UNMATCHED
    transfer.sub_order_id = sub.id if sub else None
    if transfer.id is None:
        db.session.add(transfer)
        db.session.flush()
    if sub is None:
        ledger.post(JournalKind.UNMATCHED, [
            debit(Account.BANK, transfer.amount_fen),
            credit(Account.SUSPENSE, transfer.amount_fen)],
            actor=actor, memo=transfer.memo, booked_on=transfer.value_date,
            transfer_id=transfer.id)
        _open_issue(IssueKind.UNMATCHED, amount_fen=transfer.amount_fen, transfer_id=transfer.id,
                    detail=why)
        return transfer.status
    _apply(sub, transfer.amount_fen, BANK, JournalKind.TRANSFER, actor=actor,
           memo=transfer.memo, booked_on=transfer.value_date, flag_underpaid=True,
           notify=notify, transfer_id=transfer.id)
    return transfer.status


def _duplicate_of(transfer: BankTransfer) -> BankTransfer | None:
    """An earlier transfer on the same day, of the same amount, for the same reference."""
    mine = _fingerprint(transfer.value_date, transfer.amount_fen, transfer.memo)
    for other in db.session.scalars(select(BankTransfer).where(
            BankTransfer.value_date == transfer.value_date,
            BankTransfer.amount_fen == transfer.amount_fen,
            BankTransfer.id != transfer.id,
            BankTransfer.status != TransferStatus.DISCARDED)):
        if _fingerprint(other.value_date, other.amount_fen, other.memo) == mine:
            return other
    return None


def _duplicate_text(value_date, transfer_id) -> str:
    return _("与 %(d)s 已记录的转账 #%(id)s 日期、金额、参考号相同", d=value_date.isoformat(),
             id=transfer_id)


def _hold_or_book(transfer: BankTransfer, actor) -> str:
    """Book a transfer, unless it looks like one recorded before: then hold it for a person."""
    duplicate = _duplicate_of(transfer)
    if duplicate is not None:
        transfer.status = TransferStatus.HELD
        _open_issue(IssueKind.DUPLICATE, amount_fen=transfer.amount_fen, transfer_id=transfer.id,
                    detail=_duplicate_text(duplicate.value_date, duplicate.id))
        return transfer.status
    return _book_transfer(transfer, actor)


@dataclass
class TransferData:
    value_date: date | None
    amount: str
    payer_org_id: int | None
    payer_name: str
    reference: str
    bank_reference: str
    idempotency_key: str


@use_case("finance.manage")
def record_transfer(actor, data: TransferData) -> BankTransfer:
    """An administrator records a transfer received on the platform's account.

    A reference that belongs to another organisation's order than the payer's is refused; a
    transfer without a reference is recorded and waits in suspense for a person.
    """
    if not KEY.fullmatch(data.idempotency_key or ""):
        raise Invalid(_("表单已过期，请刷新页面后重新提交。"))
    errors: dict[str, list[str]] = {}
    try:
        amount = parse_yuan(data.amount)
    except MoneyError:
        amount = 0
        errors["amount"] = [_("请填写大于 0 的金额（元，最多两位小数）。")]
    if not isinstance(data.value_date, date):
        errors["value_date"] = [_("请填写到账日期。")]
    elif data.value_date > today():
        errors["value_date"] = [_("到账日期不能晚于今天。")]
    payer = None
    if data.payer_org_id is not None:
        payer = db.session.get(Organisation, data.payer_org_id) if data.payer_org_id < 2**31 \
            else None
        if payer is None or payer.kind != "buyer":
            errors["payer_org_id"] = [_("请选择付款的采购单位。")]
    reference = (data.reference or "").strip()
    refs = find_references(_prefix(), reference)
    if reference and not refs:
        errors["reference"] = [_("付款参考号无效（请核对订单付款页上的参考号）。")]
    elif refs:
        sub, why = _match_target(refs, payer.id if payer else None)
        if sub is None:
            errors["reference"] = [why]
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    transfer = BankTransfer(
        dedupe_key=hashlib.sha256(f"manual|{data.idempotency_key}".encode()).hexdigest(),
        value_date=data.value_date, amount_fen=amount,
        payer_name=(data.payer_name or (payer.name if payer else "")).strip()[:120],
        memo=reference[:200], bank_reference=(data.bank_reference or "").strip()[:64],
        source="manual", payer_org_id=payer.id if payer else None,
        status=TransferStatus.UNMATCHED, recorded_by_id=actor.id)
    db.session.add(transfer)
    try:
        db.session.flush()
    except IntegrityError:
        raise DuplicateSubmission(_("这笔转账已经记录过了。")) from None
    status = _hold_or_book(transfer, actor)
    record(actor, f"transfer.{status}", transfer,
           reason=f"¥{format_yuan(amount)} {transfer.payer_name} {reference}")
    return transfer


# Statement imports ---------------------------------------------------------------------


@dataclass
class NeedsMapping:
    """A statement whose columns are not known yet: the person maps them once."""

    token: str
    filename: str
    headers: list[str]
    guess: dict[str, str]
    sample: list[list[str]]


@dataclass
class ImportResult:
    statement: StatementImport
    problems: list[str] = field(default_factory=list)


def _store_statement(upload) -> tuple[str, bytes, statements.Table]:
    data = upload.read(current_app.config["MAX_DOCUMENT_BYTES"] + 1)
    if len(data) > current_app.config["MAX_DOCUMENT_BYTES"]:
        raise Invalid(_("文件太大。"), {"file": [_("文件太大。")]})
    table = _table(data)
    import secrets

    extension = "xlsx" if statements._is_xlsx(data) else "csv"
    token = f"{secrets.token_hex(16)}.{extension}"
    (upload_dir("statements") / token).write_bytes(data)
    return token, data, table


def _table(data: bytes) -> statements.Table:
    try:
        return statements.read_table(data)
    except statements.StatementError as exc:
        raise Invalid(str(exc), {"file": [str(exc)]}) from None


def _mapping_for(table) -> StatementMapping | None:
    return db.session.scalar(select(StatementMapping).where(
        StatementMapping.header_signature == table.signature))


def open_statement_import(actor) -> None:
    """The statement upload page is finance's (the upload itself is the use case below)."""
    authorize("finance.manage", actor)


@use_case("finance.manage")
def upload_statement(actor, upload) -> ImportResult | NeedsMapping:
    """Store a bank statement export; import it at once if its columns were mapped before."""
    filename = (getattr(upload, "filename", "") or "statement")[-120:]
    token, data, table = _store_statement(upload)
    on_rollback(lambda: discard("statements", token))
    mapping = _mapping_for(table)
    if mapping is None:
        guess = statements.guess_mapping(table.headers)
        sample = [[statements._text(c) for c in row] for row in table.rows[:5]]
        return NeedsMapping(token, filename, table.headers, guess, sample)
    return _import(actor, token, data, table, json.loads(mapping.columns), mapping, filename)


@use_case("finance.manage")
def import_mapped_statement(actor, token: str, filename: str, columns: dict) -> ImportResult:
    """Remember the column mapping of a new export format, then import the stored statement."""
    if not STAGED.fullmatch(token or ""):
        raise NotFound(_("上传的文件已失效，请重新上传。"))
    path = upload_dir("statements") / token
    if not path.exists():
        raise NotFound(_("上传的文件已失效，请重新上传。"))
    data = path.read_bytes()
    table = _table(data)
    columns = {k: v for k, v in (columns or {}).items() if k in statements.FIELDS and v}
    errors = {}
    for name in statements.REQUIRED:
        if columns.get(name) not in table.headers:
            errors[name] = [_("请选择这一列。")]
    chosen = [v for v in columns.values()]
    if len(set(chosen)) != len(chosen):
        errors["_"] = [_("每一列只能对应一个字段。")]
    if any(v not in table.headers for v in chosen):
        errors["_"] = [_("所选列不在文件中。")]
    if errors:
        raise Invalid(_("请为日期、金额和摘要各选择一列。"), errors)
    mapping = _mapping_for(table)
    if mapping is None:
        mapping = StatementMapping(header_signature=table.signature)
        db.session.add(mapping)
    mapping.headers = json.dumps(table.headers, ensure_ascii=False)
    mapping.columns = json.dumps(columns, ensure_ascii=False)
    mapping.updated_at = now()
    mapping.updated_by_id = actor.id
    db.session.flush()
    return _import(actor, token, data, table, columns, mapping, (filename or token)[-120:])


def _import(actor, token, data, table, columns, mapping, filename) -> ImportResult:
    """Book every new row of a statement, in batches of statements rather than one by one.

    The rules are those of a transfer recorded by hand (matching.py); the rows are written with
    a few multi-row INSERTs, so a 10,000-row statement takes seconds.
    """
    rows, skipped, problems = statements.rows_of(table, columns)
    if problems:
        raise Invalid(_("有 %(n)s 行无法识别，没有导入任何数据：", n=len(problems))
                      + "；".join(problems[:10]))
    keys = statements.dedupe_keys(rows)
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        known.update(db.session.scalars(select(BankTransfer.dedupe_key)
                                        .where(BankTransfer.dedupe_key.in_(chunk))))
    statement = StatementImport(
        filename=filename, stored_name=token, sha256=hashlib.sha256(data).hexdigest(),
        mapping_id=mapping.id, rows_read=len(rows) + skipped, rows_skipped=skipped,
        imported_by_id=actor.id, rows_known=0, rows_new=0, matched=0, flagged=0)
    db.session.add(statement)
    db.session.flush()
    fresh = []
    for row, key in zip(rows, keys, strict=True):
        if key in known:
            statement.rows_known += 1
            continue
        known.add(key)
        fresh.append((row, key))
    if fresh:
        _book_statement_rows(actor, statement, fresh)
    record(actor, "statement.imported", statement,
           reason=_("%(f)s：新增 %(n)s 笔，已导入过 %(k)s 笔", f=filename, n=statement.rows_new,
                    k=statement.rows_known))
    return ImportResult(statement)


def _book_statement_rows(actor, statement: StatementImport, fresh: list) -> None:
    prefix = _prefix()
    payers = dict(db.session.execute(select(Organisation.name, Organisation.id)
                                     .where(Organisation.kind == "buyer")).all())
    # Suspected duplicates: an earlier transfer with the same day, amount and reference.
    seen: dict[tuple, tuple] = {}
    low = min(r.value_date for r, _k in fresh)
    high = max(r.value_date for r, _k in fresh)
    for other in db.session.execute(select(
            BankTransfer.id, BankTransfer.value_date, BankTransfer.amount_fen,
            BankTransfer.memo).where(BankTransfer.value_date.between(low, high),
                                     BankTransfer.status != TransferStatus.DISCARDED)):
        seen.setdefault(_fingerprint(other.value_date, other.amount_fen, other.memo),
                        ("id", other.id, other.value_date))
    refs = [find_references(prefix, row.memo) for row, _k in fresh]
    facts = load_facts(r[0] for r in refs if len(r) == 1)
    for start in range(0, len(facts), 500):  # their rows, before reading what was paid
        _lock_sub_orders(list(facts)[start:start + 500])
    paid = {i: p for i, (p, _c) in ledger.paid_by_sub_order(list(facts)).items()}
    underpaid_open = _open_underpaid(facts)
    had_underpaid = set(underpaid_open)
    plans, rows = [], []
    for index, ((row, key), row_refs) in enumerate(zip(fresh, refs, strict=True)):
        payer = payers.get(row.payer_name)
        fingerprint = _fingerprint(row.value_date, row.amount_fen, row.memo)
        earlier = seen.get(fingerprint)
        seen.setdefault(fingerprint, ("row", index, row.value_date))
        sub, why, parts = None, "", None
        if earlier:
            status = TransferStatus.HELD
        else:
            sub, why = judge(row_refs, facts, payer)
            if sub is None:
                status = TransferStatus.UNMATCHED
            else:
                status = TransferStatus.MATCHED
                parts = split(row.amount_fen, sub.due_fen, paid[sub.id])
                paid[sub.id] += parts.applied_fen
        plans.append((row, status, sub, why, parts, earlier))
        rows.append({"dedupe_key": key, "value_date": row.value_date,
                     "amount_fen": row.amount_fen, "payer_name": row.payer_name,
                     "payer_account": row.payer_account, "memo": row.memo,
                     "bank_reference": row.bank_reference, "source": "import",
                     "statement_import_id": statement.id, "payer_org_id": payer,
                     "sub_order_id": sub.id if sub else None, "status": status,
                     "recorded_by_id": actor.id, "created_at": now()})
    ids = list(db.session.scalars(insert(BankTransfer).returning(
        BankTransfer.id, sort_by_parameter_order=True), rows))
    journals, issues = [], []
    paid_now: dict[int, list] = {}
    for transfer_id, (row, status, sub, why, parts, earlier) in zip(ids, plans, strict=True):
        issue = {"transfer_id": transfer_id, "sub_order_id": None, "online_payment_id": None,
                 "status": IssueStatus.OPEN, "resolution": "", "opened_at": now()}
        if status == TransferStatus.HELD:
            assert earlier is not None  # held because an earlier row has its fingerprint
            first_id = earlier[1] if earlier[0] == "id" else ids[earlier[1]]
            issues.append(dict(issue, kind=IssueKind.DUPLICATE, amount_fen=row.amount_fen,
                               detail=_duplicate_text(earlier[2], first_id)))
            continue
        sources = {"transfer_id": transfer_id}
        if status == TransferStatus.UNMATCHED:
            journals.append(ledger.Journal(JournalKind.UNMATCHED, [
                debit(Account.BANK, row.amount_fen), credit(Account.SUSPENSE, row.amount_fen)],
                row.memo, row.value_date, sources))
            issues.append(dict(issue, kind=IssueKind.UNMATCHED, amount_fen=row.amount_fen,
                               detail=why[:300]))
            continue
        assert sub is not None and parts is not None  # a matched row has both
        journals.append(ledger.Journal(JournalKind.TRANSFER,
                                       lines(BANK, row.amount_fen, sub, parts),
                                       row.memo, row.value_date, sources))
        if parts.excess_fen:
            issues.append(dict(issue, kind=IssueKind.OVERPAID, amount_fen=parts.excess_fen,
                               sub_order_id=sub.id, detail=_overpaid_text(sub, parts)))
        if parts.outstanding_after > 0 and sub.id not in underpaid_open:
            underpaid_open.add(sub.id)
            issues.append(dict(issue, kind=IssueKind.UNDERPAID,
                               amount_fen=parts.outstanding_after, sub_order_id=sub.id,
                               detail=_underpaid_text(sub, parts)))
        if parts.applied_fen:
            paid_now.setdefault(sub.id, []).append(parts)
    ledger.post_many(journals, actor=actor)
    if issues:
        db.session.execute(insert(PaymentIssue), issues)
    statement.rows_new = len(plans)
    statement.matched = sum(1 for plan in plans if plan[1] == TransferStatus.MATCHED)
    statement.flagged = statement.rows_new - statement.matched
    for sub_id in had_underpaid:
        if paid_now.get(sub_id) and paid_now[sub_id][-1].outstanding_after == 0:
            _close_underpaid(db.session.get_one(SubOrder, sub_id), actor)
    _notify_statement(facts, paid_now)


def _lock_sub_orders(ids: list[int]) -> None:
    """Many sub-orders' write locks at once (as lock_row takes one)."""
    if ids:
        db.session.execute(update(SubOrder).where(SubOrder.id.in_(ids))
                           .values(status=SubOrder.status)
                           .execution_options(synchronize_session=False))


def _notify_statement(facts: dict, paid_now: dict[int, list]) -> None:
    """One notice per organisation for a whole statement, not one per transfer."""
    by_buyer: dict[int, list] = {}
    by_producer: dict[int, list] = {}
    for sub_id, parts in paid_now.items():
        sub = facts[sub_id]
        amount = sum(p.applied_fen for p in parts)
        by_buyer.setdefault(sub.buyer_org_id, []).append((sub, amount))
        by_producer.setdefault(sub.producer_org_id, []).append((sub, amount))
    for roles, groups in (((Role.BUYER, Role.BUYER_APPROVER), by_buyer),
                          ((Role.PRODUCER,), by_producer)):
        for org_id, paid in groups.items():
            members = db.session.scalars(select(User).where(
                User.organisation_id == org_id, User.role.in_(roles), User.active.is_(True)))
            numbers = "、".join(sub.number for sub, _a in paid[:5]) + ("…" if len(paid) > 5 else "")
            notify(members, _("银行到账：%(k)s 笔订单收到付款 ¥%(a)s（%(n)s）", k=len(paid),
                              a=format_yuan(sum(a for _s, a in paid)), n=numbers))


def _fingerprint(value_date, amount_fen, memo) -> tuple:
    refs = tuple(find_references(_prefix(), memo))
    return (value_date, amount_fen, refs or (memo or "",))


# Online payment (Stripe Checkout) ------------------------------------------------------


@use_case("payment.pay", subject="sub")
def start_checkout(actor, sub: SubOrder, *, success_url: str, cancel_url: str,
                   locale: str = "auto") -> str:
    """Open a Stripe Checkout session for what is outstanding on `sub`; return its URL.

    Stripe is called before anything is written: if it fails, nothing is left behind and the
    same request can be repeated. The idempotency key is the sub-order and the attempt number,
    so a retry after a timeout gets the session Stripe may have made, never a second one.
    """
    if not stripe_gateway.configured():
        raise InvalidTransition(online_unavailable_reason())
    part = _sub_payments([sub])[0]
    if not part.payable_online:
        raise InvalidTransition(_("这笔订单现在没有待付金额。"))
    amount = part.outstanding_fen
    fresh = now() - timedelta(hours=23)
    for payment in reversed(part.online):
        if payment.status == OnlineStatus.OPEN and payment.amount_fen == amount \
                and payment.created_at > fresh and payment.checkout_url:
            return payment.checkout_url
    attempt = (db.session.scalar(select(func.max(OnlinePayment.attempt)).where(
        OnlinePayment.sub_order_id == sub.id)) or 0) + 1
    try:
        session = stripe_gateway.create_checkout_session(
            amount_fen=amount, name=f"{sub.number} · {sub.producer_name}"[:120],
            reference=reference_of(sub), success_url=success_url, cancel_url=cancel_url,
            idempotency_key=f"xunong-checkout-{sub.id}-{attempt}-{amount}",
            metadata={"sub_order_id": str(sub.id), "attempt": str(attempt)}, locale=locale)
    except stripe_gateway.GatewayError as exc:
        log.warning("checkout for sub-order %s failed: %s (%s)", sub.id, exc, exc.kind)
        raise GatewayUnavailable(_gateway_message(exc)) from None
    if session.amount_total != amount or session.currency != "cny" or not session.url:
        log.error("checkout session %s came back as %s %s", session.id, session.amount_total,
                  session.currency)
        raise GatewayUnavailable(_("Stripe 返回的支付金额与应付金额不符，没有产生付款。"))
    payment = OnlinePayment(sub_order_id=sub.id, buyer_org_id=sub.purchase_order.buyer_org_id,
                            attempt=attempt, amount_fen=amount, currency="cny",
                            session_id=session.id, checkout_url=session.url,
                            status=OnlineStatus.OPEN, created_by_id=actor.id)
    db.session.add(payment)
    try:
        db.session.flush()
    except IntegrityError:
        raise CheckoutExists(session.url) from None
    record(actor, "payment.checkout", sub, reason=f"{session.id} ¥{format_yuan(amount)}")
    return session.url


def checkout_status(actor, session_id: str) -> OnlinePayment:
    """The online payment a buyer came back from Stripe with (for the return page)."""
    payment = db.session.scalar(select(OnlinePayment).where(
        OnlinePayment.session_id == (session_id or "")[:255]))
    if payment is None:
        raise NotFound(_("找不到这次支付。"))
    authorize("payment.pay", actor, payment.sub_order)
    return payment


# Webhooks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    outcome: str
    detail: str = ""


def _claim_event(event: stripe_gateway.WebhookEvent, raw: bytes) -> int | None:
    """Insert the event row once; None if this event was received before (or right now)."""
    dialect = db.session.get_bind().dialect.name
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    obj = event.object
    intent = obj.get("payment_intent") if isinstance(obj.get("payment_intent"), str) else ""
    return db.session.execute(insert_(WebhookEvent).values(
        event_id=event.id[:255], type=event.type[:60], object_id=str(obj.get("id", ""))[:255],
        payment_intent=(intent or "")[:255], outcome="received",
        payload=raw.decode("utf-8", "replace")[:20000], received_at=now(),
    ).on_conflict_do_nothing(index_elements=["event_id"]).returning(WebhookEvent.id)
    ).scalar_one_or_none()


def _finish(event_row_id: int, outcome: str, detail: str = "", status: int = 200) -> WebhookAnswer:
    db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_row_id)
                       .values(outcome=outcome, detail=detail[:300]))
    if outcome == "rejected":
        log.warning("stripe webhook rejected: %s", detail)
    return WebhookAnswer(status, outcome, detail)


@use_case(None)
def receive_webhook(payload: bytes, signature: str | None) -> WebhookAnswer:
    """Apply one Stripe event, once, whatever order events come in.

    A bad, missing or stale signature changes nothing and answers 400 (so Stripe shows the
    failure). A signed event is answered 200 even when it is rejected (wrong amount or
    currency, a session of no order): it is recorded for a person, and sending it again could
    not change the answer. A failure of ours answers 500, and Stripe retries.
    """
    try:
        event = stripe_gateway.parse_webhook(payload, signature)
    except stripe_gateway.BadSignature as exc:
        log.warning("stripe webhook refused: %s", exc)
        return WebhookAnswer(400, "bad_signature", str(exc))
    row_id = _claim_event(event, payload)
    if row_id is None:
        return WebhookAnswer(200, "duplicate")
    handler = _HANDLERS.get(event.type)
    if handler is None:
        return _finish(row_id, "ignored", event.type)
    return handler(event, row_id)


def _payment_of_session(obj: dict) -> OnlinePayment | None:
    """The online payment of a session, its row locked first (events about it queue here)."""
    session_id = str(obj.get("id", ""))[:255]
    locked = cast(CursorResult, db.session.execute(
        update(OnlinePayment).where(OnlinePayment.session_id == session_id)
        .values(status=OnlinePayment.status).execution_options(synchronize_session=False)))
    if not locked.rowcount:
        return None
    return db.session.scalar(select(OnlinePayment).where(OnlinePayment.session_id == session_id)
                             .execution_options(populate_existing=True))


def _checks(payment: OnlinePayment, obj: dict) -> str:
    """Why a session event cannot be believed for this payment ("" when it can)."""
    amount = obj.get("amount_total")
    currency = str(obj.get("currency") or "").lower()
    if not isinstance(amount, int) or amount != payment.amount_fen:
        return _("金额 %(a)s 与应付 %(d)s 不符", a=amount, d=payment.amount_fen)
    if currency != payment.currency:
        return _("币种 %(c)s 与应付币种 %(d)s 不符", c=currency or "-", d=payment.currency)
    return ""


def _on_session_paid(event, row_id) -> WebhookAnswer:
    obj = event.object
    payment = _payment_of_session(obj)
    if payment is None:
        return _finish(row_id, "rejected", _("会话 %(s)s 不属于任何订单", s=obj.get("id")))
    problem = _checks(payment, obj)
    if problem:
        _open_issue(IssueKind.WEBHOOK, amount_fen=int(obj.get("amount_total") or 0)
                    if isinstance(obj.get("amount_total"), int) else 0,
                    sub_order_id=payment.sub_order_id, online_payment_id=payment.id,
                    detail=f"{event.type} {event.id}: {problem}")
        return _finish(row_id, "rejected", problem)
    if event.type == "checkout.session.completed" and obj.get("payment_status") != "paid":
        if payment.status == OnlineStatus.OPEN:
            compare_and_set(payment, OnlineStatus.OPEN, OnlineStatus.PROCESSING)
            return _finish(row_id, "applied", "processing")
        return _finish(row_id, "ignored", payment.status)
    if payment.status == OnlineStatus.PAID:
        return _finish(row_id, "ignored", _("已入账"))
    intent = obj.get("payment_intent")
    intent = intent if isinstance(intent, str) else (intent or {}).get("id")
    compare_and_set(payment, payment.status, OnlineStatus.PAID, paid_at=now(),
                    payment_intent=(intent or None))
    sub = payment.sub_order
    _apply(sub, payment.amount_fen, STRIPE, JournalKind.ONLINE, actor=None,
           memo=f"Stripe {payment.session_id}", flag_underpaid=False,
           online_payment_id=payment.id)
    record(None, "payment.paid_online", sub,
           reason=f"{payment.session_id} ¥{format_yuan(payment.amount_fen)}")
    answer = _finish(row_id, "applied", "paid")
    if payment.payment_intent:
        for waiting in db.session.scalars(select(WebhookEvent).where(
                WebhookEvent.payment_intent == payment.payment_intent,
                WebhookEvent.outcome == "waiting").order_by(WebhookEvent.id)):
            data = json.loads(waiting.payload)["data"]["object"]
            _apply_stripe_refund(data, waiting.id, waiting.event_id)
    return answer


def _on_session_closed(event, row_id) -> WebhookAnswer:
    """Expired, or an asynchronous method failed: the session can no longer pay (unless paid)."""
    payment = _payment_of_session(event.object)
    if payment is None:
        return _finish(row_id, "rejected", _("会话 %(s)s 不属于任何订单", s=event.object.get("id")))
    target = OnlineStatus.EXPIRED if event.type.endswith("expired") else OnlineStatus.FAILED
    if payment.status in (OnlineStatus.OPEN, OnlineStatus.PROCESSING):
        compare_and_set(payment, payment.status, target)
        if target == OnlineStatus.FAILED:
            notify_buyers(payment.sub_order.purchase_order, _(
                "订单 %(n)s 的在线支付未成功，请重新支付或对公转账", n=payment.sub_order.number))
        return _finish(row_id, "applied", target)
    return _finish(row_id, "ignored", payment.status)


def _on_refund(event, row_id) -> WebhookAnswer:
    return _apply_stripe_refund(event.object, row_id, event.id)


def _apply_stripe_refund(obj: dict, row_id: int, event_id: str) -> WebhookAnswer:
    """A refund Stripe reports: confirm ours, book a failure back, or record one made in
    Stripe's dashboard. One for a payment not known to be paid yet waits for it."""
    refund_id = str(obj.get("id", ""))[:255]
    status = str(obj.get("status") or "")
    amount = obj.get("amount")
    refund = db.session.scalar(select(Refund).where(Refund.stripe_refund_id == refund_id))
    if refund is not None:
        lock_row(refund)
        db.session.refresh(refund)
        if status == "failed" and refund.status != "failed":
            _refund_failed(refund, event_id)
            return _finish(row_id, "applied", "refund failed")
        if status == "succeeded" and refund.status == "pending":
            refund.status = "succeeded"
            return _finish(row_id, "applied", "refund succeeded")
        return _finish(row_id, "ignored", refund.status)
    intent = obj.get("payment_intent")
    intent = intent if isinstance(intent, str) else ""
    payment = db.session.scalar(select(OnlinePayment).where(
        OnlinePayment.payment_intent == intent)) if intent else None
    if payment is None or payment.status != OnlineStatus.PAID:
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id == row_id)
                           .values(payment_intent=intent[:255]))
        return _finish(row_id, "waiting", _("付款尚未入账，待付款通知到达后处理"))
    created = obj.get("created")
    created = created if isinstance(created, int) else 0
    if (obj.get("metadata") or {}).get("origin") == "xunong" and time.time() - created < 120:
        # Ours, made moments ago by a transaction that has not committed yet (or has just
        # failed): answer "later" and roll back, so the next delivery sees how it ended.
        raise RetryLater(_("退款记录尚未写入，请稍后重发。"))
    if status not in ("succeeded", "pending") or not isinstance(amount, int) or amount <= 0 \
            or str(obj.get("currency") or "").lower() != payment.currency:
        return _finish(row_id, "ignored", status)
    sub = payment.sub_order
    lock_row(sub)
    refunded = _stripe_refunded(payment)
    if amount > payment.amount_fen - refunded:
        _open_issue(IssueKind.WEBHOOK, amount_fen=amount, sub_order_id=sub.id,
                    online_payment_id=payment.id,
                    detail=f"refund {refund_id}: {amount} > {payment.amount_fen - refunded}")
        return _finish(row_id, "rejected", _("退款金额超过可退金额"))
    refund = _new_refund("stripe", "stripe", amount, sub=sub, online_payment_id=payment.id,
                         stripe_refund_id=refund_id, status=status,
                         note=_("在 Stripe 后台发起的退款"), actor=None)
    held = ledger.credit_fen(sub.id)
    from_credit = min(held, amount)
    _post_refund(refund, sub, from_credit=from_credit, cash=Account.STRIPE, actor=None)
    return _finish(row_id, "applied", "external refund")


_HANDLERS = {
    "checkout.session.completed": _on_session_paid,
    "checkout.session.async_payment_succeeded": _on_session_paid,
    "checkout.session.async_payment_failed": _on_session_closed,
    "checkout.session.expired": _on_session_closed,
    "refund.created": _on_refund,
    "refund.updated": _on_refund,
    "refund.failed": _on_refund,
}


# Refunds -----------------------------------------------------------------------------


def _new_refund(method, reason, amount, *, sub=None, actor, status="succeeded", **fields) -> Refund:
    refund = Refund(method=method, reason=reason, amount_fen=amount, status=status,
                    sub_order_id=sub.id if sub else None,
                    buyer_org_id=sub.purchase_order.buyer_org_id if sub else None,
                    producer_org_id=sub.producer_org_id if sub else None,
                    created_by_id=getattr(actor, "id", None), **fields)
    db.session.add(refund)
    db.session.flush()
    return refund


def _post_refund(refund: Refund, sub: SubOrder, *, from_credit: int, cash, actor) -> None:
    """Money back to the buyer: from its credit on the sub-order first, the rest from what
    the producer was paid."""
    where = {"buyer_org_id": sub.purchase_order.buyer_org_id, "sub_order_id": sub.id}
    ledger.post(JournalKind.REFUND, [
        debit(Account.BUYER_CREDIT, from_credit, **where),
        debit(Account.PRODUCER, refund.amount_fen - from_credit,
              producer_org_id=sub.producer_org_id, **where),
        credit(cash, refund.amount_fen)], actor=actor, refund_id=refund.id,
        memo=refund.note or refund.reason)
    text = _("订单 %(n)s 退款 ¥%(a)s（%(m)s）", n=sub.number, a=format_yuan(refund.amount_fen),
             m=refund.method_text)
    notify_buyers(sub.purchase_order, text)
    notify_producer(sub, text)


def _stripe_refunded(payment: OnlinePayment) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
        Refund.online_payment_id == payment.id, Refund.status != "failed")) or 0)


def _refund_through_stripe(payment: OnlinePayment, amount: int, *, reason: str, note: str,
                           actor) -> tuple[Refund, bool]:
    """Ask Stripe to return `amount` of an online payment; (refund, whether it is new here)."""
    count = db.session.scalar(select(func.count(Refund.id)).where(
        Refund.online_payment_id == payment.id)) or 0
    try:
        result = stripe_gateway.create_refund(
            payment_intent=payment.payment_intent or "", amount_fen=amount,
            idempotency_key=f"xunong-refund-{payment.id}-{count + 1}-{amount}",
            metadata={"sub_order_id": str(payment.sub_order_id), "origin": "xunong"})
    except stripe_gateway.GatewayError as exc:
        log.warning("refund of payment %s failed: %s (%s)", payment.id, exc, exc.kind)
        raise GatewayUnavailable(_gateway_message(exc)) from None
    if result.status in ("failed", "canceled") or result.amount != amount:
        raise GatewayUnavailable(_("Stripe 没有接受这笔退款（%(s)s），没有退款。", s=result.status))
    existing = db.session.scalar(select(Refund).where(Refund.stripe_refund_id == result.id))
    if existing is not None:  # the webhook recorded it already (our first try timed out)
        return existing, False
    return _new_refund("stripe", reason, amount, sub=payment.sub_order, actor=actor,
                       online_payment_id=payment.id, stripe_refund_id=result.id,
                       status="succeeded" if result.status == "succeeded" else "pending",
                       note=note), True


@use_case("suborder.resolve", subject="sub")
def refund_after_resolution(actor, sub: SubOrder) -> list[Refund]:
    """After a dispute is resolved: return what the buyer paid beyond the new amount due.

    Online payments are refunded through Stripe (latest first), the rest is recorded as a bank
    refund. If Stripe cannot be reached the whole resolution is rolled back and can be retried.
    """
    lock_row(sub)
    excess = ledger.paid_fen(sub.id) - (sub.due_fen or 0)
    refunds: list[Refund] = []
    if excess <= 0:
        return refunds
    note = _("争议处理后应付金额降低")
    paid_online = db.session.scalars(select(OnlinePayment).where(
        OnlinePayment.sub_order_id == sub.id, OnlinePayment.status == OnlineStatus.PAID)
        .order_by(OnlinePayment.id.desc())).all()
    for payment in paid_online:
        part = min(excess, payment.amount_fen - _stripe_refunded(payment))
        if part <= 0 or not payment.payment_intent:
            continue
        refund, new = _refund_through_stripe(payment, part, reason="dispute", note=note,
                                             actor=actor)
        if new:
            _post_refund(refund, sub, from_credit=0, cash=Account.STRIPE, actor=actor)
        refunds.append(refund)
        excess -= refund.amount_fen
    if excess > 0:
        refund = _new_refund("bank", "dispute", excess, sub=sub, actor=actor, note=note)
        _post_refund(refund, sub, from_credit=0, cash=Account.BANK, actor=actor)
        refunds.append(refund)
    for refund in refunds:
        record(actor, "payment.refunded", sub,
               reason=f"¥{format_yuan(refund.amount_fen)} {refund.method}")
    return refunds


def _refund_failed(refund: Refund, event_id: str) -> None:
    """Stripe could not return the money: it is owed to the buyer again, for a person."""
    refund.status = "failed"
    sub = refund.sub_order
    where = {"buyer_org_id": sub.purchase_order.buyer_org_id, "sub_order_id": sub.id}
    ledger.post(JournalKind.REFUND_FAILED, [
        debit(Account.STRIPE, refund.amount_fen),
        credit(Account.BUYER_CREDIT, refund.amount_fen, **where)],
        refund_id=refund.id, memo=f"{refund.stripe_refund_id} {event_id}")
    _open_issue(IssueKind.REFUND_FAILED, amount_fen=refund.amount_fen, sub_order_id=sub.id,
                online_payment_id=refund.online_payment_id,
                detail=_("Stripe 退款 %(r)s 失败，请改用银行转账退回", r=refund.stripe_refund_id))


# Matters for a person ------------------------------------------------------------------


ISSUE_ACTIONS = {
    IssueKind.UNMATCHED: ("assign", "refund"),
    IssueKind.OVERPAID: ("refund", "assign"),
    IssueKind.REFUND_FAILED: ("refund", "assign"),
    IssueKind.DUPLICATE: ("discard", "release"),
    IssueKind.UNDERPAID: ("dismiss",),
    IssueKind.WEBHOOK: ("dismiss",),
}
ACTION_LABELS = {
    "assign": _l("认领到订单"),
    "refund": _l("退回付款人"),
    "discard": _l("是同一笔，作废此记录"),
    "release": _l("不是重复，照常入账"),
    "dismiss": _l("已跟进，关闭"),
}


def _assign_target(text: str, issue: PaymentIssue, payer_org_id: int | None) -> SubOrder:
    text = (text or "").strip()
    refs = find_references(_prefix(), text)
    sub = None
    if refs:
        sub = db.session.get(SubOrder, refs[0])
    elif text:
        sub = db.session.scalar(select(SubOrder).where(SubOrder.number == text[:34]))
    if sub is None:
        raise Invalid(_("请填写订单号或付款参考号。"),
                      {"target": [_("找不到这个订单号或付款参考号。")]})
    if sub.due_fen is None:
        raise Invalid(_("订单尚未验收。"), {"target": [_("订单尚未验收，没有应付金额。")]})
    if payer_org_id is not None and payer_org_id != sub.purchase_order.buyer_org_id:
        raise Invalid(_("不能认领到其他单位的订单。"),
                      {"target": [_("付款单位与该订单的采购单位不一致。")]})
    return sub


@use_case("finance.manage")
def resolve_issue(actor, issue: PaymentIssue, action: str, note: str = "",
                  target: str = "") -> PaymentIssue:
    """Settle a matter the matching flagged: assign, refund, discard, release or dismiss."""
    if action not in ISSUE_ACTIONS.get(IssueKind(issue.kind), ()):
        raise Invalid(_("这类事项不能这样处理。"))
    note = (note or "").strip()[:300]
    transfer = issue.transfer
    credit_sub = issue.sub_order if issue.kind in (IssueKind.OVERPAID,
                                                   IssueKind.REFUND_FAILED) else None
    if credit_sub is not None:
        lock_row(credit_sub)
        held = ledger.credit_fen(credit_sub.id)
        amount = min(issue.amount_fen, held)
        if amount <= 0 and action in ("refund", "assign"):
            raise InvalidTransition(_("这笔多付款已经处理过了。"))
    if action == "assign":
        if transfer is not None:
            payer = transfer.payer_org_id
        else:
            assert credit_sub is not None  # an issue without a transfer is about held credit
            payer = credit_sub.purchase_order.buyer_org_id
        sub = _assign_target(target, issue, payer)
        if credit_sub is not None and sub.id == credit_sub.id:
            raise Invalid(_("请认领到另一张订单。"), {"target": [_("请认领到另一张订单。")]})
    fire(issue, "resolve", actor, reason=note)
    issue.resolved_at = now()
    issue.resolved_by_id = actor.id
    if action == "assign" and transfer is not None and credit_sub is None:
        _apply(sub, transfer.amount_fen, SUSPENSE, JournalKind.ASSIGN,
               actor=actor, memo=note or transfer.memo, flag_underpaid=True,
               transfer_id=transfer.id)
        transfer.sub_order_id = sub.id
        transfer.status = TransferStatus.MATCHED
        issue.resolution = _("认领到订单 %(n)s", n=sub.number)
    elif action == "assign":
        assert credit_sub is not None  # (the branch above took the transfer)
        source = Source(Account.BUYER_CREDIT, buyer_org_id=credit_sub.purchase_order.buyer_org_id,
                        sub_order_id=credit_sub.id)
        _apply(sub, amount, source, JournalKind.ASSIGN, actor=actor, memo=note,
               flag_underpaid=True)
        issue.resolution = _("¥%(a)s 转付订单 %(n)s", a=format_yuan(amount), n=sub.number)
    elif action == "refund" and credit_sub is not None:
        payment = issue.online_payment
        if issue.kind == IssueKind.OVERPAID and payment is not None and payment.payment_intent:
            refund, new = _refund_through_stripe(payment, amount, reason="overpayment",
                                                 note=note, actor=actor)
            cash = Account.STRIPE
        else:
            refund, new = _new_refund("bank", "overpayment", amount, sub=credit_sub,
                                      actor=actor, note=note, transfer_id=issue.transfer_id), True
            cash = Account.BANK
        if new:
            _post_refund(refund, credit_sub, from_credit=amount, cash=cash, actor=actor)
        issue.resolution = _("¥%(a)s %(m)s", a=format_yuan(amount), m=refund.method_text)
    elif action == "refund":
        refund = _new_refund("bank", "unmatched", transfer.amount_fen, actor=actor, note=note,
                             transfer_id=transfer.id)
        ledger.post(JournalKind.REFUND, [debit(Account.SUSPENSE, transfer.amount_fen),
                                         credit(Account.BANK, transfer.amount_fen)],
                    actor=actor, refund_id=refund.id, transfer_id=transfer.id, memo=note)
        transfer.status = TransferStatus.REFUNDED
        issue.resolution = _("已退回付款人")
    elif action == "discard":
        transfer.status = TransferStatus.DISCARDED
        issue.resolution = _("与已记录的转账是同一笔，未重复入账")
    elif action == "release":
        status = _book_transfer(transfer, actor)
        issue.resolution = _("照常入账（%(s)s）", s=TransferStatus(status).label)
    else:
        issue.resolution = note or _("已跟进")
    record(actor, f"payment_issue.{action}", issue, reason=note)
    return issue


def get_issue(actor, issue_id: int) -> PaymentIssue:
    authorize("finance.manage", actor)
    issue = db.session.get(PaymentIssue, issue_id)
    if issue is None:
        raise NotFound(_("事项不存在。"))
    return issue


# Payouts -----------------------------------------------------------------------------


@dataclass
class PayoutData:
    producer_org_id: int | None
    amount: str
    paid_on: date | None
    bank_reference: str
    note: str
    idempotency_key: str


@use_case("finance.manage")
def record_payout(actor, data: PayoutData) -> Payout:
    """Record money paid out to a producer; never more than the ledger holds for it."""
    if not KEY.fullmatch(data.idempotency_key or ""):
        raise Invalid(_("表单已过期，请刷新页面后重新提交。"))
    org = db.session.get(Organisation, data.producer_org_id) \
        if isinstance(data.producer_org_id, int) and data.producer_org_id < 2**31 else None
    errors: dict[str, list[str]] = {}
    if org is None or org.kind != "producer":
        errors["producer_org_id"] = [_("请选择供应商。")]
    try:
        amount = parse_yuan(data.amount)
    except MoneyError:
        amount = 0
        errors["amount"] = [_("请填写大于 0 的金额（元，最多两位小数）。")]
    if not isinstance(data.paid_on, date):
        errors["paid_on"] = [_("请填写付款日期。")]
    elif data.paid_on > today():
        errors["paid_on"] = [_("付款日期不能晚于今天。")]
    if errors:
        raise Invalid(_("请检查填写的内容。"), errors)
    assert org is not None  # an error above otherwise
    lock_row(org)
    owed = ledger.producer_balance(org.id)
    if amount > owed:
        msg = _("结算金额不能超过应付该供应商的余额 ¥%(a)s。", a=format_yuan(max(owed, 0)))
        raise Invalid(msg, {"amount": [msg]})
    payout = Payout(producer_org_id=org.id, amount_fen=amount, paid_on=data.paid_on,
                    bank_reference=(data.bank_reference or "").strip()[:64],
                    note=(data.note or "").strip()[:300], idempotency_key=data.idempotency_key,
                    created_by_id=actor.id)
    db.session.add(payout)
    try:
        db.session.flush()
    except IntegrityError:
        raise DuplicateSubmission(_("这笔结算已经记录过了。")) from None
    ledger.post(JournalKind.PAYOUT, [debit(Account.PRODUCER, amount, producer_org_id=org.id),
                                     credit(Account.BANK, amount)],
                actor=actor, booked_on=data.paid_on, payout_id=payout.id,
                memo=payout.bank_reference or payout.note)
    record(actor, "payout.recorded", org, reason=f"¥{format_yuan(amount)} {payout.bank_reference}")
    members = db.session.scalars(select(User).where(
        User.organisation_id == org.id, User.role == Role.PRODUCER, User.active.is_(True)))
    notify(members, _("平台已向本单位结算付款 ¥%(a)s", a=format_yuan(amount)), org)
    return payout


# Reading for finance and producers -----------------------------------------------------


@dataclass
class LedgerLine:
    journal: LedgerJournal
    entry: LedgerEntry
    sub_number: str


@dataclass
class ProducerLedger:
    org: Organisation
    balance_fen: int
    collected_fen: int
    refunded_fen: int
    paid_out_fen: int
    page: object  # a pagination of LedgerLine-like rows


def producer_ledger(actor, org: Organisation, page: int = 1) -> ProducerLedger:
    """A producer's own account with the platform: every entry, and sums over them."""
    authorize("ledger.read", actor, org)
    by_kind = dict(db.session.execute(
        select(LedgerJournal.kind, func.sum(LedgerEntry.amount_fen))
        .join(LedgerJournal, LedgerJournal.id == LedgerEntry.journal_id)
        .where(LedgerEntry.producer_org_id == org.id, LedgerEntry.account == Account.PRODUCER)
        .group_by(LedgerJournal.kind)).all())
    collected = -sum(int(v) for k, v in by_kind.items()
                     if k in (JournalKind.TRANSFER, JournalKind.ONLINE, JournalKind.ASSIGN))
    refunded = sum(int(v) for k, v in by_kind.items() if k == JournalKind.REFUND)
    paid_out = sum(int(v) for k, v in by_kind.items() if k == JournalKind.PAYOUT)
    query = (select(LedgerEntry)
             .where(LedgerEntry.producer_org_id == org.id, LedgerEntry.account == Account.PRODUCER)
             .options(selectinload(LedgerEntry.journal), selectinload(LedgerEntry.sub_order))
             .order_by(LedgerEntry.id.desc()))
    pagination = db.paginate(query, page=page, per_page=50, error_out=False, count=True)
    return ProducerLedger(org=org, balance_fen=-sum(int(v) for v in by_kind.values()),
                          collected_fen=collected, refunded_fen=refunded, paid_out_fen=paid_out,
                          page=pagination)


def rows_of_page(pagination) -> list[LedgerLine]:
    """The (entry, journal, sub-order number) rows of a producer ledger page."""
    return [LedgerLine(journal=e.journal, entry=e, sub_number=e.sub_order.number if e.sub_order
                       else "") for e in pagination.items]


@dataclass
class FinanceOverview:
    open_issues: list[PaymentIssue]
    balances: dict
    owed_to_producers: list[tuple[Organisation, int]]
    recent_imports: list[StatementImport]


def finance_overview(actor) -> FinanceOverview:
    authorize("finance.manage", actor)
    issues = list(db.session.scalars(select(PaymentIssue).where(
        PaymentIssue.status == IssueStatus.OPEN).order_by(PaymentIssue.id).limit(200)))
    owed_rows = db.session.execute(
        select(LedgerEntry.producer_org_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.account == Account.PRODUCER)
        .group_by(LedgerEntry.producer_org_id)
        .having(func.sum(LedgerEntry.amount_fen) != 0)).all()
    orgs = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_([r[0] for r in owed_rows])))} if owed_rows else {}
    owed = sorted(((orgs[pid], -int(total)) for pid, total in owed_rows if pid is not None),
                  key=lambda pair: -pair[1])
    balances = {a: ledger.account_balance(a) for a in Account}
    imports = list(db.session.scalars(select(StatementImport)
                                      .order_by(StatementImport.id.desc()).limit(10)))
    return FinanceOverview(issues, balances, owed, imports)


def list_transfers(actor, status: str | None = None, page: int = 1):
    authorize("finance.manage", actor)
    query = select(BankTransfer)
    if status:
        query = query.where(BankTransfer.status == status)
    return db.paginate(query.order_by(BankTransfer.id.desc()), page=page, per_page=50,
                       error_out=False)


def list_payouts(actor, page: int = 1):
    authorize("finance.manage", actor)
    return db.paginate(select(Payout).order_by(Payout.id.desc()), page=page, per_page=50,
                       error_out=False)


def buyer_organisations(actor) -> list[Organisation]:
    authorize("finance.manage", actor)
    return list(db.session.scalars(select(Organisation).where(Organisation.kind == "buyer")
                                   .order_by(Organisation.name)))


def producers_owed(actor) -> list[tuple[Organisation, int]]:
    """Producers the platform holds money for, with the amount (for the payout form)."""
    return [(o, owed) for o, owed in finance_overview(actor).owed_to_producers if owed > 0]


def get_organisation(actor, org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind != "producer":
        raise NotFound(_("供应商不存在。"))
    authorize("ledger.read", actor, org)
    return org


# Reconciliation --------------------------------------------------------------------------


@dataclass
class Reconciliation:
    start: date
    end: date  # exclusive
    by_day: list[dict]  # {day, transfer, online, refunds, payouts}
    totals: dict
    open_issues: list[PaymentIssue]
    unmatched: list[BankTransfer]
    rejected_events: list[WebhookEvent]
    balances: dict
    ledger_sum: int


METHOD_COLUMNS = {
    JournalKind.TRANSFER: "transfer", JournalKind.UNMATCHED: "transfer",
    JournalKind.ONLINE: "online", JournalKind.REFUND: "refunds",
    JournalKind.REFUND_FAILED: "refunds", JournalKind.PAYOUT: "payouts",
}


def reconciliation(actor, year: int, month: int) -> Reconciliation:
    """Money in and out by day and method for one month, from the ledger's cash accounts."""
    authorize("finance.manage", actor)
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    rows = db.session.execute(
        select(LedgerJournal.booked_on, LedgerJournal.kind, LedgerEntry.account,
               func.sum(LedgerEntry.amount_fen))
        .join(LedgerJournal, LedgerJournal.id == LedgerEntry.journal_id)
        .where(LedgerEntry.account.in_((Account.BANK, Account.STRIPE)),
               LedgerJournal.booked_on >= start, LedgerJournal.booked_on < end)
        .group_by(LedgerJournal.booked_on, LedgerJournal.kind, LedgerEntry.account)).all()
    days: dict[date, dict] = {}
    columns = ("transfer", "online", "refunds", "payouts")
    for day, kind, _account, total in rows:
        column = METHOD_COLUMNS.get(JournalKind(kind))
        if column is None:
            continue
        entry = days.setdefault(day, {"day": day, **{c: 0 for c in columns}})
        entry[column] += int(total) if column in ("transfer", "online") else -int(total)
    by_day = [days[d] for d in sorted(days)]
    totals = {c: sum(d[c] for d in by_day) for c in columns}
    unmatched = list(db.session.scalars(select(BankTransfer).where(
        BankTransfer.status.in_((TransferStatus.UNMATCHED, TransferStatus.HELD)))
        .order_by(BankTransfer.id)))
    rejected = list(db.session.scalars(select(WebhookEvent).where(
        WebhookEvent.outcome.in_(("rejected", "waiting"))).order_by(WebhookEvent.id.desc())
        .limit(100)))
    issues = list(db.session.scalars(select(PaymentIssue).where(
        PaymentIssue.status == IssueStatus.OPEN).order_by(PaymentIssue.id)))
    summary = ledger.totals()
    return Reconciliation(start, end, by_day, totals, issues, unmatched, rejected,
                          {a: ledger.account_balance(a) for a in Account}, summary["sum"])


def reconciliation_workbook(actor, year: int, month: int) -> bytes:
    """The reconciliation as an Excel workbook: by day, unmatched, open matters, balances."""
    from marketplace.payments.exports import workbook

    return workbook(reconciliation(actor, year, month))
