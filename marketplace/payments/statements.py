"""Reading a bank's statement export (CSV or .xlsx) into plain rows, whatever its column names.

Chinese banks export CSV in GBK as often as in UTF-8, put a few lines about the account above
the header row, split money into 借方 (out) and 贷方 (in) columns, and write dates in several
ways. This module finds the header row, remembers nothing (the mapping lives in the database),
and turns each row into a `StatementRow` or a reason why it cannot.
"""

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.money import MAX_FEN

#: What a mapping names, in the order the form shows them; the first three are required.
FIELDS = {
    "value_date": _l("日期"),
    "amount": _l("收入金额（贷方）"),
    "memo": _l("摘要 / 附言（含付款参考号）"),
    "payer_name": _l("付款人户名"),
    "payer_account": _l("付款人账号"),
    "bank_reference": _l("银行流水号"),
}
REQUIRED = ("value_date", "amount", "memo")
#: Header words that suggest a field, for the first mapping of a new bank's export.
HINTS = {
    "value_date": ("交易日期", "记账日期", "日期", "date"),
    "amount": ("贷方发生额", "贷方金额", "收入金额", "贷方", "收入", "credit", "amount", "金额"),
    "memo": ("附言", "摘要", "用途", "备注", "memo", "remark", "description"),
    "payer_name": ("对方户名", "付款人名称", "付款人", "对方名称", "payer", "name"),
    "payer_account": ("对方账号", "付款人账号", "account"),
    "bank_reference": ("流水号", "交易流水", "凭证号", "reference", "transaction id"),
}
MAX_ROWS = 100_000


class StatementError(ValueError):
    """The file cannot be read as a statement; the message says why, for a person."""


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list]  # the cells under the header row, as read
    first_line: int  # the file's line number of rows[0] (1-based), for messages

    @property
    def signature(self) -> str:
        """Identifies the export format: the same headers, the same remembered mapping."""
        return hashlib.sha256("\x1f".join(self.headers).encode()).hexdigest()


@dataclass(frozen=True)
class StatementRow:
    line: int
    value_date: date
    amount_fen: int
    memo: str
    payer_name: str
    payer_account: str
    bank_reference: str


def _text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return unicodedata.normalize("NFKC", str(cell)).strip()


def _is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _read_csv(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise StatementError(_("无法识别文件的文字编码，请导出为 UTF-8 或 GBK 编码的 CSV。"))
    if "\x00" in text:
        raise StatementError(_("这不是 CSV 文本文件。"))
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO(text), dialect))


def _read_xlsx(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise StatementError(_("无法读取这个 Excel 文件（仅支持 .xlsx）。")) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + 50:
                break
        return rows
    finally:
        workbook.close()


def _looks_like_header(cells: list) -> bool:
    texts = [_text(c) for c in cells]
    filled = [t for t in texts if t]
    if len(filled) < 3 or len(set(filled)) != len(filled):
        return False
    return not any(isinstance(c, (int, float, Decimal, date, datetime)) for c in cells
                   if c is not None) and not any(_DATE.match(t) for t in filled)


def read_table(data: bytes) -> Table:
    """The header row (the first row of three or more distinct labels) and the rows under it."""
    if not data:
        raise StatementError(_("文件是空的。"))
    rows = _read_xlsx(data) if _is_xlsx(data) else _read_csv(data)
    for index, cells in enumerate(rows[:30]):
        if _looks_like_header(cells):
            headers = [_text(c) for c in cells]
            body = [r for r in rows[index + 1:] if any(_text(c) for c in r)]
            if len(body) > MAX_ROWS:
                raise StatementError(_("一次最多导入 %(n)s 行。", n=MAX_ROWS))
            return Table(headers=headers, rows=rows[index + 1:], first_line=index + 2)
    raise StatementError(_("没有找到表头行（至少三列的列名）。"))


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """A first guess at which header holds which field (a person confirms it)."""
    guess: dict[str, str] = {}
    taken: set[str] = set()
    for name, words in HINTS.items():
        for word in words:
            hit = next((h for h in headers if h and h not in taken and word.lower() in h.lower()),
                       None)
            if hit:
                guess[name] = hit
                taken.add(hit)
                break
    return guess


_DATE = re.compile(r"^(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*[-/.月]?\s*(\d{1,2})")


def parse_date(cell) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    match = _DATE.match(_text(cell))
    if not match:
        raise ValueError("date")
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def parse_amount(cell) -> int | None:
    """Fen of an incoming amount; None for an empty, zero or outgoing (negative) one."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise ValueError("amount")
    if isinstance(cell, (int, float, Decimal)):
        value = Decimal(str(cell))  # openpyxl gives floats; their repr is the typed number
    else:
        text = _text(cell).replace(",", "").replace("¥", "").replace("CNY", "").strip()
        if text in ("", "-", "--"):
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError("amount") from None
    if not value.is_finite():
        raise ValueError("amount")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError("amount")
    fen = int(fen)
    if fen <= 0:
        return None
    if fen > MAX_FEN:
        raise ValueError("amount")
    return fen


def rows_of(table: Table, mapping: dict[str, str]) -> tuple[list[StatementRow], int, list[str]]:
    """(incoming rows, rows skipped as outgoing or empty, problems) under `mapping`."""
    index = {name: table.headers.index(header) for name, header in mapping.items()
             if header in table.headers}
    rows, skipped, problems = [], 0, []

    def cell(cells, name):
        i = index.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    for offset, cells in enumerate(table.rows):
        line = table.first_line + offset
        if not any(_text(c) for c in cells):
            continue
        try:
            amount = parse_amount(cell(cells, "amount"))
        except ValueError:
            problems.append(_("第 %(n)s 行：金额“%(v)s”无法识别。", n=line,
                              v=_text(cell(cells, "amount"))[:20]))
            continue
        if amount is None:
            skipped += 1
            continue
        try:
            value_date = parse_date(cell(cells, "value_date"))
        except ValueError:
            problems.append(_("第 %(n)s 行：日期“%(v)s”无法识别。", n=line,
                              v=_text(cell(cells, "value_date"))[:20]))
            continue
        rows.append(StatementRow(
            line=line, value_date=value_date, amount_fen=amount,
            memo=_text(cell(cells, "memo"))[:200],
            payer_name=_text(cell(cells, "payer_name"))[:120],
            payer_account=_text(cell(cells, "payer_account"))[:40],
            bank_reference=_text(cell(cells, "bank_reference"))[:64]))
    return rows, skipped, problems


def dedupe_keys(rows: list[StatementRow]) -> list[str]:
    """A key per row that is the same whenever the same statement row is imported again.

    The bank's transaction number when mapped; else the row's content with how many identical
    rows came before it in the file (two equal transfers on one day are two transfers).
    """
    seen: dict[str, int] = {}
    keys = []
    for row in rows:
        if row.bank_reference:
            content = f"bank|{row.bank_reference}"
        else:
            content = "|".join(["row", row.value_date.isoformat(), str(row.amount_fen),
                                row.payer_name, row.payer_account, row.memo])
        occurrence = seen.get(content, 0)
        seen[content] = occurrence + 1
        if not row.bank_reference:
            content += f"|{occurrence}"
        keys.append(hashlib.sha256(content.encode()).hexdigest())
    return keys
