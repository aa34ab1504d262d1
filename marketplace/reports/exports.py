"""Every report table as .xlsx (openpyxl write-only) or CSV (UTF-8 with BOM), streamed.

Rows come from an iterator and go straight out: the CSV is written row by row into the
response, the workbook row by row into a temporary file (write-only mode keeps no cells in
memory) that is then sent in chunks and deleted. Memory stays flat however many rows.
"""

import csv
import io
import os
import tempfile
from collections.abc import Iterable
from copy import copy
from datetime import date
from decimal import Decimal
from urllib.parse import quote

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from marketplace.money import format_quantity
from marketplace.reports.tables import Column

FORMATS = {"fen": "#,##0.00", "qty": "#,##0.###", "int": "#,##0", "pct": "0.0%",
           "change": "+0.0%;-0.0%;0.0%", "date": "yyyy-mm-dd"}
CHUNK = 64 * 1024


def cell_value(kind: str, value):
    """The number or text a spreadsheet cell holds for a value of this column kind."""
    if value is None or value == "":
        return None
    if kind == "fen":
        return (Decimal(value) / 100).quantize(Decimal("0.01"))
    if kind == "qty":
        return Decimal(value).normalize() if Decimal(value) % 1 else int(value)
    if kind in ("pct", "change"):
        return Decimal(value)
    return value


def text_value(kind: str, value) -> str:
    """The text a CSV field holds (numbers without grouping, so Excel reads them as numbers)."""
    if value is None or value == "":
        return ""
    if kind == "fen":
        return f"{(Decimal(value) / 100).quantize(Decimal('0.01')):f}"
    if kind == "qty":
        return format_quantity(value)
    if kind == "pct":
        return f"{Decimal(value) * 100:.1f}%"
    if kind == "change":
        return f"{Decimal(value) * 100:+.1f}%"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _disposition(filename: str) -> str:
    ascii_name = "report" + os.path.splitext(filename)[1]
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def csv_response(filename: str, columns: list[Column], rows: Iterable[dict],
                 total: dict | None = None) -> Response:
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow([str(c.label) for c in columns])
        for n, row in enumerate(rows, start=1):
            writer.writerow([text_value(c.kind, row.get(c.key)) for c in columns])
            if n % 500 == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        if total:
            writer.writerow([text_value(c.kind, total.get(c.key)) for c in columns])
        yield buffer.getvalue().encode("utf-8")

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": _disposition(filename)})


def write_xlsx(path: str, title: str, columns: list[Column], rows: Iterable[dict],
               total: dict | None = None) -> int:
    """Write the workbook to `path` row by row; return the number of data rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="报表")
    for index, column in enumerate(columns):
        letter = chr(ord("A") + index) if index < 26 else "A" + chr(ord("A") + index - 26)
        sheet.column_dimensions[letter].width = 18 if column.kind == "text" else 14
    heading = WriteOnlyCell(sheet, title)
    heading.font = Font(bold=True, size=14)
    sheet.append([heading])
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, str(column.label))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
        header.append(cell)
    sheet.append(header)
    # One styled cell per column, whose style every data cell of the column copies: setting
    # number_format cell by cell would look the format up a hundred thousand times.
    styles = {}
    for column in columns:
        if column.kind in FORMATS:
            template = WriteOnlyCell(sheet, None)
            template.number_format = FORMATS[column.kind]
            styles[column.key] = template._style
    kinds = [(c.key, c.kind, styles.get(c.key)) for c in columns]

    def cells(row, bold=False):
        out = []
        for key, kind, style in kinds:
            value = cell_value(kind, row.get(key))
            if style is None and not bold:
                out.append(value)
                continue
            cell = WriteOnlyCell(sheet, value)
            if style is not None:
                cell._style = copy(style)
            if bold:
                cell.font = Font(bold=True)
            out.append(cell)
        return out

    n = 0
    for row in rows:
        sheet.append(cells(row))
        n += 1
    if total:
        sheet.append(cells(total, bold=True))
    workbook.save(path)
    return n


def xlsx_response(filename: str, title: str, columns: list[Column], rows: Iterable[dict],
                  total: dict | None = None) -> Response:
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="report-")
    os.close(handle)
    try:
        write_xlsx(path, title, columns, rows, total)
    except BaseException:
        os.unlink(path)
        raise

    def send():
        try:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
        finally:
            os.unlink(path)

    return Response(send(), mimetype="application/vnd.openxmlformats-officedocument."
                                      "spreadsheetml.sheet",
                    headers={"Content-Disposition": _disposition(filename),
                             "Content-Length": str(os.path.getsize(path))})
