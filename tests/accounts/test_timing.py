"""An unknown username costs the same work as a known one: one password-hash check with the
same algorithm and cost parameters. (The work is counted, not timed: tests never time.)"""

import pytest
from werkzeug import security

from marketplace.accounts import models, services
from marketplace.errors import Invalid
from tests.factories import make_user


@pytest.fixture
def hash_checks(monkeypatch):
    """Record the method ("scrypt:32768:8:1") of every hash checked, then check it for real."""
    seen = []

    def check(pwhash, password):
        seen.append(pwhash.split("$", 1)[0])
        return security.check_password_hash(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", check)
    monkeypatch.setattr(services, "check_password_hash", check)
    return seen


def test_unknown_and_known_usernames_cost_one_identical_hash_check(db, places, hash_checks):
    user = make_user("alice", role="producer")
    method = user.password_hash.split("$", 1)[0]

    with pytest.raises(Invalid) as known:
        services.authenticate("alice", "wrong-guess", "1.2.3.4")
    assert hash_checks == [method]
    with pytest.raises(Invalid) as unknown:
        services.authenticate("nobody-here", "wrong-guess", "1.2.3.4")
    assert hash_checks == [method, method]
    assert known.value.message == unknown.value.message
