"""The delivery note (送货单) as a PDF: Chinese text a reader can extract, and the same access
rule as the printable page."""

import io

import pytest
from pypdf import PdfReader

from marketplace.orders import cart, services
from marketplace.orders.delivery_note import BUILTIN_FONT
from tests.helpers import csrf_token, login
from tests.orders.conftest import delivery


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def fonts_of(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            names.add(str(font["/BaseFont"]))
    return names


@pytest.fixture
def shipped(db, market):
    """An order from both producers; the 禹州 producer accepted and shipped 8 of 10 bags."""
    cart.add_to_cart(market.purchaser, market.fentiao, "10")
    cart.add_to_cart(market.purchaser, market.honey, "4")
    order = services.submit_purchase_order(
        market.purchaser, delivery(market, notes="请从食堂后门送货"), "k" * 16)
    sub = order.sub_orders[0]
    services.accept_sub_order(market.farmer, sub)
    services.ship_sub_order(market.farmer, sub, {sub.lines[0].id: "8"})
    return order


def logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


@pytest.mark.parametrize("font", ["system", "builtin"])
def test_the_pdf_carries_the_order_in_chinese(app, client, market, shipped, font):
    if font == "builtin":  # no CJK TrueType font on the machine: the reader's Song typeface
        app.config["PDF_FONT"] = BUILTIN_FONT
    sub = shipped.sub_orders[0]
    line = sub.lines[0]
    login(client, "farmer")
    response = client.get(f"/sub-orders/{sub.id}/delivery-note.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    for expected in ("送货单", shipped.number, sub.number, "禹州粉条", "2.5公斤/袋", "袋",
                     "禹州方山粉条合作社", "许昌市中心医院职工食堂", "许昌市魏都区健康路1号",
                     "张师傅", delivery(market)["delivery_date"].isoformat(), "请从食堂后门送货",
                     line.certificate_number, "28.50", "送货人签字", "收货人签字", "日期"):
        assert expected in text, expected
    # One row: line number, name, specification, unit, ordered 10, shipped 8, price, certificate.
    row = f"1 禹州粉条 2.5公斤/袋 袋 10 8 28.50 {line.certificate_number}"
    assert row in " ".join(text.split())
    assert "枣花蜜" not in text  # the other producer's part is not on this note
    if font == "builtin":
        assert fonts_of(pdf) >= {"/" + BUILTIN_FONT}
    else:  # a subset of the machine's WenQuanYi font travels inside the file
        assert any(name.endswith("+WenQuanYiZenHei-0") for name in fonts_of(pdf)), fonts_of(pdf)


def test_the_buyer_and_the_administrator_may_print_it_and_another_producer_may_not(
        client, market, shipped, admin):
    sub = shipped.sub_orders[0]
    url = f"/sub-orders/{sub.id}/delivery-note.pdf"
    login(client, "beekeeper")  # the 鄢陵 producer: has a sub-order of the same order
    assert client.get(url).status_code == 403
    logout(client)
    for who in ("purchaser", "boss", "admin"):
        login(client, who)
        response = client.get(url)
        assert response.status_code == 200 and "禹州粉条" in text_of(response.get_data()), who
        logout(client)
    assert client.get(url).status_code == 302  # not logged in: to the login page
    assert client.get("/sub-orders/999999/delivery-note.pdf").status_code in (302, 404)


def test_the_note_and_the_sub_order_page_link_to_the_pdf(client, market, shipped):
    sub = shipped.sub_orders[0]
    login(client, "farmer")
    pdf_link = f'href="/sub-orders/{sub.id}/delivery-note.pdf"'
    assert pdf_link in client.get(f"/sub-orders/{sub.id}/delivery-note").get_data(as_text=True)
    assert pdf_link in client.get(f"/sub-orders/{sub.id}").get_data(as_text=True)


def test_the_pdf_follows_the_reader_s_language(client, market, shipped):
    sub = shipped.sub_orders[0]
    login(client, "farmer")
    client.get("/lang/en")
    text = text_of(client.get(f"/sub-orders/{sub.id}/delivery-note.pdf").get_data())
    text = " ".join(text.split())
    for expected in ("Delivery note", "Received by:", "Certificate", "禹州粉条"):
        assert expected in text, expected
