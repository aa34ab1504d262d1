"""The demo as a reviewer meets it: the database `flask demo load` builds, walked over HTTP.

One demo is loaded per module (about two seconds) and shared by the tests here; each test
leaves it usable for the next (they only add rows).
"""

import io
import logging
import re
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from marketplace.accounts.models import User
from marketplace.catalog.models import Category, Product
from marketplace.certification.models import Certificate, CertificationApplication, MarkClaim
from marketplace.clock import today
from marketplace.demo.commands import _password
from marketplace.extensions import db
from marketplace.organisations.models import LinkageChange
from marketplace.places.models import County
from marketplace.search import index
from tests.conftest import make_app
from tests.helpers import pdf_bytes, post_form

DEMO_NUMBER = re.compile(r"XNYP-\d{4}-D\d{7}")
NAV = re.compile(r'<nav class="container">(.*?)</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
#: Pages that look the same to everyone but for the menu: walked for the first accounts only.
PUBLIC_ENDPOINTS = {"main.home", "catalog.catalogue", "catalog.product_page", "search.results",
                    "organisations.public_page"}
#: Links that download a file rather than show a page.
FILE_ENDPOINTS = {"certification.document", "certification.mark_document", "catalog.photo",
                  "orders.delivery_note_pdf", "payments.invoice_file",
                  "payments.reconciliation_export", "reports.city_export", "reports.county_export",
                  "reports.producer_export", "reports.simple_export"}
#: Printable pages: the document alone, without the site's menu and search box.
PRINT_ENDPOINTS = {"orders.delivery_note", "payments.statement"}
#: What each kind of downloaded file begins with: PDF, PNG, JPEG, xlsx (a zip), UTF-8 CSV.
FILE_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"PK\x03\x04", b"\xef\xbb\xbf")


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """An app on a database filled by `flask demo load` (accounts, 360 products, the index)."""
    app = make_app(tmp_path_factory.mktemp("demo"))
    with app.app_context():
        db.drop_all()
        db.create_all()
        result = app.test_cli_runner().invoke(args=["demo", "load"])
        assert "loaded" in result.output, result.output
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
        index.forget(app.config["SEARCH_INDEX_DIR"])


@pytest.fixture
def demo(demo_app):
    """The demo app. Requests run in their own app contexts (several logged-in clients must
    not share one, or they would share its cached CSRF token); read the database inside
    `with database(demo):`."""
    return demo_app


@contextmanager
def database(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def text(response) -> str:
    return response.get_data(as_text=True)


def logged_in(app, username: str):
    client = app.test_client()
    response = post_form(client, "/login", {"username": username, "password": _password()})
    assert response.status_code == 302, f"{username} could not log in: {text(response)[:500]}"
    return client


def decide(client, url: str, page: str, event: str, reason: str = "材料齐全，价格合理"):
    return post_form(client, url, {"event": event, "reason": reason}, page=page)


def test_the_whole_chain_on_the_demo_database(demo, monkeypatch):
    """producer applies -> county passes -> city approves -> notice passes -> listed, found."""
    with database(demo) as session:
        numbers = list(session.scalars(db.select(Certificate.number)))
        starch = session.scalar(db.select(Category.id).where(Category.code == "starch"))
    assert len(numbers) > 250 and all(DEMO_NUMBER.fullmatch(n) for n in numbers)

    producer = logged_in(demo, "producer")
    form = {"name": "禹州粉条礼盒", "category_id": starch, "specification": "2.5公斤/盒",
            "origin": "许昌市禹州市方山镇", "unit": "盒", "price_yuan": "68.00",
            "min_order_qty": "1", "stock": "200", "annual_supply_capacity": "30 吨",
            "description": "纯红薯淀粉，手工漏粉。"}
    created = post_form(producer, "/my/products/new", form)
    assert created.status_code == 302, text(created)
    product_id = int(re.search(r"/my/products/(\d+)/edit", created.location).group(1))
    edit = f"/my/products/{product_id}/edit"
    saved = post_form(producer, edit, dict(form, price_yuan="66.00", stock="180"),
                      follow_redirects=True)
    assert "已保存" in text(saved)
    applied = post_form(producer, f"/my/products/{product_id}/apply", {
        "annual_supply_capacity": "30 吨", "benefit_mechanism": "带动 20 户脱贫户务工",
        "test_report": (io.BytesIO(pdf_bytes()), "检测报告.pdf"),
    }, content_type="multipart/form-data")
    assert applied.status_code == 302, text(applied)
    application_id = int(re.search(r"/applications/(\d+)", applied.location).group(1))
    page = f"/applications/{application_id}"
    decide_url = f"{page}/decide"

    officer = logged_in(demo, "officer-411081")
    assert page in text(officer.get("/review"))
    with database(demo) as session:
        document_id = session.get(CertificationApplication, application_id).documents[0].id
    with officer.get(f"/documents/{document_id}") as download:
        assert download.status_code == 200 and download.data.startswith(b"%PDF")
    passed = decide(officer, decide_url, page, "county_pass")
    assert passed.status_code == 302, text(passed)

    admin = logged_in(demo, "admin")
    assert page in text(admin.get("/review"))
    approved = decide(admin, decide_url, page, "city_approve", "同意认定")
    assert approved.status_code == 302, text(approved)  # was a 500 on demo numbers

    with database(demo) as session:
        number = session.scalar(db.select(Certificate.number).where(
            Certificate.application_id == application_id))
        assert session.scalar(db.select(db.func.count(Certificate.id)).where(
            Certificate.number == number)) == 1
    assert re.fullmatch(rf"XNYP-{today().year}-\d{{6}}", number)
    visitor = demo.test_client()
    assert visitor.get(f"/products/{product_id}").status_code == 404  # in public notice

    monkeypatch.setitem(demo.config, "FROZEN_TODAY",
                        (today() + timedelta(days=demo.config["CERT_NOTICE_DAYS"])).isoformat())
    product_page = visitor.get(f"/products/{product_id}")
    assert product_page.status_code == 200 and number in text(product_page)
    assert f'href="/products/{product_id}"' in text(visitor.get("/products"))
    found = text(visitor.get("/search", query_string={"q": "礼盒"}))
    assert f'href="/products/{product_id}"' in found and "找到 1 个在售产品" in found


def demo_usernames(app) -> list[str]:
    with database(app) as session:
        officers = [f"officer-{code}" for code in
                    session.scalars(db.select(County.code).order_by(County.position))]
    return ["admin", *officers, "producer", "newfarm", "buyer", "approver"]


def _route(app, url: str):
    """(endpoint, sorted query keys) of a same-site URL, or None for what is no page of ours."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith(("/static/", "/lang/")):  # the language switch is tested apart
        return None
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(parts.path, method="GET")
    except Exception:  # noqa: BLE001 - a link to nothing is reported by the GET below
        return ("?", parts.path)
    return endpoint, tuple(sorted(k for k, _v in parse_qsl(parts.query)))


def _links(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in HREF.findall(html)]


def _check_page(url: str, response, who: str, printable: bool = False) -> str:
    assert response.status_code == 200, f"{who}: GET {url} answered {response.status_code}"
    html = text(response)
    title = TITLE.search(html)
    assert title and "<" not in title.group(1), f"{who}: {url} has markup in its <title>"
    assert printable or 'name="q"' in html and 'maxlength="100"' in html, f"{who}: {url} search box"
    return html


def _walk(app, client, username: str, public_seen: dict, depth: int = 2,
          per_kind: int = 2) -> int:
    """Open the menu's pages, then what they link to, `depth` levels down; of each kind of
    page (endpoint and query keys) at most `per_kind`. Pages everybody sees the same are
    counted in `public_seen`, shared by all accounts. Returns how many URLs were opened."""
    home = _check_page("/", client.get("/"), username)
    menu = [u for u in _links(NAV.search(home).group(1)) if _route(app, u)]
    assert menu, username
    own: dict = {}
    level, opened = list(dict.fromkeys(menu)), 0
    for _ in range(depth + 1):
        following = []
        for url in level:
            response = client.get(url, follow_redirects=True)  # a menu entry may forward
            opened += 1
            if _route(app, url)[0] in FILE_ENDPOINTS:
                assert response.status_code == 200, f"{username}: {url} {response.status_code}"
                assert response.data.startswith(FILE_MAGIC), (url, response.data[:8])
                response.close()
                continue
            printable = _route(app, url)[0] in PRINT_ENDPOINTS
            for link in _links(_check_page(url, response, username, printable)):
                key = _route(app, link)
                seen = public_seen if key and key[0] in PUBLIC_ENDPOINTS else own
                if key and link not in menu and len(seen.setdefault(key, [])) < per_kind:
                    seen[key].append(link)
                    following.append(link)
        level = following
    return opened


def test_every_demo_login_can_open_its_menu_and_what_it_links_to(demo, caplog):
    """Each demo account: every page of its menu and what those link to, two levels down
    (a few pages of each kind), answer 200 with no error logged. The documents a reviewer
    opens from an application or a mark claim are real files."""
    caplog.set_level(logging.WARNING)
    public_seen: dict = {}
    opened = sum(_walk(demo, logged_in(demo, username), username, public_seen)
                 for username in demo_usernames(demo))
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert opened > 150


def test_the_demo_gives_each_reviewer_something_to_review(demo):
    """The demo officer of 禹州 has a producer, an application, a mark claim and a linkage
    change waiting, each with a document that opens; the city has every kind too."""
    officer = logged_in(demo, "officer-411081")
    queue = text(officer.get("/review"))
    for empty in ("没有待处理的主体", "没有待处理的申请", "没有待处理的标识申请", "没有待处理的变更"):
        assert empty not in queue, empty
    with database(demo) as session:
        change = session.scalar(db.select(LinkageChange).where(
            LinkageChange.status == "submitted"))
        producer = session.scalar(db.select(User).where(User.username == "producer")).organisation
        claim_id = session.scalar(db.select(MarkClaim.id).where(
            MarkClaim.status == "submitted", MarkClaim.county_id == producer.county_id,
            MarkClaim.stored_name != ""))
        # The demo producer's listings are as certified: no certificate covers other facts.
        for product in session.scalars(db.select(Product).where(
                Product.organisation_id == producer.id)):
            for certificate in product.certificates:
                assert certificate.certified_facts() == product.facts()
        assert change.organisation_id != producer.id  # the demo producer may edit its own
        change_id, households = change.id, change.previous_poor_households
    linkage = text(officer.get(f"/linkage-changes/{change_id}"))
    assert f"<td>{households}</td>" in linkage and 'value="county_approve"' in linkage
    mark_page = text(officer.get(f"/marks/{claim_id}"))
    assert 'value="county_pass"' in mark_page
    with officer.get(f"/marks/{claim_id}/document") as download:
        assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    admin_queue = text(logged_in(demo, "admin").get("/review"))
    for empty in ("没有待处理的主体", "没有待处理的申请", "没有待处理的标识申请"):
        assert empty not in admin_queue, empty


EVENT = re.compile(r'name="event" value="([a-z_]+)"')
QUEUE_LINK = re.compile(r'href="(/(?:applications|organisations|marks|linkage-changes)/\d+)"')


def _press_first_button(client, path: str, who: str) -> str:
    page = text(client.get(path))
    events = EVENT.findall(page)
    assert events, f"{who}: no decision on {path}"
    response = post_form(client, f"{path}/decide", {"event": events[0], "reason": "演示审核"},
                         page=path)
    assert response.status_code == 302, f"{who}: {events[0]} on {path}: {text(response)[:400]}"
    return events[0]


def test_the_buttons_demo_users_see_work_on_demo_data(demo, caplog):
    """The first item of every queue section, decided with the first button the reviewer is
    offered; a demo certificate suspended and reinstated; a demo listing edited."""
    caplog.set_level(logging.WARNING)
    pressed = []
    for username in ("officer-411081", "admin"):
        client = logged_in(demo, username)
        firsts = {}
        for path in QUEUE_LINK.findall(text(client.get("/review"))):
            firsts.setdefault(path.split("/")[1], path)
        assert len(firsts) == (4 if username != "admin" else 3), firsts
        pressed += [(username, _press_first_button(client, path, username))
                    for path in firsts.values()]
    assert ("admin", "city_approve") in pressed and ("officer-411081", "county_approve") in pressed

    admin = logged_in(demo, "admin")
    with database(demo) as session:
        certificate = session.scalar(db.select(Certificate).where(
            Certificate.with_effective_status("valid", today())).order_by(Certificate.id))
        certificate_id, product_id = certificate.id, certificate.product_id
    path = f"/admin/certificates/{certificate_id}"
    for event in ("suspend", "reinstate"):
        response = post_form(admin, f"{path}/decide", {"event": event, "reason": "演示"}, page=path)
        assert response.status_code == 302, text(response)
    assert demo.test_client().get(f"/products/{product_id}").status_code == 200

    producer = logged_in(demo, "producer")
    with database(demo) as session:
        org_id = session.scalar(db.select(User).where(User.username == "producer")).organisation_id
        product = session.scalar(db.select(Product).where(
            Product.organisation_id == org_id, Product.status == "active").order_by(Product.id))
        form = {"name": product.name, "category_id": product.category_id,
                "specification": product.specification, "origin": product.origin,
                "unit": product.unit, "price_yuan": f"{(product.price_fen - 10) / 100:.2f}",
                "min_order_qty": "1", "stock": "50", "annual_supply_capacity": "20 吨",
                "description": product.description}
    response = post_form(producer, f"/my/products/{product.id}/edit", form)
    assert response.status_code == 302, text(response)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def test_a_demo_order_is_paid_by_bank_transfer_recorded_by_finance(demo):
    """On the demo's year of orders: the buyer's received part shows its payment reference,
    finance records the transfer with that reference, and the buyer's payment page shows it
    paid; the ledger balances."""
    from marketplace.orders.models import PurchaseOrder, SubOrder, SubOrderStatus
    from marketplace.payments import ledger
    from marketplace.payments import services as payments

    with database(demo) as session:
        buyer = session.scalar(db.select(User).where(User.username == "buyer"))
        sub = session.scalar(
            db.select(SubOrder).join(PurchaseOrder)
            .where(PurchaseOrder.buyer_org_id == buyer.organisation_id,
                   SubOrder.status == SubOrderStatus.RECEIVED, SubOrder.due_fen > 0)
            .order_by(SubOrder.id.desc()))
        assert sub is not None, "the demo buyer has no received part to pay"
        assert ledger.paid_fen(sub.id) == 0
        order_id, sub_id, due = sub.purchase_order_id, sub.id, sub.due_fen
        reference, buyer_org = payments.reference_of(sub), buyer.organisation_id

    buyer_client = logged_in(demo, "buyer")
    page = text(buyer_client.get(f"/orders/{order_id}/payment"))
    assert reference in page and "待付款" in page and "已付款" not in page
    finance = logged_in(demo, "admin")
    form = text(finance.get("/admin/payments/transfers/new"))
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', form).group(1)
    recorded = post_form(finance, "/admin/payments/transfers/new", {
        "value_date": today().isoformat(), "amount": f"{due // 100}.{due % 100:02d}",
        "payer_org_id": str(buyer_org), "payer_name": "", "reference": reference,
        "bank_reference": "", "idempotency_key": key}, follow_redirects=True)
    assert "已匹配" in text(recorded)
    with database(demo) as session:
        assert ledger.paid_fen(sub_id) == due
        assert ledger.unbalanced_journals() == []
    assert "已付款" in text(buyer_client.get(f"/orders/{order_id}/payment"))
