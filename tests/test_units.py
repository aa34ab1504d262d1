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


def test_transition_tables_have_no_way_back_from_final_states():
    assert ApplicationStatus.APPROVED not in CertificationApplication.TRANSITIONS
    assert ApplicationStatus.REJECTED not in CertificationApplication.TRANSITIONS
    assert CertificateState.REVOKED not in Certificate.TRANSITIONS
    assert OrgStatus.SUBMITTED in Organisation.TRANSITIONS[OrgStatus.RETURNED]
    assert OrgStatus.VERIFIED not in Organisation.TRANSITIONS[OrgStatus.SUBMITTED]
    assert Product.TRANSITIONS[ProductStatus.ARCHIVED] == {ProductStatus.ACTIVE}
