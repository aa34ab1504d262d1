"""Posting to the double-entry ledger, and every balance as a sum over it.

`post()` is the only writer: it refuses a journal whose lines do not sum to zero, and inserts
the journal and its entries with plain INSERTs (a statement import posts thousands).
"""

from dataclasses import dataclass

from sqlalchemy import func, insert, select

from marketplace.clock import now, today
from marketplace.extensions import db
from marketplace.payments.models import Account, LedgerEntry, LedgerJournal


@dataclass(frozen=True)
class Line:
    account: str
    amount_fen: int  # debit positive, credit negative
    producer_org_id: int | None = None
    buyer_org_id: int | None = None
    sub_order_id: int | None = None


def debit(account, amount, **where) -> Line:
    return Line(str(account), amount, **where)


def credit(account, amount, **where) -> Line:
    return Line(str(account), -amount, **where)


class Unbalanced(Exception):
    """A journal whose debits and credits differ: a bug, never a user's mistake."""


def post(kind, lines: list[Line], *, actor=None, memo: str = "", booked_on=None,
         **sources) -> int:
    """Append one journal with its entries (zero lines dropped); return the journal id."""
    lines = [line for line in lines if line.amount_fen]
    if not lines:
        return 0
    if sum(line.amount_fen for line in lines) != 0:
        raise Unbalanced(f"{kind}: {lines}")
    journal_id = db.session.execute(insert(LedgerJournal).returning(LedgerJournal.id), {
        "kind": str(kind), "booked_on": booked_on or today(), "created_at": now(),
        "actor_id": getattr(actor, "id", None),
        "actor_name": (getattr(actor, "display_name", "") or getattr(actor, "username", "")
                       or "system")[:80],
        "memo": memo[:300], **sources,
    }).scalar_one()
    db.session.execute(insert(LedgerEntry), [
        {"journal_id": journal_id, "account": line.account, "amount_fen": line.amount_fen,
         "producer_org_id": line.producer_org_id, "buyer_org_id": line.buyer_org_id,
         "sub_order_id": line.sub_order_id} for line in lines])
    return journal_id


@dataclass
class Journal:
    """One journal of a batch for `post_many`."""

    kind: str
    lines: list[Line]
    memo: str = ""
    booked_on: object = None
    sources: dict | None = None


def post_many(journals: list[Journal], *, actor=None) -> list[int]:
    """Append many journals at once (a statement import); their ids, in order."""
    for journal in journals:
        journal.lines = [line for line in journal.lines if line.amount_fen]
        if sum(line.amount_fen for line in journal.lines) != 0 or not journal.lines:
            raise Unbalanced(f"{journal.kind}: {journal.lines}")
    if not journals:
        return []
    actor_name = (getattr(actor, "display_name", "") or getattr(actor, "username", "")
                  or "system")[:80]
    stamp = now()
    rows = [{"kind": str(j.kind), "booked_on": j.booked_on or today(), "created_at": stamp,
             "actor_id": getattr(actor, "id", None), "actor_name": actor_name,
             "memo": j.memo[:300], "transfer_id": None, "online_payment_id": None,
             "refund_id": None, "payout_id": None, **(j.sources or {})} for j in journals]
    ids = list(db.session.scalars(insert(LedgerJournal).returning(
        LedgerJournal.id, sort_by_parameter_order=True), rows))
    db.session.execute(insert(LedgerEntry), [
        {"journal_id": journal_id, "account": line.account, "amount_fen": line.amount_fen,
         "producer_org_id": line.producer_org_id, "buyer_org_id": line.buyer_org_id,
         "sub_order_id": line.sub_order_id}
        for journal_id, journal in zip(ids, journals, strict=True) for line in journal.lines])
    return ids


def _sum(*conditions) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
                                 .where(*conditions)) or 0)


def paid_fen(sub_order_id: int) -> int:
    """What the platform holds as paid against a sub-order (collected less refunded)."""
    return -_sum(LedgerEntry.sub_order_id == sub_order_id,
                 LedgerEntry.account == Account.PRODUCER)


def credit_fen(sub_order_id: int) -> int:
    """What a buyer paid on a sub-order beyond what was due, still to be returned or applied."""
    return -_sum(LedgerEntry.sub_order_id == sub_order_id,
                 LedgerEntry.account == Account.BUYER_CREDIT)


def paid_by_sub_order(sub_order_ids) -> dict[int, tuple[int, int]]:
    """{sub-order id: (paid, credit)} for many sub-orders in one query."""
    ids = list(sub_order_ids)
    out = {i: (0, 0) for i in ids}
    if not ids:
        return out
    rows = db.session.execute(
        select(LedgerEntry.sub_order_id, LedgerEntry.account, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.sub_order_id.in_(ids),
               LedgerEntry.account.in_((Account.PRODUCER, Account.BUYER_CREDIT)))
        .group_by(LedgerEntry.sub_order_id, LedgerEntry.account))
    for sub_id, account, total in rows:
        paid, held = out[sub_id]
        if account == Account.PRODUCER:
            paid = -int(total)
        else:
            held = -int(total)
        out[sub_id] = (paid, held)
    return out


def producer_balance(producer_org_id: int) -> int:
    """What the platform holds for a producer: collected, less refunded, less paid out."""
    return -_sum(LedgerEntry.producer_org_id == producer_org_id,
                 LedgerEntry.account == Account.PRODUCER)


def account_balance(account) -> int:
    """The balance of an account (a liability's is returned positive when owed)."""
    total = _sum(LedgerEntry.account == str(account))
    return total if account in (Account.BANK, Account.STRIPE) else -total


def totals() -> dict:
    """Every account's balance, and the whole ledger's sum (zero when it balances)."""
    rows = db.session.execute(select(LedgerEntry.account, func.sum(LedgerEntry.amount_fen))
                              .group_by(LedgerEntry.account)).all()
    by_account = {account: int(total) for account, total in rows}
    return {"accounts": by_account, "sum": sum(by_account.values())}


def unbalanced_journals() -> list[int]:
    """Ids of journals whose entries do not sum to zero (there must be none)."""
    return list(db.session.scalars(
        select(LedgerEntry.journal_id).group_by(LedgerEntry.journal_id)
        .having(func.sum(LedgerEntry.amount_fen) != 0)))
