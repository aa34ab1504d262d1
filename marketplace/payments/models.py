"""Payments: invoices, transfers, statement imports, online payments, refunds, payouts, and the ledger.

Payment state is kept apart from fulfilment state: a sub-order's `due_fen` is fixed at receipt
(orders), and what has been paid against it is a sum over the ledger here. Nothing that can
drift is stored: every balance — paid on a sub-order, owed to a producer, held in suspense,
owed back to a buyer — is a sum of `ledger_entries`.

The ledger is double-entry and append-only in the database (triggers, as for the audit log).
An entry's `amount_fen` is signed: a debit is positive, a credit negative, and the entries of
one journal sum to zero. Accounts:

  bank          the platform's bank account (asset): transfers in, bank refunds and payouts out
  stripe        money held at Stripe (asset): online payments in, Stripe refunds out
  producer      what the platform holds for a producer (liability; producer_org_id, and the
                sub_order_id it was collected for): collected, refunded, paid out
  buyer_credit  money a buyer paid beyond what was due, to be refunded or applied (liability)
  suspense      transfers received that match nothing yet (liability)
"""

import re
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import DDL, BigInteger, ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from marketplace.clock import now
from marketplace.extensions import db
from marketplace.workflow import Stateful, edge


class Account(StrEnum):
    BANK = "bank"
    STRIPE = "stripe"
    PRODUCER = "producer"
    BUYER_CREDIT = "buyer_credit"
    SUSPENSE = "suspense"

    @property
    def label(self):
        return _ACCOUNT_LABELS[self]


_ACCOUNT_LABELS = {
    Account.BANK: _l("银行账户"),
    Account.STRIPE: _l("Stripe 余额"),
    Account.PRODUCER: _l("应付供应商"),
    Account.BUYER_CREDIT: _l("应退采购单位"),
    Account.SUSPENSE: _l("待认领款项"),
}


class JournalKind(StrEnum):
    TRANSFER = "transfer"  # a bank transfer received and matched
    UNMATCHED = "unmatched"  # a bank transfer received that matches nothing (to suspense)
    ASSIGN = "assign"  # a person applied suspense or a buyer's credit to a sub-order
    ONLINE = "online"  # an online payment completed (webhook)
    REFUND = "refund"  # money returned to a buyer (Stripe or bank)
    REFUND_FAILED = "refund_failed"  # Stripe could not return it: owed to the buyer again
    PAYOUT = "payout"  # money paid out to a producer

    @property
    def label(self):
        return _KIND_LABELS[self]


_KIND_LABELS = {
    JournalKind.TRANSFER: _l("对公转账"),
    JournalKind.UNMATCHED: _l("未匹配转账"),
    JournalKind.ASSIGN: _l("人工认领"),
    JournalKind.ONLINE: _l("在线支付"),
    JournalKind.REFUND: _l("退款"),
    JournalKind.REFUND_FAILED: _l("退款失败"),
    JournalKind.PAYOUT: _l("结算付款"),
}


class LedgerJournal(db.Model):
    """One business event in the ledger; its entries sum to zero."""

    __tablename__ = "ledger_journals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    booked_on: Mapped[date] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(80), default="")
    memo: Mapped[str] = mapped_column(String(300), default="")
    # What the event came from (at most one or two are set).
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transfers.id"), index=True)
    online_payment_id: Mapped[int | None] = mapped_column(ForeignKey("online_payments.id"),
                                                          index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"), index=True)

    entries: Mapped[list["LedgerEntry"]] = relationship(back_populates="journal",
                                                        order_by="LedgerEntry.id")

    @property
    def kind_text(self) -> str:
        return str(JournalKind(self.kind).label)


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        db.CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        db.Index("ix_ledger_entries_sub_order", "sub_order_id", "account"),
        db.Index("ix_ledger_entries_producer", "producer_org_id", "account", "id"),
        db.Index("ix_ledger_entries_account", "account", "journal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("ledger_journals.id"), index=True)
    account: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # debit positive, credit negative
    producer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    buyer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    sub_order_id: Mapped[int | None] = mapped_column(ForeignKey("sub_orders.id"))

    journal: Mapped[LedgerJournal] = relationship(back_populates="entries")
    sub_order = relationship("SubOrder", viewonly=True)

    @property
    def account_text(self) -> str:
        return str(Account(self.account).label)


# The database refuses to change or delete a ledger row, whatever code runs against it; the
# same statements are in the migration that created the tables.
LEDGER_TABLES = ("ledger_journals", "ledger_entries")
SQLITE_APPEND_ONLY = [
    statement
    for table in LEDGER_TABLES
    for statement in (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
    )
]
POSTGRESQL_APPEND_ONLY = [
    "CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$",
] + [
    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
    for table in LEDGER_TABLES
]
for _model in (LedgerJournal, LedgerEntry):
    _table = _model.__tablename__
    for _statement in SQLITE_APPEND_ONLY:
        if f" ON {_table} " in _statement:
            event.listen(_model.__table__, "after_create",
                         DDL(_statement).execute_if(dialect="sqlite"))
event.listen(LedgerJournal.__table__, "after_create",
             DDL(POSTGRESQL_APPEND_ONLY[0]).execute_if(dialect="postgresql"))
for _model, _statement in zip((LedgerJournal, LedgerEntry), POSTGRESQL_APPEND_ONLY[1:],
                              strict=True):
    event.listen(_model.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))


@event.listens_for(Session, "before_flush")
def _refuse_ledger_changes(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (LedgerJournal, LedgerEntry)) and (
                obj in session.deleted or session.is_modified(obj, include_collections=False)):
            raise RuntimeError("the ledger is append-only")


# Invoices -------------------------------------------------------------------------------


class Invoice(db.Model):
    """The producer's invoice (发票) for a received sub-order: a file, or a number and date."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub_order_id: Mapped[int] = mapped_column(ForeignKey("sub_orders.id"), unique=True)
    number: Mapped[str] = mapped_column(String(40))
    issued_on: Mapped[date] = mapped_column()
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # what was due when it was issued
    stored_name: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40), default="")
    size: Mapped[int] = mapped_column(default=0)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=now)

    sub_order = relationship("SubOrder")

    @property
    def has_file(self) -> bool:
        return bool(self.stored_name)


# Bank transfers and statements ---------------------------------------------------------


class TransferStatus(StrEnum):
    MATCHED = "matched"  # applied to a sub-order
    UNMATCHED = "unmatched"  # in suspense until a person assigns or refunds it
    HELD = "held"  # looks like a transfer already recorded: not booked until a person decides
    REFUNDED = "refunded"  # sent back to the payer
    DISCARDED = "discarded"  # was the same transfer as one already recorded

    @property
    def label(self):
        return _TRANSFER_LABELS[self]


_TRANSFER_LABELS = {
    TransferStatus.MATCHED: _l("已匹配"),
    TransferStatus.UNMATCHED: _l("未匹配"),
    TransferStatus.HELD: _l("疑似重复"),
    TransferStatus.REFUNDED: _l("已退回"),
    TransferStatus.DISCARDED: _l("重复记录已作废"),
}


class BankTransfer(db.Model):
    """Money received on the platform's bank account (对公转账), recorded or imported."""

    __tablename__ = "bank_transfers"
    __table_args__ = (db.Index("ix_bank_transfers_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Same statement row, same key: importing a statement twice records nothing new.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    value_date: Mapped[date] = mapped_column(index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payer_name: Mapped[str] = mapped_column(String(120), default="")
    payer_account: Mapped[str] = mapped_column(String(40), default="")
    memo: Mapped[str] = mapped_column(String(200), default="")
    bank_reference: Mapped[str] = mapped_column(String(64), default="")  # the bank's 流水号
    source: Mapped[str] = mapped_column(String(10))  # manual | import
    statement_import_id: Mapped[int | None] = mapped_column(ForeignKey("statement_imports.id"),
                                                            index=True)
    payer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    sub_order_id: Mapped[int | None] = mapped_column(ForeignKey("sub_orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    sub_order = relationship("SubOrder")
    payer_org = relationship("Organisation")

    @property
    def status_text(self) -> str:
        return str(TransferStatus(self.status).label)


class StatementMapping(db.Model):
    """Which column of a bank's statement export holds what, remembered by its header row."""

    __tablename__ = "statement_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    header_signature: Mapped[str] = mapped_column(String(64), unique=True)
    headers: Mapped[str] = mapped_column(Text)  # JSON list, for the form
    columns: Mapped[str] = mapped_column(Text)  # JSON {field: header}
    updated_at: Mapped[datetime] = mapped_column(default=now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class StatementImport(db.Model):
    __tablename__ = "statement_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(120))
    stored_name: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mapping_id: Mapped[int | None] = mapped_column(ForeignKey("statement_mappings.id"))
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_new: Mapped[int] = mapped_column(default=0)
    rows_known: Mapped[int] = mapped_column(default=0)  # already imported before
    rows_skipped: Mapped[int] = mapped_column(default=0)  # outgoing or empty amounts
    matched: Mapped[int] = mapped_column(default=0)
    flagged: Mapped[int] = mapped_column(default=0)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)


# Online payments -----------------------------------------------------------------------


class OnlineStatus(StrEnum):
    OPEN = "open"  # the buyer was sent to Stripe Checkout
    PROCESSING = "processing"  # completed, an asynchronous method still settling
    PAID = "paid"  # a signature-verified webhook said so
    EXPIRED = "expired"
    FAILED = "failed"

    @property
    def label(self):
        return _ONLINE_LABELS[self]


_ONLINE_LABELS = {
    OnlineStatus.OPEN: _l("待支付"),
    OnlineStatus.PROCESSING: _l("处理中"),
    OnlineStatus.PAID: _l("已支付"),
    OnlineStatus.EXPIRED: _l("已过期"),
    OnlineStatus.FAILED: _l("支付失败"),
}


class OnlinePayment(db.Model):
    """A Stripe Checkout session for what was due on one sub-order."""

    __tablename__ = "online_payments"
    __table_args__ = (UniqueConstraint("sub_order_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sub_order_id: Mapped[int] = mapped_column(ForeignKey("sub_orders.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    attempt: Mapped[int] = mapped_column()
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="cny")
    session_id: Mapped[str] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str] = mapped_column(Text, default="")
    payment_intent: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    paid_at: Mapped[datetime | None] = mapped_column()

    sub_order = relationship("SubOrder")

    @property
    def status_text(self) -> str:
        return str(OnlineStatus(self.status).label)


class WebhookEvent(db.Model):
    """A Stripe event we received with a valid signature, once: deliveries are idempotent."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    payment_intent: Mapped[str] = mapped_column(String(255), default="", index=True)
    outcome: Mapped[str] = mapped_column(String(12))  # applied, ignored, rejected, waiting
    detail: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(default=now, index=True)


# Refunds and payouts -------------------------------------------------------------------


class Refund(db.Model):
    """Money returned to a buyer: through Stripe for online payments, else by bank.

    For the sales reports: a refund here returns money paid beyond what is due. When it follows
    a dispute resolved in the buyer's favour, the sale (order_lines.received_fen) was already
    lowered by the resolution itself, so these amounts are not to be deducted again.
    """

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(String(10))  # stripe | bank
    reason: Mapped[str] = mapped_column(String(30))  # dispute | overpayment | unmatched | stripe
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    sub_order_id: Mapped[int | None] = mapped_column(ForeignKey("sub_orders.id"), index=True)
    buyer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    producer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    online_payment_id: Mapped[int | None] = mapped_column(ForeignKey("online_payments.id"),
                                                          index=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transfers.id"))
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(12))  # succeeded | pending | failed
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    sub_order = relationship("SubOrder")

    @property
    def method_text(self) -> str:
        return str(_l("原路退回（Stripe）") if self.method == "stripe" else _l("银行转账退回"))


class Payout(db.Model):
    """Money the platform paid out to a producer (结算付款); never more than it holds for it."""

    __tablename__ = "payouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column()
    bank_reference: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    producer = relationship("Organisation")


# Matters for a person ------------------------------------------------------------------


class IssueKind(StrEnum):
    UNMATCHED = "unmatched"
    UNDERPAID = "underpaid"
    OVERPAID = "overpaid"
    DUPLICATE = "duplicate"
    REFUND_FAILED = "refund_failed"
    WEBHOOK = "webhook"

    @property
    def label(self):
        return _ISSUE_LABELS[self]


_ISSUE_LABELS = {
    IssueKind.UNMATCHED: _l("未匹配转账"),
    IssueKind.UNDERPAID: _l("少付"),
    IssueKind.OVERPAID: _l("多付"),
    IssueKind.DUPLICATE: _l("疑似重复转账"),
    IssueKind.REFUND_FAILED: _l("退款失败"),
    IssueKind.WEBHOOK: _l("被拒绝的支付通知"),
}


class IssueStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"

    @property
    def label(self):
        return _l("待处理") if self == IssueStatus.OPEN else _l("已处理")


class PaymentIssue(Stateful, db.Model):
    """Something the matching could not settle alone, for a person to resolve."""

    __tablename__ = "payment_issues"
    __table_args__ = (db.Index("ix_payment_issues_open", "status", "id"),
                      db.Index("ix_payment_issues_sub_order", "sub_order_id", "kind", "status"))

    STATUS = IssueStatus
    AUDIT_NAME = "payment_issue"
    EDGES = {
        "resolve": edge({IssueStatus.OPEN}, IssueStatus.RESOLVED, "finance.manage",
                        label=_l("处理")),
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default=IssueStatus.OPEN)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transfers.id"))
    sub_order_id: Mapped[int | None] = mapped_column(ForeignKey("sub_orders.id"))
    online_payment_id: Mapped[int | None] = mapped_column(ForeignKey("online_payments.id"))
    detail: Mapped[str] = mapped_column(String(300), default="")
    resolution: Mapped[str] = mapped_column(String(300), default="")
    opened_at: Mapped[datetime] = mapped_column(default=now)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    transfer = relationship("BankTransfer")
    sub_order = relationship("SubOrder")
    online_payment = relationship("OnlinePayment")

    @property
    def kind_text(self) -> str:
        return str(IssueKind(self.kind).label)


# Payment references --------------------------------------------------------------------


def _check_digits(number: int) -> int:
    """ISO 7064 mod 97-10 check digits: a single typo or swapped pair never matches."""
    return 98 - (number * 100) % 97


def payment_reference(prefix: str, sub_order_id: int) -> str:
    return f"{prefix}{sub_order_id:08d}{_check_digits(sub_order_id):02d}"


def find_references(prefix: str, text: str) -> list[int]:
    """The sub-order ids of every valid payment reference written in `text` (a bank memo)."""
    found = []
    pattern = re.compile(re.escape(prefix) + r"[\s\-]?(\d{8})[\s\-]?(\d{2})(?!\d)", re.I)
    for match in pattern.finditer(text or ""):
        number, check = int(match.group(1)), int(match.group(2))
        if number and _check_digits(number) == check and number not in found:
            found.append(number)
    return found
