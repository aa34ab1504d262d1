"""Money is integer fen; quantities are exact decimals. Never floats."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


class MoneyError(ValueError):
    pass


MAX_FEN = 10**11  # 10 亿元: far above any listing; stops typos like an extra 10 zeros


def parse_yuan(text) -> int:
    """Turn a yuan amount typed by a person ("12.5", "12.50") into fen; refuse bad input."""
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError("not a number") from exc
    if not value.is_finite():
        raise MoneyError("not a number")
    if value.as_tuple().exponent < -2:
        raise MoneyError("more than two decimals")
    fen = int(value * 100)
    if fen <= 0:
        raise MoneyError("not positive")
    if fen > MAX_FEN:
        raise MoneyError("too large")
    return fen


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
