"""Bank statement imports: CSV (UTF-8 or GBK) and .xlsx, columns mapped once and remembered,
matched by reference and amount, the same statement twice records nothing new."""

import io
from datetime import datetime

import pytest
from openpyxl import Workbook
from werkzeug.datastructures import FileStorage

from marketplace.clock import today
from marketplace.errors import Invalid, NotAuthorized
from marketplace.payments import ledger, statements
from marketplace.payments import services as payments
from marketplace.payments.models import BankTransfer, PaymentIssue, StatementMapping

HEADER = ["交易日期", "交易流水号", "借方发生额", "贷方发生额", "对方户名", "对方账号", "摘要"]


def csv_statement(rows, *, encoding="utf-8", preamble=True) -> bytes:
    lines = []
    if preamble:
        lines += ["账户名称,许昌市消费帮扶服务中心", "查询期间,2026-11-01 至 2026-11-30", ""]
    lines.append(",".join(HEADER))
    lines += [",".join(str(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_statement(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["中国农业银行 账户明细"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(actor, data: bytes, name="流水.csv"):
    return payments.upload_statement(actor, FileStorage(io.BytesIO(data), filename=name))


def map_and_import(actor, staged, **overrides):
    columns = {"value_date": "交易日期", "amount": "贷方发生额", "memo": "摘要",
               "payer_name": "对方户名", "payer_account": "对方账号",
               "bank_reference": "交易流水号"}
    columns.update(overrides)
    return payments.import_mapped_statement(actor, staged.token, staged.filename, columns)


def rows_for(received):
    canteen = received.market.canteen.name
    day = today().isoformat()
    return [
        [day, "B001", "", "285.00", canteen, "6228480000001",
         f"货款 {payments.reference_of(received.fentiao)}"],
        [day, "B002", "1,000.00", "", "电费", "", "支出"],  # outgoing: skipped
        [day, "B003", "", "100.00", canteen, "6228480000001", payments.reference_of(received.honey)],
        [day, "B004", "", "66.00", "某某公司", "6222000", "没有参考号"],
    ]


def test_first_import_asks_for_columns_then_remembers_them(db, received, admin):
    staged = upload(admin, csv_statement(rows_for(received)))
    assert isinstance(staged, payments.NeedsMapping)
    assert staged.headers == HEADER
    assert staged.guess["value_date"] == "交易日期" and staged.guess["amount"] == "贷方发生额"
    assert staged.guess["memo"] == "摘要" and staged.guess["bank_reference"] == "交易流水号"
    result = map_and_import(admin, staged)
    s = result.statement
    assert (s.rows_read, s.rows_new, s.rows_skipped, s.matched, s.flagged) == (4, 3, 1, 2, 1)
    assert payments.sub_order_payment(admin, received.fentiao).status == "paid"
    assert payments.sub_order_payment(admin, received.honey).status == "partly_paid"
    kinds = sorted(i.kind for i in PaymentIssue.query.all())
    assert kinds == ["underpaid", "unmatched"]
    assert StatementMapping.query.count() == 1
    # Next month's export of the same bank: imported straight away with the remembered columns.
    again = upload(admin, csv_statement([[today().isoformat(), "B005", "", "14.00",
                                          received.market.canteen.name, "",
                                          payments.reference_of(received.honey)]]))
    assert isinstance(again, payments.ImportResult) and again.statement.matched == 1
    assert payments.sub_order_payment(admin, received.honey).status == "paid"


def test_the_same_statement_twice_records_nothing_new(db, received, admin):
    data = csv_statement(rows_for(received))
    map_and_import(admin, upload(admin, data))
    before = (BankTransfer.query.count(), ledger.totals(), PaymentIssue.query.count())
    result = upload(admin, data)
    assert (result.statement.rows_new, result.statement.rows_known) == (0, 3)
    assert (BankTransfer.query.count(), ledger.totals(), PaymentIssue.query.count()) == before


def test_gbk_csv_without_transaction_numbers_and_identical_rows(db, received, admin):
    reference = payments.reference_of(received.honey)
    day = today().strftime("%Y/%m/%d")
    rows = [[day, "", "", "57.00", "许昌市中心医院职工食堂", "", reference]] * 2
    data = csv_statement(rows, encoding="gbk")
    result = map_and_import(admin, upload(admin, data), bank_reference="")
    assert result.statement.rows_new == 2
    # Two equal rows in one file are two transfers, but look like a double entry: one held.
    statuses = sorted(t.status for t in BankTransfer.query.all())
    assert statuses == ["held", "matched"]
    assert PaymentIssue.query.filter_by(kind="duplicate").count() == 1
    assert upload(admin, data).statement.rows_known == 2  # and still nothing new the second time
    [issue] = PaymentIssue.query.filter_by(kind="duplicate").all()
    payments.resolve_issue(admin, issue, "release", "确实付了两次")
    assert payments.sub_order_payment(admin, received.honey).status == "paid"


def test_xlsx_statement_with_dates_and_numbers_as_cells(db, received, admin):
    rows = [[datetime.combine(today(), datetime.min.time()), 1, None, 285.0,
             received.market.canteen.name, "6228", payments.reference_of(received.fentiao)],
            [today(), 2, None, 113.99, "x", "", payments.reference_of(received.honey)]]
    result = map_and_import(admin, upload(admin, xlsx_statement(rows), "流水.xlsx"))
    assert result.statement.matched == 2
    assert payments.sub_order_payment(admin, received.honey).paid_fen == 11399


def test_a_manually_recorded_transfer_found_again_in_the_statement_is_held(db, received, admin):
    reference = payments.reference_of(received.fentiao)
    payments.record_transfer(admin, payments.TransferData(
        value_date=today(), amount="285", payer_org_id=None, payer_name="", reference=reference,
        bank_reference="", idempotency_key="m" * 16))
    result = map_and_import(admin, upload(admin, csv_statement(rows_for(received)[:1])))
    assert result.statement.flagged == 1
    assert ledger.paid_fen(received.fentiao.id) == 28500  # not twice
    [issue] = PaymentIssue.query.filter_by(kind="duplicate").all()
    payments.resolve_issue(admin, issue, "discard", "同一笔")
    assert ledger.account_balance("bank") == 28500


def test_a_payer_paying_another_organisations_order_goes_to_suspense(db, received, admin,
                                                                     places):
    from tests import factories

    factories.make_buyer(places.yanling, name="鄢陵县第一中学食堂")
    row = [today().isoformat(), "X1", "", "285", "鄢陵县第一中学食堂", "",
           payments.reference_of(received.fentiao)]
    result = map_and_import(admin, upload(admin, csv_statement([row])))
    assert result.statement.flagged == 1
    assert ledger.paid_fen(received.fentiao.id) == 0
    assert "不一致" in PaymentIssue.query.one().detail


def test_bad_rows_refuse_the_whole_file_with_line_numbers(db, received, admin):
    rows = rows_for(received)
    rows[2][3] = "一百元"
    staged = upload(admin, csv_statement(rows))
    with pytest.raises(Invalid) as refused:
        map_and_import(admin, staged)
    assert "第 7 行" in refused.value.message
    assert BankTransfer.query.count() == 0


def test_mapping_must_name_date_amount_and_memo(db, received, admin):
    staged = upload(admin, csv_statement(rows_for(received)))
    with pytest.raises(Invalid):
        map_and_import(admin, staged, memo="")
    with pytest.raises(Invalid):
        map_and_import(admin, staged, memo="贷方发生额")  # one column for two fields


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02binary", b"PK\x03\x04broken zip",
                                  "只有一行\n".encode()])
def test_files_that_are_not_statements_are_refused(db, received, admin, data):
    with pytest.raises(Invalid):
        upload(admin, data)


def test_only_finance_imports(db, received):
    with pytest.raises(NotAuthorized):
        upload(received.market.purchaser, csv_statement(rows_for(received)))


@pytest.mark.parametrize(("cell", "fen"), [("1,234.50", 123450), ("¥12", 1200), (12.1, 1210),
                                           ("", None), ("-5.00", None), (0, None)])
def test_amount_cells(cell, fen):
    assert statements.parse_amount(cell) == fen


@pytest.mark.parametrize("cell", ["12.345", "abc", "1e400"])
def test_amount_cells_refused(cell):
    with pytest.raises(ValueError):
        statements.parse_amount(cell)


@pytest.mark.parametrize("cell", ["2026-11-03", "2026/11/3", "20261103", "2026年11月3日",
                                  "2026-11-03 10:22:01"])
def test_date_cells(cell):
    assert statements.parse_date(cell).isoformat() == "2026-11-03"
