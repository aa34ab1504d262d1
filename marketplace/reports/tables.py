"""A report table: columns with a kind, rows, a total — rendered by pages, exports and the API."""

from dataclasses import dataclass, field
from decimal import Decimal

# Column kinds: text, fen (money in fen), qty (exact decimal), int, pct (ratio), change (ratio,
# signed), date.
NUMERIC = ("fen", "qty", "int", "pct", "change")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    total: dict | None = None
    chart: dict | None = None  # {"type": bar|hbar|line|pie, "labels", "series": [{name, data}]}
    note: str = ""

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


def ratio(part, whole) -> Decimal | None:
    """part / whole to four places, None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def change(current, previous) -> Decimal | None:
    """(current - previous) / previous; None when the previous period had nothing."""
    if not previous:
        return None
    return (Decimal(current - previous) / Decimal(previous)).quantize(Decimal("0.0001"))


def chart(kind: str, labels, *series) -> dict:
    return {"type": kind, "labels": [str(label) for label in labels],
            "series": [{"name": str(name), "data": list(data)} for name, data in series]}
