"""Money is integer fen; quantities are exact decimals. Never floats.

Amounts and quantities typed by people are parsed from text with a strict grammar: digits,
an optional decimal point, and for money thousands separators only where they belong
("1,234.50"). Full-width digits and punctuation (１２．５０) are normalised first, as
Chinese input methods produce them; anything else is refused with a reason, never guessed
("12,50" is not 1250 yuan).
"""

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal


class MoneyError(ValueError):
    """Why a typed amount was refused: one of the REASONS keys."""


REASONS = ("not a number", "more than two decimals", "too many decimals", "grouping", "not positive",
           "negative", "too large")

# 1,000 万元: far above any listing, stops typos like an extra ten zeros, and fits the integer
# columns prices are stored in (PostgreSQL integer, 2^31 - 1 fen); 10^11 answered 500 there.
MAX_FEN = 10**9
MAX_QUANTITY = Decimal("100000000")

_PLAIN = re.compile(r"\d+(?:\.\d+)?")
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_MAX_LENGTH = 32


def normalise_number_text(text) -> str:
    """Full-width digits and separators to ASCII, a leading ¥ dropped, spaces trimmed."""
    value = unicodedata.normalize("NFKC", str(text if text is not None else "")).strip()
    return value.removeprefix("¥").strip()


def parse_yuan(text) -> int:
    """Turn a yuan amount typed by a person ("12.5", "1,234.50", "１２") into fen."""
    value = normalise_number_text(text)
    if len(value) > _MAX_LENGTH:
        raise MoneyError("too large")
    if value.startswith("-") and _PLAIN.fullmatch(value[1:]):
        raise MoneyError("not positive")
    if _GROUPED.fullmatch(value):
        value = value.replace(",", "")
    elif "," in value and re.fullmatch(r"[\d,]+(?:\.\d+)?", value):
        raise MoneyError("grouping")
    elif not _PLAIN.fullmatch(value):
        raise MoneyError("not a number")
    whole, _dot, decimals = value.partition(".")
    if len(decimals) > 2:
        raise MoneyError("more than two decimals")
    fen = int(whole) * 100 + int((decimals or "0").ljust(2, "0"))
    if fen <= 0:
        raise MoneyError("not positive")
    if fen > MAX_FEN:
        raise MoneyError("too large")
    return fen


def parse_quantity(text, *, positive: bool = True, places: int = 3) -> Decimal:
    """An exact quantity: digits with at most `places` decimals, below MAX_QUANTITY."""
    value = normalise_number_text(text)
    if value.startswith("-") and _PLAIN.fullmatch(value[1:]):
        raise MoneyError("not positive" if positive else "negative")
    if len(value) > _MAX_LENGTH or not _PLAIN.fullmatch(value):
        raise MoneyError("not a number")
    if len(value.partition(".")[2]) > places:
        raise MoneyError("more than two decimals" if places == 2 else "too many decimals")
    quantity = Decimal(value)
    if positive and quantity == 0:
        raise MoneyError("not positive")
    if quantity >= MAX_QUANTITY:
        raise MoneyError("too large")
    return quantity


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def format_yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"{fen_to_yuan(fen):,.2f}"


def format_quantity(qty) -> str:
    """3 decimal places stored; show what is needed: 5, 2.5, 0.125."""
    if qty is None:
        return ""
    q = Decimal(qty).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP).normalize()
    return f"{q:f}"


def line_amount(unit_price_fen: int, quantity) -> int:
    """Price × quantity in whole fen, rounded half up (a weighed 2.345 斤 at ¥6.10)."""
    return int((Decimal(unit_price_fen) * Decimal(quantity)).quantize(Decimal(1),
                                                                      rounding=ROUND_HALF_UP))
