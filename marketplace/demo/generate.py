"""Fill a database with Xuchang-like demo data, fast enough for 100,000 products.

Rows go in with bulk INSERTs (executemany) and explicit ids rather than one ORM object
at a time; that is what makes 100k products take seconds instead of hours.
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, insert, text

from marketplace import uploads
from marketplace.accounts.models import Role, User
from marketplace.buyers.models import BuyerProfile, DeliveryAddress
from marketplace.catalog import readmodel
from marketplace.catalog.models import Category, Product, StockMovement
from marketplace.certification.models import (
    ApplicationDocument,
    Certificate,
    CertificationApplication,
    MarkClaim,
)
from marketplace.clock import now, today
from marketplace.demo import data
from marketplace.extensions import db
from marketplace.organisations.credit_code import ALPHABET, check_character
from marketplace.organisations.models import LinkageChange, Organisation
from marketplace.places.models import County, Township, Village

PRODUCER_TYPES = ["cooperative", "family_farm", "leading_enterprise", "other_enterprise"]
TYPE_SUFFIX = {
    "cooperative": "种植专业合作社", "family_farm": "家庭农场",
    "leading_enterprise": "农业发展有限公司", "other_enterprise": "食品有限公司",
}
TYPE_PREFIX = {"cooperative": "93", "family_farm": "92", "leading_enterprise": "91",
               "other_enterprise": "91"}
BUYER_PREFIX = {"government": "11", "school": "12", "canteen": "12", "trade_union": "81"}
BENEFITS = ["wages", "land_rent", "dividends", "purchase_contracts"]
MARK_PREFIX = {"green_food": "LB-", "organic": "OF-", "geo_indication": "AGI-"}


def issued_year(day, rng) -> int:
    return day.year - rng.randint(0, 2)


@dataclass
class Accounts:
    password: str
    rows: list = field(default_factory=list)  # (role label, username, who)


def credit_code(prefix: str, division: str, serial: int) -> str:
    body = ""
    n = serial
    for _ in range(7):
        body = ALPHABET[n % 31] + body
        n //= 31
    first17 = f"{prefix}{division}MA{body}"
    return first17 + check_character(first17)


def _next_id(model) -> int:
    return (db.session.scalar(db.select(func.max(model.id))) or 0) + 1


def _bulk(model, rows: list[dict], chunk: int = 5000) -> None:
    for i in range(0, len(rows), chunk):
        db.session.execute(insert(model), rows[i:i + chunk])


def _fix_sequences() -> None:
    """After inserts with explicit ids, move PostgreSQL's sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("organisations", "products", "certification_applications", "certificates",
                  "application_documents", "users", "counties", "townships", "villages",
                  "categories", "mark_claims", "purchase_orders", "sub_orders", "order_lines",
                  "stock_movements", "audit_events", "notices", "supplier_ratings"):
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))


def seed_reference() -> None:
    """Counties, townships, villages and categories (idempotent)."""
    if db.session.scalar(db.select(func.count(County.id))):
        return
    poor_counter = 0
    for position, (code, name, kind, townships) in enumerate(data.COUNTIES):
        county = County(code=code, name=name, kind=kind, position=position)
        db.session.add(county)
        for t_index, township_name in enumerate(townships):
            township = Township(county=county, name=township_name)
            db.session.add(township)
            for v_index in range(6):
                village_name = data.VILLAGE_NAMES[(t_index * 5 + v_index) % len(data.VILLAGE_NAMES)]
                poor_counter += 1
                db.session.add(Village(township=township, name=village_name,
                                       formerly_poor=poor_counter % 3 == 0))
    for position, (code, name) in enumerate(data.CATEGORIES):
        db.session.add(Category(code=code, name=name, position=position))
    db.session.commit()


def _user(username, display_name, role, password, **extra) -> User:
    """A demo login, with an example address so its notices show up in the outbox."""
    user = User(username=username, display_name=display_name, role=role,
                email=f"{username}@example.org", **extra)
    user.set_password(password)
    db.session.add(user)
    return user


def demo_pdf(title: str) -> bytes:
    """A small valid one-page PDF saying what it stands for (a demo scan of a document)."""
    text = title.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 14 Tf 60 760 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources "
        b"<< /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _write_document(stored_name: str, title: str) -> int:
    """Put a demo document where uploads are kept, so its link opens; returns its size."""
    content = demo_pdf(title)
    (uploads.upload_dir("documents") / stored_name).write_bytes(content)
    return len(content)


def generate(*, producers: int, products: int, password: str, seed: int = 2026,
             with_accounts: bool = True, with_files: bool | None = None) -> Accounts:
    """Add `producers` producer organisations and `products` products with certificates.

    `with_files` (default: with the demo accounts) writes a small PDF for every evidence
    document, so a reviewer opening one gets the file; benchmarks skip it.
    """
    with_files = with_accounts if with_files is None else with_files
    rng = random.Random(seed)
    seed_reference()
    counties = list(db.session.scalars(db.select(County).order_by(County.position)))
    categories = {c.code: c for c in db.session.scalars(db.select(Category))}
    day = today()
    stamp = now()
    accounts = Accounts(password=password)

    # Producer organisations
    org_rows, org_meta = [], []
    first_org = _next_id(Organisation)
    serial_base = first_org * 7 + 1000
    # Besides the 1-in-23 below, one producer of the demo officer's county (禹州市) waits for
    # its first review, so officer-411081 has a producer in the queue.
    yuzhou_waiting = next((i for i, c in enumerate(counties) if c.name == "禹州市"), 0) + 3 * len(counties)
    for i in range(producers):
        county = counties[i % len(counties)]
        township = rng.choice(county.townships)
        village = rng.choice(township.villages)
        org_type = PRODUCER_TYPES[i % 4]
        stem = data.PRODUCER_NAME_STEMS[i % len(data.PRODUCER_NAME_STEMS)]
        name = f"{data.SHORT_NAMES[county.name]}{township.name[:2]}{stem}{TYPE_SUFFIX[org_type]}"
        if i >= len(counties) * len(data.PRODUCER_NAME_STEMS):
            name = f"{name}（{i}）"
        # Most are verified; a few wait for county or city review, as in real life.
        status = "verified"
        if i % 23 == 5 or i == yuzhou_waiting:
            status = "submitted"
        elif i % 23 == 11:
            status = "county_passed"
        org_rows.append({
            "id": first_org + i, "kind": "producer", "org_type": org_type, "name": name,
            "credit_code": credit_code(TYPE_PREFIX[org_type], county.code, serial_base + i),
            "legal_representative": rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(["建国", "秀英", "国强", "桂兰", "志刚", "海燕", "红旗", "玉梅"]),
            "contact_name": "", "contact_phone": f"13{rng.randint(100000000, 999999999)}",
            "county_id": county.id, "township_id": township.id, "village_id": village.id,
            "address": f"{township.name}{village.name}", "status": status,
            "benefit_types": ",".join(sorted(rng.sample(BENEFITS, rng.randint(1, 3)))),
            "poor_households": rng.randint(3, 120),
            "benefit_description": f"吸纳{village.name}脱贫户务工，签订订单收购协议，保底价收购。",
            "description": f"位于{county.name}{township.name}，从事{ '、'.join(categories[c].name for c in data.COUNTY_SPECIALTIES[county.name][:2]) }生产。",
            "created_at": stamp, "updated_at": stamp,
        })
        org_meta.append((county, status))
    _bulk(Organisation, org_rows)

    # Products, each with an application and (mostly) a certificate
    product_rows, app_rows, cert_rows, doc_rows, claim_rows = [], [], [], [], []
    first_product = _next_id(Product)
    first_app = _next_id(CertificationApplication)
    first_cert = _next_id(Certificate)
    first_doc = _next_id(ApplicationDocument)
    cert_serial = (db.session.scalar(db.select(func.count(Certificate.id))) or 0)
    for j in range(products):
        org_index = j % producers
        county, org_status = org_meta[org_index]
        specialties = data.COUNTY_SPECIALTIES[county.name]
        category_code = specialties[(j // producers + org_index) % len(specialties)]
        if rng.random() < 0.15:
            category_code = rng.choice(list(data.PRODUCTS))
        name, unit, low, high, spec, minimum = rng.choice(data.PRODUCTS[category_code])
        short = data.SHORT_NAMES[county.name]
        if rng.random() < 0.5 and not name.startswith(short):
            name = f"{short}{name}"
        township = county.townships[(org_index + j) % len(county.townships)]
        product_id = first_product + j
        price = rng.randint(low // 10, high // 10) * 10
        product_rows.append({
            "id": product_id, "organisation_id": first_org + org_index,
            "category_id": categories[category_code].id, "name": name, "specification": spec,
            "origin": f"许昌市{county.name}{township.name}", "unit": unit, "price_fen": price,
            "min_order_qty": Decimal(minimum), "stock": Decimal(rng.randint(0, 2000)),
            "annual_supply_capacity": f"{rng.randint(5, 500)} 吨",
            "description": f"{county.name}{township.name}出产的{name}，{spec}。",
            "green_food": rng.random() < 0.25, "organic": rng.random() < 0.08,
            "geo_indication": category_code in ("flower", "herb", "yuba") and rng.random() < 0.5,
            "status": "archived" if rng.random() < 0.02 else "active",
            "created_at": stamp, "updated_at": stamp,
        })
        # What stage is this product's certification at?
        roll = rng.random()
        if org_status != "verified":
            stage = "submitted"
        elif roll < 0.82:
            stage = "valid"
        elif roll < 0.86:
            stage = "in_notice"
        elif roll < 0.90:
            stage = "expired"
        elif roll < 0.94:
            stage = "submitted"
        elif roll < 0.97:
            stage = "county_passed"
        else:
            stage = "county_returned"
        app_id = first_app + j
        app_status = {"valid": "approved", "in_notice": "approved", "expired": "approved"}.get(
            stage, stage)
        app_rows.append({
            "id": app_id, "product_id": product_id, "organisation_id": first_org + org_index,
            "county_id": county.id, "status": app_status, "product_name": name,
            "specification": spec, "origin": f"许昌市{county.name}{township.name}",
            "price_fen": price, "unit": unit, "category_id": categories[category_code].id,
            "annual_supply_capacity": product_rows[-1]["annual_supply_capacity"],
            "benefit_mechanism": "带动周边脱贫户务工和订单种植，按保护价收购。",
            "submitted_by_id": None, "submitted_at": stamp, "is_resubmission": False,
        })
        doc_rows.append({
            "id": first_doc + j, "application_id": app_id, "kind": "test_report",
            "stored_name": f"demo-report-{first_doc + j}.pdf", "original_name": "检测报告.pdf",
            "content_type": "application/pdf", "uploaded_at": stamp,
            "size": _write_document(f"demo-report-{first_doc + j}.pdf",
                                    f"Test report (demo) - product {product_id}") if with_files else 0,
        })
        if app_status == "approved":
            if stage == "valid":
                issued = day - timedelta(days=rng.randint(10, 600))
            elif stage == "in_notice":
                issued = day - timedelta(days=rng.randint(0, 5))
            else:
                issued = day - timedelta(days=rng.randint(760, 900))
            valid_from = issued + timedelta(days=7)
            cert_serial += 1
            cert_rows.append({
                "id": first_cert + len(cert_rows), "number": f"XNYP-{issued.year}-D{cert_serial:07d}",
                "product_id": product_id, "organisation_id": first_org + org_index,
                "application_id": app_id, "issued_on": issued, "valid_from": valid_from,
                "valid_until": valid_from + timedelta(days=729), "status": "active",
                "issued_by_id": None, "certified_name": name, "certified_specification": spec,
                "certified_origin": f"许昌市{county.name}{township.name}", "certified_unit": unit,
                "certified_category_id": categories[category_code].id, "certified_price_fen": price,
            })
        # Quality marks: reviewed claims with their evidence numbers; a few still in review.
        for mark in ("green_food", "organic", "geo_indication"):
            if not product_rows[-1][mark]:
                continue
            approved = app_status == "approved" and rng.random() < 0.85
            product_rows[-1][mark] = approved
            claim_rows.append({
                "product_id": product_id, "organisation_id": first_org + org_index,
                "county_id": county.id, "mark": mark,
                "evidence_number": f"{MARK_PREFIX[mark]}{issued_year(day, rng)}{rng.randint(100000, 999999)}",
                "evidence_valid_until": day + timedelta(days=rng.randint(200, 1000)),
                **_claim_file(product_id, mark, with_files),
                "status": "approved" if approved else "submitted", "submitted_by_id": None,
                "submitted_at": stamp,
            })
    _bulk(Product, product_rows)
    _bulk(StockMovement, [{"product_id": row["id"], "delta": row["stock"],
                           "balance": row["stock"], "reason": "initial", "note": "",
                           "at": stamp} for row in product_rows])
    _bulk(CertificationApplication, app_rows)
    _bulk(ApplicationDocument, doc_rows)
    _bulk(Certificate, cert_rows)
    _bulk(MarkClaim, claim_rows)
    _fix_sequences()
    if with_accounts:
        _reviewer_work(org_meta, first_org, product_rows, claim_rows, with_files)
    db.session.commit()
    if with_accounts:
        _demo_accounts(accounts, counties, first_org)
    # Bulk inserts bypass the session hooks: derive the catalogue's read model once.
    readmodel.rebuild(db.session)
    db.session.commit()
    return accounts


def _claim_file(product_id: int, mark: str, with_files: bool) -> dict:
    if not with_files:
        return {"stored_name": "", "original_name": "", "content_type": ""}
    name = f"demo-mark-{product_id}-{mark}.pdf"
    _write_document(name, f"{mark} certificate (demo) - product {product_id}")
    return {"stored_name": name, "original_name": f"{MARK_DOCUMENT_NAMES[mark]}.pdf",
            "content_type": "application/pdf"}


MARK_DOCUMENT_NAMES = {"green_food": "绿色食品证书", "organic": "有机产品证书",
                       "geo_indication": "地理标志证明"}


def _reviewer_work(org_meta, first_org: int, product_rows, claim_rows, with_files: bool) -> None:
    """Open matters for the demo reviewers beside the random ones, so no queue is empty:
    a farmer-linkage change and a mark claim for officer-411081 (禹州市), and a mark claim
    that passed its county for the city administrator."""
    verified = [first_org + i for i, (county, status) in enumerate(org_meta)
                if county.name == "禹州市" and status == "verified"]
    # The first verified 禹州 producer is the demo producer's own; use the next one.
    if len(verified) < 2:
        return
    org = db.session.get(Organisation, verified[1])
    db.session.add(LinkageChange(
        organisation_id=org.id, county_id=org.county_id, status="submitted",
        benefit_types=",".join(sorted(set(org.benefit_types.split(",")) | {"purchase_contracts"})),
        poor_households=org.poor_households + 18,
        benefit_description=org.benefit_description + "新签订单收购协议，新增带动 18 户。",
        previous_benefit_types=org.benefit_types, previous_poor_households=org.poor_households,
        previous_benefit_description=org.benefit_description,
    ))
    claimed = {(c["product_id"], c["mark"]) for c in claim_rows}
    products = [p for p in product_rows if p["organisation_id"] == org.id and p["status"] == "active"]
    wanted = [("organic", "submitted", "OF-"), ("green_food", "county_passed", "LB-")]
    for product, (mark, status, prefix) in zip(products, wanted, strict=False):
        if (product["id"], mark) in claimed:
            continue
        db.session.add(MarkClaim(
            product_id=product["id"], organisation_id=org.id, county_id=org.county_id, mark=mark,
            evidence_number=f"{prefix}{today().year}{product['id']:06d}",
            evidence_valid_until=today() + timedelta(days=600), status=status,
            **_claim_file(product["id"], mark, with_files),
        ))


def _demo_accounts(accounts: Accounts, counties, first_org: int) -> None:
    """One login per role; the producer belongs to a verified organisation in 禹州市."""
    password = accounts.password
    if db.session.scalar(db.select(User.id).where(User.username == "admin")):
        return
    _user("admin", "市农业农村局 管理员", Role.ADMIN, password)
    accounts.rows.append(("市级管理员", "admin", "许昌市农业农村局"))
    for county in counties:
        username = f"officer-{county.code}"
        _user(username, f"{county.name}审核员", Role.COUNTY_OFFICER, password, county_id=county.id)
        accounts.rows.append(("县级审核", username, county.name))
    yuzhou = next(c for c in counties if c.name == "禹州市")
    producer_org = db.session.scalar(
        db.select(Organisation).where(Organisation.county_id == yuzhou.id,
                                      Organisation.status == "verified",
                                      Organisation.id >= first_org).order_by(Organisation.id)
    )
    if producer_org:
        _user("producer", "供应商演示账号", Role.PRODUCER, password, organisation_id=producer_org.id)
        accounts.rows.append(("供应商", "producer", producer_org.name))
    _user("newfarm", "新注册供应商（未登记主体）", Role.PRODUCER, password)
    accounts.rows.append(("供应商（未登记主体）", "newfarm", "—"))
    buyer_ids = add_buyers(counties)
    _user("buyer", "食堂采购员", Role.BUYER, password, organisation_id=buyer_ids[2])
    approver = _user("approver", "食堂负责人", Role.BUYER_APPROVER, password,
                     organisation_id=buyer_ids[2])
    db.session.flush()
    db.session.get(BuyerProfile, buyer_ids[2]).manager_id = approver.id
    accounts.rows.append(("采购人", "buyer", data.BUYERS[2][1]))
    accounts.rows.append(("审批人", "approver", data.BUYERS[2][1]))
    db.session.commit()


def add_buyers(counties=None) -> list[int]:
    """The eleven verified buyer organisations of the demo, with profiles and addresses."""
    if counties is None:
        counties = list(db.session.scalars(db.select(County).order_by(County.position)))
    buyer_ids = []
    for serial, (org_type, name) in enumerate(data.BUYERS):
        county = counties[serial % len(counties)]
        org = Organisation(
            kind="buyer", org_type=org_type, name=name,
            credit_code=credit_code(BUYER_PREFIX.get(org_type, "91"), "411000", 900000 + serial),
            legal_representative="—", contact_phone="0374-0000000", county_id=county.id,
            township_id=county.townships[0].id, status="verified",
        )
        db.session.add(org)
        db.session.flush()
        buyer_ids.append(org.id)
        # Canteen budgets of a few hundred thousand to a few million yuan a year; orders
        # above ¥3,000 wait for the canteen manager's approval.
        budget = (serial % 5 + 1) * 600_000_00
        db.session.add(BuyerProfile(
            organisation_id=org.id, invoice_title=name, tax_number=org.credit_code,
            approval_threshold_fen=3000_00, annual_food_budget_fen=budget,
            reserved_share_percent=Decimal(10 + 5 * (serial % 3))))
        db.session.add(DeliveryAddress(
            organisation_id=org.id, label="食堂后门" if org_type == "canteen" else "收发室",
            address=f"许昌市{county.name}{county.townships[0].name}{name}",
            contact_name="张师傅", contact_phone="13937400000"))
    db.session.flush()
    return buyer_ids


def demo_accounts_table() -> list[tuple[str, str, str]]:
    rows = []
    for user in db.session.scalars(db.select(User).order_by(User.id)):
        if user.username in ("admin", "producer", "newfarm", "buyer", "approver") or (
            user.username.startswith("officer-")
        ):
            where = user.organisation.name if user.organisation else (
                user.county.name if user.county else "—")
            rows.append((user.role_label, user.username, where))
    return rows
