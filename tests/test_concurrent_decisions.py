"""Exactly one decision wins: real simultaneous requests against a served app.

The app runs under gunicorn with several sync worker processes (as `make run` serves it), on
the test database (SQLite file or PostgreSQL). Reviewers in several sessions press opposite
buttons on the same matter at the same moment, round after round; of each round exactly one
request lands, the others are refused with 409, and the database shows one decision, one
audit event and a certificate only for an approval.
"""

import http.client
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from marketplace.audit.models import AuditEvent
from marketplace.certification.models import Certificate, CertificationApplication
from marketplace.config import BASE_DIR
from marketplace.extensions import db
from marketplace.organisations.models import LinkageChange, Organisation
from marketplace.search import index
from marketplace.search.services import reindex_all
from tests import factories
from tests.conftest import make_app

WORKERS = 4
ROUNDS = 10
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REFUSED = ("已被他人处理", "当前状态")  # lost the race / came after the winner had landed


@dataclass
class Browser:
    """One browser session against the served app: its own cookies, no redirects followed."""

    port: int
    cookies: dict = field(default_factory=dict)
    token: str = ""

    def connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.connect()
        return conn

    def send(self, method: str, path: str, form: dict | None = None, conn=None):
        conn = conn or self.connect()
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({**form, "csrf_token": self.token})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        conn.close()
        return response.status, text

    def get(self, path: str):
        status, text = self.send("GET", path)
        match = TOKEN.search(text)
        if match:
            self.token = match.group(1)
        return status, text

    def login(self, username: str) -> "Browser":
        self.get("/login")
        status, text = self.send("POST", "/login", {"username": username,
                                                    "password": factories.PASSWORD})
        assert status == 302, f"{username} could not log in ({status}): {text[:300]}"
        assert self.get("/")[0] == 200 and self.token
        return self


def all_at_once(requests: list) -> list[tuple[int, str]]:
    """Send [(browser, path, form)] at the same moment (connections opened beforehand)."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def send(i, browser, path, form):
        conn = browser.connect()
        barrier.wait()
        try:
            results[i] = browser.send("POST", path, form, conn=conn)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = (0, repr(exc))

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    app: object
    port: int
    log: object
    ids: dict

    def browser(self, username: str) -> Browser:
        return Browser(self.port).login(username)


def _seed() -> dict:
    """Reviewers, producers and matters waiting for each kind of decision."""
    places = factories.seed_places()
    for name in ("admin", "admin2"):
        factories.make_user(name, role="admin")
    for name in ("officer", "officer2"):
        factories.make_user(name, role="county_officer", county=places.yuzhou)
    org = factories.make_producer(places.yuzhou)
    factories.make_user("farmer", role="producer", organisation=org)
    ids = {"org": org.id, "city": [], "county": [], "numbers": [], "orgs": []}
    for kind, status, count in (("city", "county_passed", ROUNDS),
                                ("county", "submitted", ROUNDS),
                                ("numbers", "county_passed", 2 * WORKERS)):
        for n in range(count):
            product = factories.make_product(org, places.starch, name=f"{kind}粉条{n}")
            application = CertificationApplication(
                product_id=product.id, organisation_id=org.id, county_id=org.county_id,
                status=status, product_name=product.name, specification=product.specification,
                origin=product.origin, price_fen=product.price_fen, unit=product.unit,
                category_id=product.category_id, annual_supply_capacity="50 吨",
                benefit_mechanism="务工")
            db.session.add(application)
            db.session.commit()
            ids[kind].append(application.id)
    for n in range(ROUNDS):
        other = factories.make_producer(places.yuzhou, status="county_passed",
                                        name=f"待核验合作社{n}")
        ids["orgs"].append(other.id)
    return ids


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    app = make_app(tmp)
    with app.app_context():
        db.drop_all()
        db.create_all()
        ids = _seed()
        reindex_all()  # the workers find an index to update, rather than racing to create one
        db.session.remove()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": "served-test-secret", "UPLOAD_DIR": app.config["UPLOAD_DIR"],
           "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"], "INSTANCE_DIR": str(tmp),
           "CERT_NOTICE_DAYS": "7", "CERT_TERM_DAYS": "365"}
    port = free_port()
    log = open(tmp / "gunicorn.log", "w+")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, _read(log)
            try:
                if Browser(port).get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start: " + _read(log)
            time.sleep(0.2)
        yield Served(app, port, log, ids)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
            index.forget(app.config["SEARCH_INDEX_DIR"])


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-3000:]


@pytest.fixture
def no_server_errors(served):
    """Whatever the test does, the server logs no error (no 500, no traceback)."""
    yield
    logged = _read(served.log)
    assert "Traceback" not in logged and "ERROR" not in logged, logged


def _decisions(session, subject_type: str, subject_id: int, actions) -> list[AuditEvent]:
    return list(session.scalars(db.select(AuditEvent).where(
        AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id,
        AuditEvent.action.in_(actions))))


def race(browsers, path: str, events: list[str]) -> str:
    """All browsers press their button on `path` at once; returns the winning event."""
    requests = [(b, path, {"event": e, "reason": f"理由：{e}"})
                for b, e in zip(browsers, events, strict=True)]
    results = all_at_once(requests)
    winners = [events[i] for i, (status, _t) in enumerate(results) if status == 302]
    assert len(winners) == 1, [(s, t[:200]) for s, t in results]
    for status, text in results:
        if status != 302:
            assert status == 409 and any(r in text for r in REFUSED), (status, text[:300])
    return winners[0]


def test_city_decisions_on_an_application(served, no_server_errors):
    """Two administrators, two tabs each, approve and reject the same application at once."""
    browsers = [served.browser(u) for u in ("admin", "admin", "admin2", "admin2")]
    rng = random.Random(6)
    outcome = {}
    for application_id in served.ids["city"]:
        events = ["city_approve", "city_reject"] * 2
        rng.shuffle(events)
        outcome[application_id] = race(browsers, f"/applications/{application_id}/decide",
                                       events)
    assert set(outcome.values()) == {"city_approve", "city_reject"}  # both kinds won sometimes
    with served.app.app_context():
        session = db.session
        for application_id, event in outcome.items():
            application = session.get(CertificationApplication, application_id)
            certificates = list(session.scalars(db.select(Certificate).where(
                Certificate.application_id == application_id)))
            decided = _decisions(session, "certification_applications", application_id,
                                 ("application.city_approve", "application.city_reject"))
            assert [e.action for e in decided] == [f"application.{event}"]
            if event == "city_approve":
                assert application.status == "approved" and len(certificates) == 1
                assert len(_decisions(session, "certificates", certificates[0].id,
                                      ("certificate.issued",))) == 1
            else:
                assert application.status == "rejected" and certificates == []
        db.session.remove()


def test_county_reviews_of_an_application(served, no_server_errors):
    """Two officers of the county, two tabs each, pass and return the same application."""
    browsers = [served.browser(u) for u in ("officer", "officer", "officer2", "officer2")]
    rng = random.Random(7)
    outcome = {}
    for application_id in served.ids["county"]:
        events = ["county_pass", "county_return"] * 2
        rng.shuffle(events)
        outcome[application_id] = race(browsers, f"/applications/{application_id}/decide",
                                       events)
    with served.app.app_context():
        for application_id, event in outcome.items():
            application = db.session.get(CertificationApplication, application_id)
            expected = {"county_pass": "county_passed", "county_return": "county_returned"}
            assert application.status == expected[event]
            decided = _decisions(db.session, "certification_applications", application_id,
                                 ("application.county_pass", "application.county_return"))
            assert [e.action for e in decided] == [f"application.{event}"]
        db.session.remove()


def test_city_verification_of_an_organisation(served, no_server_errors):
    browsers = [served.browser(u) for u in ("admin", "admin", "admin2", "admin2")]
    rng = random.Random(8)
    outcome = {}
    for org_id in served.ids["orgs"]:
        events = ["city_verify", "city_return"] * 2
        rng.shuffle(events)
        outcome[org_id] = race(browsers, f"/organisations/{org_id}/decide", events)
    with served.app.app_context():
        for org_id, event in outcome.items():
            org = db.session.get(Organisation, org_id)
            assert org.status == {"city_verify": "verified", "city_return": "returned"}[event]
            decided = _decisions(db.session, "organisations", org_id,
                                 ("organisation.city_verify", "organisation.city_return"))
            assert [e.action for e in decided] == [f"organisation.{event}"]
        db.session.remove()


def test_simultaneous_approvals_of_different_applications_get_distinct_numbers(
        served, no_server_errors):
    """Certificate numbers come from a counter row: approvals at the same moment all land,
    each with its own number."""
    sessions = [served.browser(u) for u in ("admin", "admin2") for _ in range(WORKERS // 2)]
    ids = served.ids["numbers"]
    requests = [(sessions[i % len(sessions)], f"/applications/{a}/decide",
                 {"event": "city_approve", "reason": "同意认定"}) for i, a in enumerate(ids)]
    results = all_at_once(requests)
    assert [status for status, _text in results] == [302] * len(ids), results
    with served.app.app_context():
        numbers = list(db.session.scalars(db.select(Certificate.number).where(
            Certificate.application_id.in_(ids))))
        everything = list(db.session.scalars(db.select(Certificate.number)))
        db.session.remove()
    assert len(numbers) == len(ids) == len(set(numbers))
    assert len(everything) == len(set(everything))


def test_one_pending_linkage_change_however_many_edits_race(served, no_server_errors):
    """The producer saves new household figures from three tabs at once: one change waits
    for the county, the others are told one is already waiting."""
    tabs = [served.browser("farmer") for _ in range(3)]
    officer = served.browser("officer")
    with served.app.app_context():
        org = db.session.get(Organisation, served.ids["org"])
        form = {"org_type": org.org_type, "name": org.name, "credit_code": org.credit_code,
                "legal_representative": org.legal_representative,
                "contact_phone": org.contact_phone, "county_id": org.county_id,
                "township_id": org.township_id, "benefit_types": "wages",
                "benefit_description": "", "description": ""}
        before = org.poor_households
        db.session.remove()
    for round_number in range(5):
        requests = [(tab, "/my/organisation", dict(form, poor_households=str(100 * n + 50)))
                    for n, tab in enumerate(tabs)]
        results = all_at_once(requests)
        statuses = [status for status, _t in results]
        assert statuses.count(302) == 1, results
        for status, text in results:  # the others are told a change is already waiting
            assert status == 302 or (status in (200, 409) and "还在县级审核中" in text), status
        with served.app.app_context():
            pending = list(db.session.scalars(db.select(LinkageChange).where(
                LinkageChange.organisation_id == served.ids["org"],
                LinkageChange.status == "submitted")))
            assert len(pending) == 1
            assert db.session.get(Organisation, served.ids["org"]).poor_households == before
            change_id = pending[0].id
            db.session.remove()
        officer.get(f"/linkage-changes/{change_id}")
        status, _text = officer.send("POST", f"/linkage-changes/{change_id}/decide",
                                     {"event": "county_return", "reason": f"核实中 {round_number}"})
        assert status == 302
