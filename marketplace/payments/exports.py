"""The reconciliation as an Excel workbook (openpyxl): one sheet per table of the page."""

import io

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from marketplace.money import fen_to_yuan
from marketplace.payments.models import Account


def _sheet(workbook, title: str, header: list[str], rows) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for column in sheet.columns:
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(max(10, width * 1.6), 60)


def workbook(rec) -> bytes:
    """Money by day and method, totals, unmatched transfers, open matters, account balances."""
    book = Workbook()
    book.remove(book.active)
    money = "#,##0.00"
    _sheet(book, _("按日汇总"), [_("日期"), _("对公转账收款"), _("在线支付收款"), _("退款"), _("结算付款")],
           [[d["day"], fen_to_yuan(d["transfer"]), fen_to_yuan(d["online"]),
             fen_to_yuan(d["refunds"]), fen_to_yuan(d["payouts"])] for d in rec.by_day]
           + [[_("合计"), fen_to_yuan(rec.totals["transfer"]), fen_to_yuan(rec.totals["online"]),
               fen_to_yuan(rec.totals["refunds"]), fen_to_yuan(rec.totals["payouts"])]])
    sheet = book[_("按日汇总")]
    for row in sheet.iter_rows(min_row=2, min_col=2):
        for cell in row:
            cell.number_format = money
    for row in sheet.iter_rows(min_row=2, max_col=1):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    _sheet(book, _("未匹配转账"), [_("编号"), _("到账日期"), _("金额"), _("付款人"), _("摘要"), _("状态")],
           [[t.id, t.value_date, fen_to_yuan(t.amount_fen), t.payer_name, t.memo, t.status_text]
            for t in rec.unmatched])
    _sheet(book, _("待处理事项"), [_("编号"), _("类型"), _("金额"), _("说明"), _("发现时间")],
           [[i.id, i.kind_text, fen_to_yuan(i.amount_fen), i.detail,
             i.opened_at.strftime("%Y-%m-%d %H:%M")] for i in rec.open_issues])
    _sheet(book, _("账户余额"), [_("账户"), _("余额")],
           [[str(Account(a).label), fen_to_yuan(v)] for a, v in rec.balances.items()]
           + [[_("分录合计（应为 0）"), fen_to_yuan(rec.ledger_sum)]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
