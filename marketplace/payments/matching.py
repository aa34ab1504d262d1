"""Which sub-order a payment pays and how it splits: the rules shared by a transfer recorded by
hand, a person's assignment, an online payment and a whole bank statement imported at once.

A payment goes to its sub-order's producer up to what is outstanding; anything above that is
the buyer's credit (an overpayment, for a person to refund or apply elsewhere).
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.models import PurchaseOrder, SubOrder
from marketplace.payments.ledger import Line, credit, debit
from marketplace.payments.models import Account


@dataclass(frozen=True)
class SubFacts:
    """What matching needs to know of a sub-order."""

    id: int
    number: str
    due_fen: int | None
    buyer_org_id: int
    producer_org_id: int


@dataclass(frozen=True)
class Source:
    """The account money comes from when it is applied to a sub-order."""

    account: str
    producer_org_id: int | None = None
    buyer_org_id: int | None = None
    sub_order_id: int | None = None


BANK = Source(Account.BANK)
STRIPE = Source(Account.STRIPE)
SUSPENSE = Source(Account.SUSPENSE)


def facts_of(sub: SubOrder) -> SubFacts:
    return SubFacts(sub.id, sub.number, sub.due_fen, sub.purchase_order.buyer_org_id,
                    sub.producer_org_id)


def load_facts(ids) -> dict[int, SubFacts]:
    """Facts of many sub-orders, a few queries for any number."""
    ids = sorted({i for i in ids if 0 < i < 2**31})
    out = {}
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(SubOrder.id, SubOrder.number, SubOrder.due_fen, PurchaseOrder.buyer_org_id,
                   SubOrder.producer_org_id)
            .join(PurchaseOrder, PurchaseOrder.id == SubOrder.purchase_order_id)
            .where(SubOrder.id.in_(ids[start:start + 500])))
        out.update({row.id: SubFacts(*row) for row in rows})
    return out


def judge(refs: list[int], facts: dict[int, SubFacts],
          payer_org_id: int | None) -> tuple[SubFacts | None, str]:
    """The sub-order the references in a memo point at, or why a person must look."""
    if len(refs) > 1:
        return None, _("附言中有多个付款参考号")
    if not refs:
        return None, _("附言中没有有效的付款参考号")
    sub = facts.get(refs[0])
    if sub is None:
        return None, _("付款参考号不对应任何订单")
    if sub.due_fen is None:
        return None, _("订单 %(n)s 尚未验收，没有应付金额", n=sub.number)
    if payer_org_id is not None and payer_org_id != sub.buyer_org_id:
        return None, _("付款单位与订单 %(n)s 的采购单位不一致", n=sub.number)
    return sub, ""


@dataclass(frozen=True)
class Split:
    applied_fen: int  # to the producer
    excess_fen: int  # the buyer's credit
    outstanding_after: int


def split(amount_fen: int, due_fen: int | None, paid_fen: int) -> Split:
    outstanding = max(0, (due_fen or 0) - paid_fen)
    applied = min(amount_fen, outstanding)
    return Split(applied, amount_fen - applied, outstanding - applied)


def lines(source: Source, amount_fen: int, sub: SubFacts, parts: Split) -> list[Line]:
    where = {"buyer_org_id": sub.buyer_org_id, "sub_order_id": sub.id}
    return [
        debit(source.account, amount_fen, producer_org_id=source.producer_org_id,
              buyer_org_id=source.buyer_org_id, sub_order_id=source.sub_order_id),
        credit(Account.PRODUCER, parts.applied_fen, producer_org_id=sub.producer_org_id,
               **where),
        credit(Account.BUYER_CREDIT, parts.excess_fen, **where),
    ]
