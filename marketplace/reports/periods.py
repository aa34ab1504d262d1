"""Report periods: a month, a quarter, a year or a custom range, and the one before it.

Parsed only from query parameters through `period_from_args`, which answers a clear 400 for a
range that ends before it starts, an unknown kind, a month 13 or a year 9999.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from marketplace.clock import today
from marketplace.errors import Invalid
from marketplace.params import choice_arg, int_arg

KINDS = ("month", "quarter", "year", "custom")
FIRST_YEAR = 2020
MAX_CUSTOM_DAYS = 3 * 366


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_end(day: date) -> date:
    return next_month(day) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        if self.kind == "year":
            return _("%(y)s年", y=self.start.year)
        if self.kind == "quarter":
            return _("%(y)s年第%(q)s季度", y=self.start.year, q=(self.start.month - 1) // 3 + 1)
        if self.kind == "month":
            return _("%(y)s年%(m)s月", y=self.start.year, m=self.start.month)
        return _("%(a)s 至 %(b)s", a=self.start.isoformat(), b=self.end.isoformat())

    @property
    def full_label(self) -> str:
        if self.kind == "custom":
            return self.label
        return f"{self.label}（{self.start.isoformat()} — {self.end.isoformat()}）"

    @property
    def slug(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def previous(self) -> "Period":
        """The period of the same kind just before (a custom range: as many days before)."""
        if self.kind == "custom":
            return Period("custom", self.start - timedelta(days=self.days),
                          self.start - timedelta(days=1))
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        start = add_months(self.start, -months)
        return Period(self.kind, start, month_end(add_months(start, months - 1)))

    def split(self) -> tuple[list[date], list[tuple[date, date]]]:
        """(first days of the whole months inside, day ranges left at the edges)."""
        months, edges = [], []
        day = self.start
        while day <= self.end:
            last = min(month_end(day), self.end)
            if day.day == 1 and last == month_end(day):
                months.append(day)
            else:
                edges.append((day, last))
            day = last + timedelta(days=1)
        return months, edges

    def args(self) -> dict:
        """The query parameters that select this period (for links and exports)."""
        if self.kind == "custom":
            return {"period": "custom", "start": self.start.isoformat(),
                    "end": self.end.isoformat()}
        out = {"period": self.kind, "year": self.start.year}
        if self.kind == "quarter":
            out["quarter"] = (self.start.month - 1) // 3 + 1
        if self.kind == "month":
            out["month"] = self.start.month
        return out


def year_period(year: int) -> Period:
    return Period("year", date(year, 1, 1), date(year, 12, 31))


def _date_arg(args, name: str) -> date:
    raw = args.get(name, "")
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else date.fromisoformat("x")
    except ValueError:
        raise Invalid(_("参数 %(name)s 无效：%(hint)s", name=name,
                        hint=_("日期格式应为 YYYY-MM-DD。"))) from None


def period_from_args(args=None) -> Period:
    """The period named by ?period=month|quarter|year|custom (&year, &quarter, &month, &start, &end)."""
    from flask import request

    args = request.args if args is None else args
    day = today()
    last_year = day.year + 1
    kind = choice_arg("period", KINDS, default="year", args=args)
    if kind == "custom":
        start, end = _date_arg(args, "start"), _date_arg(args, "end")
        if end < start:
            raise Invalid(_("结束日期不能早于开始日期。"))
        if start.year < FIRST_YEAR or end.year > last_year:
            raise Invalid(_("只能查询 %(a)s 年至 %(b)s 年。", a=FIRST_YEAR, b=last_year))
        if (end - start).days + 1 > MAX_CUSTOM_DAYS:
            raise Invalid(_("自定义时段最长 3 年。"))
        return Period("custom", start, end)
    year = int_arg("year", default=day.year, minimum=FIRST_YEAR, maximum=last_year, args=args)
    if kind == "year":
        return year_period(year)
    if kind == "quarter":
        quarter = int_arg("quarter", default=(day.month - 1) // 3 + 1 if year == day.year else 1,
                          minimum=1, maximum=4, args=args)
        start = date(year, 3 * quarter - 2, 1)
        return Period("quarter", start, month_end(add_months(start, 2)))
    month = int_arg("month", default=day.month if year == day.year else 1, minimum=1,
                    maximum=12, args=args)
    start = date(year, month, 1)
    return Period("month", start, month_end(start))


def trend_months(period: Period, count: int = 12) -> list[date]:
    """The `count` months ending with the period's last month (for the trend chart)."""
    last = month_start(period.end)
    return [add_months(last, -k) for k in range(count - 1, -1, -1)]
