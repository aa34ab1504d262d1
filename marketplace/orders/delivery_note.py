"""The delivery note (送货单) as a PDF: the only module that imports reportlab.

Chinese needs a CJK font. We embed (a subset of) a TrueType CJK font found on the machine —
PDF_FONT if set, else WenQuanYi / Droid fallbacks from Debian's font packages — so the note
prints the same on any reader, phone or printer. Where none is installed we use reportlab's
built-in STSong-Light: nothing to embed, text still extractable, but the reader must supply a
Song typeface itself. Nothing is ever downloaded.
"""

import functools
import io
import logging
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import KeepTogether

from marketplace.money import format_quantity, format_yuan

log = logging.getLogger(__name__)

#: TrueType CJK fonts shipped by Debian packages, in order of preference (path, face index).
SYSTEM_FONTS = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),  # fonts-wqy-microhei
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),  # fonts-droid-fallback
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # fonts-arphic-uming
)
BUILTIN_FONT = "STSong-Light"


@functools.lru_cache(maxsize=8)
def font_for(configured: str) -> str:
    """Register and name the font to draw with: `configured`, a system CJK font, or STSong.

    PDF_FONT=STSong-Light embeds nothing (smaller files; the reader supplies the typeface).
    """
    if configured == BUILTIN_FONT:
        candidates = []
    else:
        candidates = ([(configured, 0)] if configured else []) + list(SYSTEM_FONTS)
    for path, index in candidates:
        if not Path(path).is_file():
            continue
        name = f"NoteCJK-{Path(path).stem}-{index}"
        try:
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=index))
        except (TTFError, OSError) as exc:  # e.g. an OpenType/CFF font reportlab cannot embed
            log.warning("cannot embed font %s: %s", path, exc)
            continue
        return name
    pdfmetrics.registerFont(UnicodeCIDFont(BUILTIN_FONT))
    return BUILTIN_FONT


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("note", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22, alignment=1,
                                spaceAfter=4 * mm),
        "cell": base,
        "head": ParagraphStyle("head", parent=base, textColor=colors.black),
        "number": ParagraphStyle("number", parent=base, alignment=2),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10,
                                textColor=colors.HexColor("#444444")),
    }


def _p(text, style) -> Paragraph:
    """A cell paragraph; the text is data, so it is escaped for reportlab's mini-markup."""
    escaped = str(text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped, style)


GRID: list[tuple[Any, ...]] = [("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4), ("RIGHTPADDING", (0, 0), (-1, -1), 4)]


def _meta_table(sub, order, s, width) -> Table:
    label = s["head"]
    address = f"{order.delivery_address}（{order.delivery_contact} {order.delivery_phone}）"
    shipped = sub.shipped_at.strftime("%Y-%m-%d %H:%M") if sub.shipped_at else ""
    rows: list[list[Paragraph | str]] = [
        [_p(_("送货单号"), label), _p(sub.number, s["cell"]),
         _p(_("采购单号"), label), _p(order.number, s["cell"])],
        [_p(_("供货单位"), label), _p(sub.producer_name, s["cell"]),
         _p(_("收货单位"), label), _p(order.buyer_name, s["cell"])],
        [_p(_("收货地址"), label), _p(address, s["cell"]), "", ""],
        [_p(_("要求送达"), label),
         _p(f"{order.delivery_date.isoformat()} {order.delivery_window}", s["cell"]),
         _p(_("发货时间"), label), _p(shipped, s["cell"])],
    ]
    if order.notes:
        rows.append([_p(_("备注"), label), _p(order.notes, s["cell"]), "", ""])
    table = Table(rows, colWidths=[0.14 * width, 0.36 * width, 0.14 * width, 0.36 * width])
    spans: list[tuple[Any, ...]] = [("SPAN", (1, 2), (3, 2))]
    if order.notes:
        spans.append(("SPAN", (1, 4), (3, 4)))
    table.setStyle(TableStyle(GRID + spans + [
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee")),
        ("BACKGROUND", (2, 0), (2, 1), colors.HexColor("#eeeeee")),
        ("BACKGROUND", (2, 3), (2, 3), colors.HexColor("#eeeeee")),
    ]))
    return table


def _lines_table(sub, s, width) -> Table:
    head = [_("行号"), _("品名"), _("规格"), _("单位"), _("订购数量"), _("实发数量"),
            _("实收数量"), _("单价（元）"), _("认定证书")]
    rows: list[list[Paragraph | str]] = [[_p(h, s["head"]) for h in head]]
    for number, line in enumerate(sub.lines, start=1):
        rows.append([
            _p(number, s["number"]), _p(line.product_name, s["cell"]),
            _p(line.specification, s["cell"]), _p(line.unit, s["cell"]),
            _p(format_quantity(line.quantity), s["number"]),
            _p(format_quantity(line.quantity_shipped), s["number"]),
            "",  # 实收数量: written in by the receiver at the door
            _p(format_yuan(line.unit_price_fen), s["number"]),
            _p(line.certificate_number, s["cell"]),
        ])
    shares = (0.055, 0.19, 0.15, 0.055, 0.09, 0.09, 0.09, 0.105, 0.175)
    table = Table(rows, colWidths=[share * width for share in shares], repeatRows=1)
    table.setStyle(TableStyle(GRID + [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]))
    return table


def _signatures(s, width) -> Table:
    """Three places to sign by hand, each a label and a line."""
    labels = (_("送货人签字"), _("收货人签字"), _("日期"))
    cells = [[part for label in labels
              for part in (_p(_("%(label)s：", label=label), s["cell"]), "")]]
    shares = (0.14, 0.2, 0.14, 0.2, 0.08, 0.18)
    table = Table(cells, colWidths=[share * width for share in shares], rowHeights=[14 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM")] + [
        ("LINEBELOW", (column, 0), (column, 0), 0.6, colors.black) for column in (1, 3, 5)]))
    return table


def delivery_note_pdf(sub, order) -> bytes:
    """The printable 送货单 of one sub-order: numbers, lines, addresses, signature lines."""
    font = font_for(current_app.config.get("PDF_FONT", ""))
    s = _styles(font)
    out = io.BytesIO()
    title = f"{_('送货单')} {sub.number}"
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm, title=title,
                            author=sub.producer_name, subject=order.number, creator="许农优品")
    width = doc.width
    def page_footer(canvas, document):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawCentredString(A4[0] / 2, 8 * mm, " · ".join(
            (_("许农优品 · 送货单"), sub.number, _("第 %(n)s 页", n=document.page))))
        canvas.restoreState()

    story = [
        _p(_("许农优品 · 送货单"), s["title"]),
        _meta_table(sub, order, s, width), Spacer(1, 5 * mm),
        _lines_table(sub, s, width), Spacer(1, 3 * mm),
        KeepTogether([
            _p(_("实收数量由收货人验收时填写；数量不符请在平台上按实收数量验收。"), s["small"]),
            Spacer(1, 4 * mm), _signatures(s, width)]),
    ]
    doc.build(story, onFirstPage=page_footer, onLaterPages=page_footer)
    return out.getvalue()
