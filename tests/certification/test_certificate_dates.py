"""A certificate's effective status follows from its dates and decisions alone."""

from datetime import date

import pytest

from marketplace.certification.models import Certificate, CertificateStatus


def certificate(status="active"):
    return Certificate(number="X", issued_on=date(2026, 1, 1), valid_from=date(2026, 1, 8),
                       valid_until=date(2027, 1, 7), status=status)


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 1, 1), CertificateStatus.IN_NOTICE),
        (date(2026, 1, 7), CertificateStatus.IN_NOTICE),
        (date(2026, 1, 8), CertificateStatus.VALID),
        (date(2027, 1, 7), CertificateStatus.VALID),
        (date(2027, 1, 8), CertificateStatus.EXPIRED),
    ],
)
def test_dates_decide(day, expected):
    assert certificate().effective_status(day) == expected


def test_current_means_in_notice_or_valid():
    assert certificate().is_current(date(2026, 1, 1))
    assert certificate().is_current(date(2027, 1, 7))
    assert not certificate().is_current(date(2027, 1, 8))
    assert not certificate("suspended").is_current(date(2026, 6, 1))


def test_decisions_override_dates():
    assert certificate("revoked").effective_status(date(2026, 6, 1)) == CertificateStatus.REVOKED
    assert certificate("suspended").effective_status(date(2026, 6, 1)) == CertificateStatus.SUSPENDED


def test_sql_condition_matches_python(app, places, producer_org, db):
    """The catalogue's SQL filter and the model's predicate agree on every status."""
    from tests.factories import make_certified_product

    product = make_certified_product(producer_org, places.starch, issued_days_ago=3)
    cert = product.certificates[0]
    for day_offset in (-1, 0, 5, 500):
        day = cert.valid_from.fromordinal(cert.valid_from.toordinal() + day_offset)
        for status in CertificateStatus:
            in_sql = db.session.scalar(
                db.select(Certificate.id).where(
                    Certificate.id == cert.id, Certificate.with_effective_status(status, day)
                )
            )
            assert (in_sql is not None) == (cert.effective_status(day) == status)
