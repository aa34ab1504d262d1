"""Applications, the county -> city chain, certificates."""

import io
import threading
from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage

from marketplace.catalog.services import browse_catalogue
from marketplace.certification import services
from marketplace.certification.models import ApplicationDocument, CertificationApplication
from marketplace.clock import today
from marketplace.errors import Invalid, InvalidTransition, NotAuthorized
from tests.factories import make_producer, make_product, make_user
from tests.helpers import pdf_bytes, png_bytes

APPLICATION = {"annual_supply_capacity": "50 吨", "benefit_mechanism": "吸纳 12 户脱贫户务工"}


def report(data=None, name="检测报告.pdf"):
    return ("test_report", FileStorage(io.BytesIO(data or pdf_bytes()), filename=name))


@pytest.fixture
def product(places, producer_org):
    return make_product(producer_org, places.starch)


def apply(producer, product, documents=None):
    return services.apply_for_certification(producer, product, APPLICATION,
                                            documents if documents is not None else [report()])


def count(db, model):
    return db.session.scalar(db.select(db.func.count(model.id)))


def test_whole_chain_issues_certificate_with_notice_and_term(db, app, producer, product,
                                                             officer, admin):
    application = apply(producer, product)
    assert application.documents[0].content_type == "application/pdf"
    services.review_application(officer, application, True, "材料齐全，价格合理")
    certificate = services.decide_application(admin, application, True, "同意认定")
    assert certificate.number == f"XNYP-{today().year}-000001"
    assert certificate.valid_from == today() + timedelta(days=7)
    assert certificate.valid_until == certificate.valid_from + timedelta(days=364)
    assert not product.is_on_sale(today())  # in public notice
    assert product.is_on_sale(today() + timedelta(days=7))


def test_second_pending_application_refused(db, producer, product):
    apply(producer, product)
    with pytest.raises(InvalidTransition):
        apply(producer, product)
    assert count(db, CertificationApplication) == 1


def test_racing_applications_leave_one_pending(app, db, producer, product):
    """Two submissions at the same moment: the database's partial unique index decides."""
    barrier = threading.Barrier(2)
    outcomes = []
    user_id, product_id = producer.id, product.id  # read here: the threads have own sessions

    def submit():
        with app.app_context():
            user = db.session.get(type(producer), user_id)
            item = db.session.get(type(product), product_id)
            barrier.wait()
            try:
                apply(user, item)
                outcomes.append("ok")
            except InvalidTransition:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert count(db, CertificationApplication) == 1


def test_application_needs_evidence(db, producer, product):
    with pytest.raises(Invalid) as exc:
        apply(producer, product, documents=[])
    assert "documents" in exc.value.errors


def test_a_fake_pdf_is_refused_and_nothing_kept(db, app, producer, product):
    fake = report(b"MZ\x90\x00 this is an exe", name="report.pdf")
    with pytest.raises(Invalid):
        apply(producer, product, documents=[fake])
    assert count(db, CertificationApplication) == 0
    assert count(db, ApplicationDocument) == 0


def test_image_evidence_is_reencoded(db, producer, product):
    application = apply(producer, product, documents=[report(png_bytes(), "scan.png")])
    assert application.documents[0].content_type == "image/png"
    assert application.documents[0].stored_name != "scan.png"


def test_draft_organisation_cannot_apply(db, places):
    org = make_producer(places.yuzhou, status="draft", name="草稿合作社")
    member = make_user("draftee", role="producer", organisation=org)
    with pytest.raises(InvalidTransition):
        apply(member, make_product(org, places.starch))


def test_other_producer_cannot_apply_for_my_product(db, places, product):
    rival_org = make_producer(places.yanling, name="鄢陵蜂业合作社")
    rival = make_user("rival", role="producer", organisation=rival_org)
    with pytest.raises(NotAuthorized):
        apply(rival, product)


def test_officer_of_other_county_refused(db, producer, product, other_officer):
    application = apply(producer, product)
    with pytest.raises(NotAuthorized):
        services.review_application(other_officer, application, True, "ok")
    with pytest.raises(NotAuthorized):
        services.get_application(other_officer, application.id)
    assert application.status == "submitted"


def test_city_decision_in_wrong_state_refused(db, producer, product, admin):
    application = apply(producer, product)
    with pytest.raises(InvalidTransition):
        services.decide_application(admin, application, True, "跳过县级")
    assert application.status == "submitted"
    assert application.certificate is None


def test_decision_twice_refused(db, producer, product, officer, admin):
    application = apply(producer, product)
    services.review_application(officer, application, True, "ok")
    services.decide_application(admin, application, False, "价格高于当地市场")
    with pytest.raises(InvalidTransition):
        services.decide_application(admin, application, True, "改主意")
    assert application.status == "rejected"


def test_city_needs_a_verified_producer(db, places, officer, admin):
    org = make_producer(places.yuzhou, status="submitted", name="待核验合作社")
    member = make_user("waiting", role="producer", organisation=org)
    application = apply(member, make_product(org, places.starch))
    services.review_application(officer, application, True, "ok")
    with pytest.raises(InvalidTransition):
        services.decide_application(admin, application, True, "ok")


def test_revoked_certificate_takes_product_off_sale(db, app, producer, product, officer, admin):
    app.config["CERT_NOTICE_DAYS"] = 0
    application = apply(producer, product)
    services.review_application(officer, application, True, "ok")
    certificate = services.decide_application(admin, application, True, "ok")
    assert [p.id for p in browse_catalogue().items] == [product.id]
    services.revoke_certificate(admin, certificate, "抽检不合格")
    assert browse_catalogue().items == []
    with pytest.raises(InvalidTransition):
        services.reinstate_certificate(admin, certificate, "撤销后不能恢复")


def test_queues_are_scoped(db, places, producer, product, officer, other_officer, admin):
    application = apply(producer, product)
    assert services.applications_awaiting(officer) == [application]
    assert services.applications_awaiting(other_officer) == []
    assert services.applications_awaiting(admin) == []
    services.review_application(officer, application, True, "ok")
    assert services.applications_awaiting(admin) == [application]
    with pytest.raises(NotAuthorized):
        services.applications_awaiting(producer)


def test_certificate_numbers_increase(db, places, producer_org, producer, officer, admin):
    numbers = []
    for name in ("粉条", "粉皮"):
        application = apply(producer, make_product(producer_org, places.starch, name=name))
        services.review_application(officer, application, True, "ok")
        numbers.append(services.decide_application(admin, application, True, "ok").number)
    assert numbers[0].endswith("000001") and numbers[1].endswith("000002")
