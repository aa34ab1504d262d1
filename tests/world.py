"""A small populated world for the walks: one object of each kind in each state a decision
can start from, and a person of every role.

The walks over every route, every use case and every limit need real objects to point at
(an application waiting for the county, one waiting for the city, a live certificate, a
suspended one …) and people on both sides of each permission: the producer of the
organisation and the producer of another one, the county officer of the county and of
another county. Everything is built in one transaction (one search-index refresh) with a
cheap password hash, so a test can afford a fresh world.
"""

import io
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from flask_login import AnonymousUserMixin
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.security import generate_password_hash

from marketplace import uploads
from marketplace.accounts.models import Role, User
from marketplace.accounts.services import issue_password_reset
from marketplace.audit.models import AuditEvent, record
from marketplace.buyers.models import BuyerProfile, DeliveryAddress
from marketplace.catalog.models import Product, ProductPhoto
from marketplace.certification.models import (
    ApplicationDocument,
    Certificate,
    CertificationApplication,
    MarkClaim,
)
from marketplace.certification.services import issue_certificate
from marketplace.clock import now, today
from marketplace.extensions import db
from marketplace.notices.models import Notice, OutboxMail
from marketplace.orders import cart
from marketplace.orders import services as orders
from marketplace.organisations.models import LinkageChange, Organisation
from marketplace.places.models import County, Township
from tests import factories
from tests.helpers import login, pdf_bytes, png_bytes

PASSWORD = factories.PASSWORD

#: Everyone the walks act as: persona -> the role it has (None: not logged in).
PERSONAS = {
    "visitor": None,
    "producer": Role.PRODUCER,  # member of world.org (禹州)
    "rival": Role.PRODUCER,  # member of another producer organisation (鄢陵)
    "newcomer": Role.PRODUCER,  # registered, no organisation yet
    "buyer": Role.BUYER,  # purchaser of world.buyer_org (许昌), its orders' author
    "approver": Role.BUYER_APPROVER,  # of world.buyer_org, not its manager
    "manager": Role.BUYER_APPROVER,  # of world.buyer_org, its manager (members, settings)
    "rival_buyer": Role.BUYER,  # purchaser of another verified buyer (鄢陵)
    "officer": Role.COUNTY_OFFICER,  # of 禹州, world.org's county
    "other_officer": Role.COUNTY_OFFICER,  # of 鄢陵
    "admin": Role.ADMIN,
}

_HASH: list[str] = []


def _password_hash() -> str:
    """One cheap hash for every world user: the walks log in many times."""
    if not _HASH:
        _HASH.append(generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
    return _HASH[0]


@dataclass
class World:
    places: factories.Places
    users: dict  # persona -> User (visitor: an anonymous user)
    org: Organisation  # verified, 禹州: the producer's own
    rival_org: Organisation  # verified, 鄢陵
    buyer_org: Organisation
    submitted_org: Organisation  # waiting for the 禹州 county review
    passed_org: Organisation  # waiting for the city
    suspended_org: Organisation
    draft_org: Organisation  # a draft, its member is users["drafter"] (not a walk persona)
    listed: Product  # on sale: live certificate, photo, approved mark
    draft: Product  # active, never applied: apply, claim, edit, archive
    archived: Product
    retiring: Product  # active, never applied: archived by a walk
    pending: Product  # its application waits for the county
    passed: Product  # its application waits for the city
    paused: Product  # its certificate is suspended (facts unchanged)
    rival_product: Product
    certificate: Certificate
    paused_certificate: Certificate
    submitted_application: CertificationApplication
    passed_application: CertificationApplication
    document: ApplicationDocument
    photo: ProductPhoto
    submitted_claim: MarkClaim
    passed_claim: MarkClaim
    approved_claim: MarkClaim
    linkage: LinkageChange
    purchasing: "Purchasing | None" = None
    extra: dict = field(default_factory=dict)

    def user(self, persona: str):
        return self.users[persona]

    def ids(self) -> dict[str, object]:
        """Real values for URL parameters, by the parameter's name in the routes (the GET
        walk opens every page with these; a new parameter name needs its value here)."""
        p = self.purchasing
        return {
            "product_id": self.draft.id, "photo_id": self.photo.id, "org_id": self.org.id,
            "change_id": self.linkage.id, "application_id": self.submitted_application.id,
            "document_id": self.document.id, "claim_id": self.submitted_claim.id,
            "certificate_id": self.certificate.id, "user_id": self.users["buyer"].id,
            "order_id": p.awaiting.id, "sub_id": p.subs["accepted"].id,
            "line_id": p.cart_lines[0].id, "address_id": p.spare_address.id,
            "notice_id": p.notice.id, "token": p.reset_token,
        }


def _file(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name)


def _user(username: str, role: Role, *, organisation=None, county=None) -> User:
    user = User(username=username, display_name=f"{username} 姓名", role=role,
                organisation_id=organisation.id if organisation else None,
                county_id=county.id if county else None, password_hash=_password_hash())
    db.session.add(user)
    return user


def _org(county: County, name: str, status: str, *, kind="producer", org_type="cooperative"):
    org = Organisation(
        kind=kind, org_type=org_type, name=name, credit_code=factories.credit_code(),
        legal_representative="王建国", contact_phone="13800000000", county_id=county.id,
        township_id=county.townships[0].id if county.townships else None, status=status,
        benefit_types="wages", poor_households=12,
    )
    db.session.add(org)
    db.session.flush()
    return org


def _product(org: Organisation, category, name: str, *, status="active", price_fen=2850):
    product = Product(
        organisation_id=org.id, category_id=category.id, name=name, specification="2.5公斤/袋",
        origin="禹州市方山镇", unit="袋", price_fen=price_fen, min_order_qty=Decimal(2),
        stock=Decimal(100), status=status, annual_supply_capacity="50 吨",
    )
    db.session.add(product)
    db.session.flush()
    return product


def _application(product: Product, status: str, submitter: User) -> CertificationApplication:
    application = CertificationApplication(
        product_id=product.id, organisation_id=product.organisation_id,
        county_id=product.organisation.county_id, status=status, product_name=product.name,
        specification=product.specification, origin=product.origin, price_fen=product.price_fen,
        unit=product.unit, category_id=product.category_id, annual_supply_capacity="50 吨",
        benefit_mechanism="吸纳 12 户脱贫户务工", submitted_by_id=submitter.id,
    )
    db.session.add(application)
    db.session.flush()
    record(submitter, "application.submitted", application, to_status=status)
    return application


def _claim(product: Product, mark: str, status: str, submitter: User) -> MarkClaim:
    stored = uploads.store_document(_file(pdf_bytes(), "绿色食品证书.pdf"), field="document")
    claim = MarkClaim(
        product_id=product.id, organisation_id=product.organisation_id,
        county_id=product.organisation.county_id, mark=mark, evidence_number="LB-2026-0001",
        stored_name=stored.stored_name, original_name="证书.pdf",
        content_type=stored.content_type, status=status, submitted_by_id=submitter.id,
    )
    db.session.add(claim)
    db.session.flush()
    return claim


@dataclass
class Purchasing:
    """Institutional purchasing in the world: a buyer with orders in every state.

    `subs` holds one sub-order of world.org (the producer's) per state an action starts
    from, each in its own purchase order so that acting on one changes no other:
    pending_accept, pending_decline, pending_cancel, accepted, shipped_receive,
    shipped_dispute, disputed, received.
    """

    other_buyer: Organisation  # verified, 鄢陵: world.users["rival_buyer"]'s
    submitted_buyer: Organisation  # registered, waiting for the city
    awaiting: object  # PurchaseOrder over the threshold, waiting for an approver
    awaiting_return: object  # another one (to be returned)
    returned: object  # returned by the approver (to be revised)
    returned_cancel: object  # another one (to be cancelled)
    subs: dict  # state -> SubOrder
    cart_lines: list  # world.users["buyer"]'s cart: [to update, to remove]
    spare_address: object  # a second delivery address of world.buyer_org (to remove)
    address: object  # the address orders go to
    notice: object  # an unread notice of world.users["approver"]
    reset_token: str  # an open password-reset link of world.users["forgetful"]
    failed_mail: object  # an outbox mail given up on


def build_world() -> World:
    """Build and commit the world (in the current app context); return it."""
    places = factories.seed_places()
    xuchang = County(code="411000", name="许昌市区", kind="district", position=3)
    db.session.add(xuchang)
    db.session.add(Township(county=xuchang, name="东城街道"))
    db.session.flush()

    org = _org(places.yuzhou, "禹州方山粉条合作社", "verified")
    rival_org = _org(places.yanling, "鄢陵蜂业合作社", "verified")
    buyer_org = _org(xuchang, "许昌市第一中学食堂", "verified", kind="buyer", org_type="school")
    submitted_org = _org(places.yuzhou, "禹州待审合作社", "submitted")
    passed_org = _org(places.yuzhou, "禹州待核验合作社", "county_passed")
    suspended_org = _org(places.yuzhou, "禹州暂停合作社", "suspended")
    draft_org = _org(places.yuzhou, "禹州草稿家庭农场", "draft", org_type="family_farm")

    users = {
        "visitor": AnonymousUserMixin(),
        "producer": _user("farmer", Role.PRODUCER, organisation=org),
        "rival": _user("rival", Role.PRODUCER, organisation=rival_org),
        "newcomer": _user("newcomer", Role.PRODUCER),
        "buyer": _user("canteen", Role.BUYER, organisation=buyer_org),
        "approver": _user("approver", Role.BUYER_APPROVER, organisation=buyer_org),
        "officer": _user("officer", Role.COUNTY_OFFICER, county=places.yuzhou),
        "other_officer": _user("officer2", Role.COUNTY_OFFICER, county=places.yanling),
        "admin": _user("admin", Role.ADMIN),
        "drafter": _user("drafter", Role.PRODUCER, organisation=draft_org),
        "spare": _user("spare", Role.BUYER, organisation=buyer_org),  # logs in in the walks
        "manager": _user("manager", Role.BUYER_APPROVER, organisation=buyer_org),
        "checkout": _user("checkout", Role.BUYER, organisation=buyer_org),  # checks out a cart
        "leaver": _user("leaver", Role.BUYER, organisation=buyer_org),  # removed by the manager
        "idle": _user("idle", Role.BUYER, organisation=buyer_org),  # deactivated by the admin
        "changer": _user("changer", Role.PRODUCER),  # changes own password in the walks
        "forgetful": _user("forgetful", Role.PRODUCER),  # resets own password with a link
    }
    db.session.flush()
    farmer, admin = users["producer"], users["admin"]

    listed = _product(org, places.starch, "禹州粉条")
    draft = _product(org, places.starch, "红薯粉皮", price_fen=2200)
    archived = _product(org, places.starch, "旧款粉条", status="archived")
    retiring = _product(org, places.starch, "粗粉条", price_fen=1900)
    pending = _product(org, places.starch, "方山粉面")
    passed = _product(org, places.bee, "枣花蜜", price_fen=6800)
    paused = _product(org, places.bee, "槐花蜜", price_fen=5800)
    rival_product = _product(rival_org, places.bee, "鄢陵蜂胶", price_fen=12800)

    certificates = {}
    for product in (listed, paused, rival_product):
        application = _application(product, "approved", farmer)
        certificates[product.id] = issue_certificate(admin, application,
                                                     today() - timedelta(days=30))
    certificate, paused_certificate = certificates[listed.id], certificates[paused.id]
    paused_certificate.status = "suspended"

    submitted_application = _application(pending, "submitted", farmer)
    passed_application = _application(passed, "county_passed", farmer)
    stored = uploads.store_document(_file(pdf_bytes(), "检测报告.pdf"))
    document = ApplicationDocument(
        application_id=submitted_application.id, kind="test_report",
        stored_name=stored.stored_name, original_name="检测报告.pdf",
        content_type=stored.content_type, size=stored.size,
    )
    db.session.add(document)

    image = uploads.store_image(_file(png_bytes(), "photo.png"))
    photo = ProductPhoto(product_id=listed.id, stored_name=image.stored_name, position=0)
    db.session.add(photo)

    submitted_claim = _claim(draft, "organic", "submitted", farmer)
    passed_claim = _claim(draft, "geo_indication", "county_passed", farmer)
    approved_claim = _claim(listed, "green_food", "approved", farmer)
    listed.green_food = True

    linkage = LinkageChange(
        organisation_id=org.id, county_id=org.county_id, status="submitted",
        submitted_by_id=farmer.id, benefit_types="wages,dividends", poor_households=20,
        benefit_description="新增分红", previous_benefit_types=org.benefit_types,
        previous_poor_households=org.poor_households,
    )
    db.session.add(linkage)
    db.session.flush()
    record(farmer, "linkage.submitted", linkage, to_status="submitted")
    db.session.commit()
    world = World(
        places=places, users=users, org=org, rival_org=rival_org, buyer_org=buyer_org,
        submitted_org=submitted_org, passed_org=passed_org, suspended_org=suspended_org,
        draft_org=draft_org,
        listed=listed, draft=draft, archived=archived, retiring=retiring, pending=pending,
        passed=passed,
        paused=paused, rival_product=rival_product, certificate=certificate,
        paused_certificate=paused_certificate, submitted_application=submitted_application,
        passed_application=passed_application, document=document, photo=photo,
        submitted_claim=submitted_claim, passed_claim=passed_claim,
        approved_claim=approved_claim, linkage=linkage,
    )
    world.purchasing = _purchasing(world, xuchang)
    return world


def _buyer_profile(org: Organisation, manager: User | None, threshold_fen: int | None):
    db.session.add(BuyerProfile(organisation_id=org.id, invoice_title=org.name,
                                tax_number=org.credit_code, approval_threshold_fen=threshold_fen,
                                annual_food_budget_fen=120_000_000,
                                manager_id=manager.id if manager else None))
    address = DeliveryAddress(organisation_id=org.id, label="食堂后门", address="许昌市健康路1号",
                              contact_name="张师傅", contact_phone="13937400000")
    db.session.add(address)
    db.session.flush()
    return address


def _purchasing(w: World, xuchang: County) -> Purchasing:
    """Orders through the services, as people make them (each call commits)."""
    users = w.users
    address = _buyer_profile(w.buyer_org, users["manager"], threshold_fen=50_000)  # ¥500
    other_buyer = _org(w.places.yanling, "鄢陵县第一中学", "verified", kind="buyer",
                       org_type="school")
    _buyer_profile(other_buyer, None, threshold_fen=None)
    users["rival_buyer"] = _user("school", Role.BUYER, organisation=other_buyer)
    submitted_buyer = _org(xuchang, "许昌市第二实验小学", "submitted", kind="buyer",
                           org_type="school")
    _buyer_profile(submitted_buyer, None, threshold_fen=None)
    spare_address = DeliveryAddress(organisation_id=w.buyer_org.id, label="侧门",
                                    address="许昌市健康路3号", contact_name="刘师傅",
                                    contact_phone="13937400002")
    db.session.add(spare_address)
    for product in (w.listed, w.rival_product):
        product.stock = Decimal(1000)
    users["admin"].email = "admin@example.org"
    db.session.commit()

    buyer, approver, farmer, admin = (users["buyer"], users["approver"], users["producer"],
                                      users["admin"])
    keys = iter(range(1, 1000))

    def order(quantity="4", product=w.listed):
        cart.add_to_cart(buyer, product, quantity)
        return orders.submit_purchase_order(
            buyer, {"address_id": address.id, "delivery_date": today() + timedelta(days=2),
                    "window": ""}, f"world-order-{next(keys):03d}")

    awaiting = order("20")  # ¥570 over the ¥500 threshold
    awaiting_return = order("20")
    returned, returned_cancel = order("20"), order("20")
    for placed in (returned, returned_cancel):
        orders.return_purchase_order(approver, placed, "数量太多")
    subs = {state: order().sub_orders[0] for state in (
        "pending_accept", "pending_decline", "pending_cancel", "accepted", "shipped_receive",
        "shipped_dispute", "disputed", "received")}
    for state in ("accepted", "shipped_receive", "shipped_dispute", "disputed", "received"):
        orders.accept_sub_order(farmer, subs[state])
    for state in ("shipped_receive", "shipped_dispute", "disputed", "received"):
        sub = subs[state]
        orders.ship_sub_order(farmer, sub, {line.id: "4" for line in sub.lines})
    orders.dispute_sub_order(buyer, subs["disputed"], "少了一袋")
    orders.receive_sub_order(buyer, subs["received"],
                             {line.id: "4" for line in subs["received"].lines})
    cart_lines = [cart.add_to_cart(buyer, w.listed, "2"),
                  cart.add_to_cart(buyer, w.rival_product, "2")]
    cart.add_to_cart(users["checkout"], w.rival_product, "2")

    notice = db.session.scalars(select(Notice).where(Notice.user_id == approver.id)
                                .order_by(Notice.id)).first()
    reset_token, _reset = issue_password_reset(admin, users["forgetful"])
    failed_mail = OutboxMail(user_id=admin.id, to_address=admin.email, subject="退信",
                             body="邮件服务器拒收", attempts=5, last_error="550 mailbox unavailable",
                             gave_up_at=now())
    db.session.add_all([
        failed_mail,
        OutboxMail(user_id=admin.id, to_address=admin.email, subject="待发", body="排队中"),
        OutboxMail(user_id=admin.id, to_address=admin.email, subject="已发", body="已送达",
                   attempts=1, sent_at=now()),
    ])
    db.session.commit()
    return Purchasing(
        other_buyer=other_buyer, submitted_buyer=submitted_buyer, awaiting=awaiting,
        awaiting_return=awaiting_return, returned=returned, returned_cancel=returned_cancel,
        subs=subs, cart_lines=cart_lines, spare_address=spare_address, address=address,
        notice=notice, reset_token=reset_token, failed_mail=failed_mail,
    )


_addresses = iter(range(1, 2**24))


def client_as(app, world: World, persona: str):
    """A test client with its own cookies and address, logged in as `persona` (the visitor
    is not). Its own address keeps one walk's failed logins from throttling the next."""
    n = next(_addresses)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    user = world.users[persona]
    if user.is_authenticated:
        response = login(client, user.username)
        assert response.status_code == 302, f"{persona} could not log in"
    return client


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order: 'nothing changed' means equal snapshots."""
    out = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(table.select()).all()
        out[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return out


def audit_count() -> int:
    return db.session.scalar(db.select(db.func.count(AuditEvent.id)))
