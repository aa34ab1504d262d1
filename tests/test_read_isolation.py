"""Who reads each payments and reports page, written out: everyone else is refused.

The walk reads the GET routes of the payments and reports blueprints from app.url_map, so
a new page joins it by construction and fails until it has its row. Each page is opened
with the ids of the world's objects (world.org's sub-order paid by world.buyer_org, the
禹州 county, world.org's ledger) as every persona: the personas of the row get 200, a
visitor is sent to the login page, everyone else is refused (403 or 404). The rows are
not derived from the permission table, so a rule widened by mistake fails here too.
"""

import pytest

from tests.routes import collection_app, url_of
from tests.world import PERSONAS, client_as

BUYER = {"buyer", "approver", "manager"}  # members of world.buyer_org
FINANCE = {"admin"}

#: endpoint -> the personas that read it (200). The ids are those of `_values`.
READERS = {
    # The buyer's payment pages of its order (and the city's finance).
    "payments.order_payment": BUYER | FINANCE,
    "payments.statement": BUYER | FINANCE,
    # The invoice form is its producer's; the file is read by its buyer, producer and the city.
    "payments.invoice": {"producer"},
    "payments.invoice_file": BUYER | {"producer"} | FINANCE,
    # Stripe's return page for the world's online payment: its buyer's members.
    "payments.checkout_return": BUYER,
    # A producer's own ledger (a buyer has none: refused).
    "payments.my_ledger": {"producer", "rival"},
    "payments.producer_ledger": {"producer"} | FINANCE,
    # Finance: the city administrator only.
    "payments.finance": FINANCE,
    "payments.transfers": FINANCE,
    "payments.new_transfer": FINANCE,
    "payments.import_statement": FINANCE,
    "payments.issue": FINANCE,
    "payments.payouts": FINANCE,
    "payments.reconciliation": FINANCE,
    "payments.reconciliation_export": FINANCE,
    # Reports: the city everything, the 禹州 officer 禹州, world.org's producer its own.
    "reports.city": FINANCE,
    "reports.city_export": FINANCE,
    "reports.county": FINANCE | {"officer"},
    "reports.county_export": FINANCE | {"officer"},
    "reports.producer": FINANCE | {"producer"},
    "reports.producer_export": FINANCE | {"producer"},
    "reports.reserved_share": FINANCE,
    "reports.income": FINANCE,
    "reports.targets": FINANCE,
    "reports.simple_export": FINANCE,
    # Each officer's signals are their own county's (?county= another is refused below).
    "reports.risks": FINANCE | {"officer", "other_officer"},
    "reports.tokens": FINANCE,
    "reports.reference_prices": FINANCE,
}

#: Pages that only send the reader on (no figures of their own): persona -> status.
REDIRECTS = {
    "reports.home": {"admin": 302, "officer": 302, "other_officer": 302, "producer": 302,
                     "rival": 302, "buyer": 302, "approver": 302, "manager": 302,
                     "rival_buyer": 302, "newcomer": 403},
    "payments.checkout_cancelled": {p: 302 for p in PERSONAS if p != "visitor"},
}


def _values(world, endpoint: str) -> dict:
    f = world.finance
    sub = f.online_sub if endpoint == "payments.checkout_return" else f.paid_sub
    return {**world.ids(endpoint), "order_id": sub.purchase_order_id, "sub_id": sub.id,
            "org_id": world.org.id, "county_id": world.places.yuzhou.id}


def _query(world, endpoint: str) -> dict:
    if endpoint == "payments.checkout_return":
        from marketplace.payments.models import OnlinePayment

        payment = OnlinePayment.query.filter_by(sub_order_id=world.finance.online_sub.id).one()
        return {"session_id": payment.session_id}
    return {}


ENDPOINTS = sorted({r.endpoint for r in collection_app().url_map.iter_rules()
                    if r.endpoint.split(".")[0] in ("payments", "reports")
                    and "GET" in r.methods})


@pytest.fixture(scope="module")
def clients(world_app):
    return {p: client_as(world_app, world_app.world, p) for p in PERSONAS}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_page_is_read_by_its_readers_only(world_app, clients, endpoint):
    assert endpoint in READERS or endpoint in REDIRECTS, (
        f"tests/test_read_isolation.py READERS has no row for {endpoint}: who may read it?")
    world = world_app.world
    [rule] = [r for r in world_app.url_map.iter_rules(endpoint) if "GET" in r.methods]
    values = _values(world, endpoint)
    url = url_of(world_app, endpoint, {k: values[k] for k in rule.arguments})
    query = _query(world, endpoint)
    wrong = []
    for persona, client in clients.items():
        response = client.get(url, query_string=query)
        response.close()
        status = response.status_code
        if persona == "visitor":
            ok = status == 302 and "/login" in response.headers["Location"]
            expected = "302 to the login page"
        elif endpoint in REDIRECTS:
            expected = REDIRECTS[endpoint][persona]
            ok = status == expected
        elif persona in READERS[endpoint]:
            ok, expected = status == 200, 200
        else:
            ok, expected = status in (403, 404), "403/404"
        if not ok:
            wrong.append(f"{persona}: {status}, expected {expected}")
    assert not wrong, f"GET {url}\n" + "\n".join(wrong)


def test_an_officer_reads_no_other_county_s_risks(world_app, clients):
    yanling = world_app.world.places.yanling.id
    assert clients["officer"].get(f"/reports/risks?county={yanling}").status_code == 403
    assert clients["other_officer"].get(f"/reports/risks?county={yanling}").status_code == 200
    export = f"/reports/risks/export/slow.csv?county={yanling}"
    assert clients["officer"].get(export).status_code == 403
