"""Every order and buyer route of app.url_map, with the other party's ids, as each wrong role.

One canteen (A) has orders in every state with two producers (X, Y); a school (B), both
producers, a county officer, the administrator and an anonymous visitor try every page and
action on A's (and X's) objects. Each one refused changes nothing — every row of every order
table is compared — and no page shows a stranger A's orders.
"""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from marketplace.buyers.services import active_addresses, add_address
from marketplace.clock import today
from marketplace.orders import cart, services
from tests import factories
from tests.helpers import csrf_token, login
from tests.orders.checks import forget_previous_request, snapshot
from tests.orders.conftest import person

BUYERS = {"purchaser_a", "approver_a", "purchaser_b", "approver_b"}
EVERYONE = BUYERS | {"farmer_x", "farmer_y", "officer", "admin", "anonymous"}


@dataclass
class Target:
    method: str
    path: str
    allowed: set
    data: dict = field(default_factory=dict)


@dataclass
class World:
    targets: dict  # (endpoint, action or "") -> list[Target]
    secrets: dict  # identity -> strings no page may show them
    users: dict


def delivery(org) -> dict:
    return {"address_id": active_addresses(org)[0].id,
            "delivery_date": today() + timedelta(days=1), "window": ""}


def build_world(places, producer_org, producer, admin, officer) -> World:
    canteen = factories.make_buyer(places.yuzhou, threshold_fen=50_000)
    school = factories.make_buyer(places.yanling, name="鄢陵县第一中学", org_type="school")
    users = {
        "purchaser_a": person("purchaser_a", role="buyer", organisation=canteen),
        "approver_a": person("approver_a", role="buyer_approver", organisation=canteen),
        "purchaser_b": person("purchaser_b", role="buyer", organisation=school),
        "approver_b": person("approver_b", role="buyer_approver", organisation=school),
        "farmer_x": producer, "admin": admin, "officer": officer,
    }
    canteen.buyer_profile.manager_id = users["approver_a"].id
    school.buyer_profile.manager_id = users["approver_b"].id
    bees = factories.make_producer(places.yanling, name="鄢陵蜂业合作社")
    users["farmer_y"] = person("farmer_y", role="producer", organisation=bees)
    fentiao = factories.make_certified_product(producer_org, places.starch)
    honey = factories.make_certified_product(bees, places.bee, name="枣花蜜")
    buyer, boss = users["purchaser_a"], users["approver_a"]
    x, y = users["farmer_x"], users["farmer_y"]

    def order(key, fen="4", hon="4"):
        cart.add_to_cart(buyer, fentiao, fen)
        cart.add_to_cart(buyer, honey, hon)
        placed = services.submit_purchase_order(buyer, delivery(canteen), key)
        return placed, placed.sub_orders[0], placed.sub_orders[1]  # X's part, Y's part

    awaiting, await_x, _ = order("walk-awaiting", fen="20")  # ¥570 > ¥500: awaits approval
    returned, _, _ = order("walk-returned", fen="20")
    services.return_purchase_order(boss, returned, "数量太多")
    live1, pending_x, _ = order("walk-live-1")
    live2, accepted_x, shipped_y = order("walk-live-2")
    services.accept_sub_order(x, accepted_x)
    services.accept_sub_order(y, shipped_y)
    services.ship_sub_order(y, shipped_y, {shipped_y.lines[0].id: "4"})
    live3, received_x, disputed_y = order("walk-live-3")
    for sub, farmer in ((received_x, x), (disputed_y, y)):
        services.accept_sub_order(farmer, sub)
        services.ship_sub_order(farmer, sub, {sub.lines[0].id: "4"})
    services.receive_sub_order(buyer, received_x, {received_x.lines[0].id: "4"})
    services.dispute_sub_order(buyer, disputed_y, "少了一箱")
    cart.add_to_cart(buyer, fentiao, "2")
    (cart_line,) = cart.cart_lines(buyer)
    second_address = add_address(boss, canteen, {"delivery_address": "许昌市建安大道2号",
                                                 "delivery_contact": "王师傅",
                                                 "delivery_phone": "13937400001"})

    a_team = {"purchaser_a", "approver_a"}
    managers = {"approver_a", "approver_b"}
    reason = {"reason": "试试看"}

    def q(sub, value="4"):
        return {f"q{line.id}": value for line in sub.lines}

    settings = {"invoice_title": "别人家食堂", "tax_number": "91411000MA00000000",
                "approval_threshold_yuan": "1", "annual_food_budget_yuan": "1",
                "reserved_share_percent": "50"}
    address = {"address_label": "侧门", "delivery_address": "别处", "delivery_contact": "某人",
               "delivery_phone": "13900000000"}
    member = {"username": "intruder", "display_name": "外人", "password": "intruder-pass-123",
              "role": "buyer_approver"}
    checkout = {"address_id": str(active_addresses(canteen)[0].id),
                "delivery_date": (today() + timedelta(days=1)).isoformat(), "window": "",
                "invoice_title": "", "tax_number": "", "notes": "",
                "idempotency_key": "walk-checkout-key"}
    s = "/sub-orders"
    targets = {
        ("buyers.register", ""): None,  # public: anyone may register an organisation
        ("buyers.mine", ""): [Target("GET", "/my/buyer", BUYERS)],
        ("buyers.settings", ""): [Target("POST", "/my/buyer/settings", managers, settings)],
        ("buyers.add_address", ""): [Target("POST", "/my/buyer/addresses", managers, address)],
        ("buyers.add_member", ""): [Target("POST", "/my/buyer/members", managers, member)],
        ("buyers.remove_address", ""): [
            Target("POST", f"/my/buyer/addresses/{second_address.id}/remove", {"approver_a"})],
        ("buyers.remove_member", ""): [
            Target("POST", f"/my/buyer/members/{buyer.id}/remove", {"approver_a"})],
        ("orders.add_to_cart", ""): [
            Target("POST", f"/cart/add/{fentiao.id}", BUYERS, {"quantity": "2"})],
        ("orders.cart", ""): [Target("GET", "/cart", BUYERS)],
        ("orders.update_cart_line", ""): [
            Target("POST", f"/cart/lines/{cart_line.id}", {"purchaser_a"}, {"quantity": "4"})],
        ("orders.remove_cart_line", ""): [
            Target("POST", f"/cart/lines/{cart_line.id}/remove", {"purchaser_a"})],
        ("orders.checkout", ""): [Target("POST", "/cart/checkout", BUYERS, checkout)],
        ("orders.my_orders", ""): [Target("GET", "/orders", BUYERS)],
        ("orders.approvals", ""): [Target("GET", "/approvals", EVERYONE - {"anonymous"})],
        ("orders.order_page", ""): [
            Target("GET", f"/orders/{o.id}", a_team | {"admin"})
            for o in (awaiting, returned, live1, live2, live3)],
        ("orders.approve", ""): [
            Target("POST", f"/orders/{awaiting.id}/approve", {"approver_a"}, reason)],
        ("orders.return_order", ""): [
            Target("POST", f"/orders/{awaiting.id}/return", {"approver_a"}, reason)],
        ("orders.revise", ""): [
            Target("POST", f"/orders/{returned.id}/revise", a_team,
                   {f"q{line.id}": "2" for sub in returned.sub_orders for line in sub.lines})],
        ("orders.cancel_order", ""): [
            Target("POST", f"/orders/{returned.id}/cancel", a_team, reason)],
        ("orders.reorder", ""): [Target("POST", f"/orders/{live1.id}/reorder", a_team)],
        ("orders.sub_order_page", ""): [
            Target("GET", f"{s}/{sub.id}", a_team | {"admin", "farmer_x"})
            for sub in (pending_x, accepted_x, received_x)] + [
            # Not routed yet: not even its producer sees it.
            Target("GET", f"{s}/{await_x.id}", a_team | {"admin"})],
        ("orders.delivery_note", ""): [
            Target("GET", f"{s}/{accepted_x.id}/delivery-note", a_team | {"admin", "farmer_x"})],
        ("orders.delivery_note_pdf", ""): [
            Target("GET", f"{s}/{accepted_x.id}/delivery-note.pdf",
                   a_team | {"admin", "farmer_x"})],
        ("orders.sub_action", "accept"): [
            Target("POST", f"{s}/{pending_x.id}/accept", {"farmer_x"}),
            Target("POST", f"{s}/{await_x.id}/accept", set())],
        ("orders.sub_action", "decline"): [
            Target("POST", f"{s}/{pending_x.id}/decline", {"farmer_x"}, reason)],
        ("orders.sub_action", "ship"): [
            Target("POST", f"{s}/{accepted_x.id}/ship", {"farmer_x"}, q(accepted_x))],
        ("orders.sub_action", "receive"): [
            Target("POST", f"{s}/{shipped_y.id}/receive", a_team, q(shipped_y))],
        ("orders.sub_action", "dispute"): [
            Target("POST", f"{s}/{shipped_y.id}/dispute", a_team, reason)],
        ("orders.sub_action", "resolve"): [
            Target("POST", f"{s}/{disputed_y.id}/resolve", {"admin"},
                   {**q(disputed_y, "3"), **reason})],
        ("orders.sub_action", "cancel"): [
            Target("POST", f"{s}/{pending_x.id}/cancel", a_team, reason),
            Target("POST", f"{s}/{accepted_x.id}/cancel", a_team, reason)],
        ("orders.rate", ""): [
            Target("POST", f"{s}/{received_x.id}/rate", a_team, {"score": "1", "comment": "差"})],
        ("orders.producer_orders", ""): [Target("GET", "/my/orders", {"farmer_x", "farmer_y"})],
        ("orders.disputes", ""): [Target("GET", "/admin/disputes", {"admin"})],
    }
    a_orders = [o.number for o in (awaiting, returned, live1, live2, live3)]
    x_subs = [sub.number for sub in (await_x, pending_x, accepted_x, received_x)]
    outsider = a_orders + [canteen.name]
    secrets = {"purchaser_b": outsider, "approver_b": outsider, "officer": outsider,
               "anonymous": outsider, "farmer_y": x_subs,
               # X sees its own parts once routed, never the whole order nor what awaits approval.
               "farmer_x": [await_x.number] + [n for o in (live2, live3)
                                               for n in [o.sub_orders[1].number]]}
    return World(targets, secrets, users)


def routes_of(app) -> set:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("orders", "buyers"):
            actions = getattr(rule._converters.get("action"), "items", None)
            out |= {(rule.endpoint, a) for a in actions} if actions else {(rule.endpoint, "")}
    return out


@pytest.fixture
def world(app, places, producer_org, producer, admin, officer):
    return build_world(places, producer_org, producer, admin, officer)


def test_every_order_and_buyer_route_refuses_the_wrong_people_and_changes_nothing(
        app, db, world):
    assert routes_of(app) == set(world.targets), "a route is not walked (or no longer exists)"
    clients, tokens = {}, {}
    for name in sorted(EVERYONE):
        clients[name] = app.test_client()
        forget_previous_request()
        if name != "anonymous":
            login(clients[name], name if name != "farmer_x" else "farmer")
        forget_previous_request()
        tokens[name] = csrf_token(clients[name], "/login" if name == "anonymous" else "/")
    before = snapshot(db)
    walked = 0
    for (endpoint, action), targets in sorted(world.targets.items()):
        for target in targets or []:
            for name in sorted(EVERYONE):
                client = clients[name]
                forget_previous_request()
                if target.method == "GET":
                    reply = client.get(target.path)
                elif name in target.allowed:
                    continue  # allowed people acting would change things: other tests do that
                else:
                    reply = client.post(target.path,
                                        data={**target.data, "csrf_token": tokens[name]})
                page = (reply.get_data(as_text=True) if reply.mimetype != "application/pdf"
                        else reply.get_data().decode("latin-1"))
                where = f"{name} {target.method} {target.path} ({endpoint} {action})"
                for secret in world.secrets.get(name, []):
                    assert secret not in page, f"{where} shows {secret}"
                if name in target.allowed:
                    assert reply.status_code == 200, where
                    continue
                walked += 1
                if name == "anonymous":
                    assert reply.status_code == 302 and "/login" in reply.location, where
                else:
                    assert reply.status_code in (403, 404), f"{where}: {reply.status_code}"
                if target.method == "POST":
                    assert snapshot(db) == before, f"{where} changed something"
    assert walked > 150
