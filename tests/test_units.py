"""Pure functions: credit codes, money, quantities, the transition tables."""

from decimal import Decimal

import pytest

from marketplace.catalog.models import Product, ProductStatus
from marketplace.certification.models import (
    ApplicationStatus,
    Certificate,
    CertificateState,
    CertificationApplication,
)
from marketplace.money import MoneyError, format_quantity, format_yuan, parse_yuan
from marketplace.organisations import credit_code
from marketplace.organisations.models import Organisation, OrgStatus


@pytest.mark.parametrize("code", ["91350100M000100Y43", "911100001000130007"])
def test_published_credit_codes_pass(code):
    assert credit_code.is_valid(code)


def test_check_character_completes_a_code():
    first17 = "93411081MA0000011"
    assert credit_code.is_valid(first17 + credit_code.check_character(first17))


@pytest.mark.parametrize(
    "code, why",
    [
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        ("91350100M000100Y44", "check"),
        ("91350100M000I00Y43", "characters"),  # I is never used
        ("9135010OM000100Y43", "characters"),  # division code must be digits
        ("", "length"),
    ],
)
def test_bad_credit_codes_say_why(code, why):
    assert credit_code.problem(code) == why


def test_lowercase_credit_code_is_normalised():
    assert credit_code.is_valid("91350100m000100y43")


@pytest.mark.parametrize("text, fen", [("12", 1200), ("12.5", 1250), ("0.01", 1), ("1,234.56", 123456)])
def test_parse_yuan_is_exact(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["-1", "0", "abc", "1.234", "", "NaN", "Infinity", "1e20"])
def test_parse_yuan_refuses(text):
    with pytest.raises(MoneyError):
        parse_yuan(text)


def test_formatting():
    assert format_yuan(123456) == "1,234.56"
    assert format_quantity(Decimal("2.500")) == "2.5"
    assert format_quantity(Decimal("100.000")) == "100"


def _targets_from(model, status) -> set:
    return {e.target for e in model.EDGES.values() if status in e.source}


def test_transition_tables_have_no_way_back_from_final_states():
    for final in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED,
                  ApplicationStatus.WITHDRAWN):
        assert _targets_from(CertificationApplication, final) == set()
    assert _targets_from(Certificate, CertificateState.REVOKED) == set()
    assert _targets_from(Certificate, CertificateState.SUPERSEDED) == set()
    assert OrgStatus.SUBMITTED in _targets_from(Organisation, OrgStatus.RETURNED)
    # A producer reaches VERIFIED only through the city; the county's edges never verify.
    assert all(e.target != OrgStatus.VERIFIED for e in Organisation.EDGES.values()
               if e.rule == "organisation.county_review")
    assert _targets_from(Product, ProductStatus.ARCHIVED) == {ProductStatus.ACTIVE}


def test_county_edges_start_only_where_the_county_decides():
    """An organisation waiting for the city is past the county: no county edge leaves it."""
    for model in (Organisation, CertificationApplication):
        for name, edge in model.EDGES.items():
            if name.startswith("county_"):
                assert edge.source == {model.STATUS.SUBMITTED}, (model, name)


def test_every_edge_names_a_rule_of_the_permission_table():
    from marketplace.certification.models import MarkClaim
    from marketplace.organisations.models import LinkageChange
    from marketplace.permissions import RULES

    for model in (Organisation, CertificationApplication, Certificate, Product, MarkClaim,
                  LinkageChange):
        for name, edge in model.EDGES.items():
            assert edge.rule in RULES, (model.__name__, name)
            assert edge.target in set(model.STATUS), (model.__name__, name)
