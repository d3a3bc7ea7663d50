"""Schedule expressions of EventBridge Scheduler and EventBridge rules: `rate()`, `cron()` and `at()`, and when
each fires next, in a time zone (pure: no LocalStack, no clock of its own).

    rate(5 minutes)            every 5 minutes from an anchor (the StartDate, else the moment it was created)
    cron(30 8 ? * MON-FRI *)   minutes hours day-of-month month day-of-week year, AWS's six-field dialect
    at(2030-12-31T23:00:00)    once, at that wall-clock time

Semantics follow AWS's documentation: a rate of days is a 24-hour duration; cron and at() are wall-clock times
in the schedule's time zone (`ScheduleExpressionTimezone`, UTC for EventBridge rules); a wall-clock time that
does not exist (the hour skipped when daylight saving time starts) is skipped, and one that happens twice (when
it ends) fires once. Day-of-week is 1-7 = SUN-SAT; one of day-of-month and day-of-week must be `?`.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS = {name: i for i, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
CRON_HELP = ("cron() takes six fields: minutes hours day-of-month month day-of-week year, "
             "e.g. cron(30 8 ? * MON-FRI *); one of day-of-month and day-of-week must be '?'")
SEARCH_YEARS = 200  # cron years go up to 2199


class ExpressionError(ValueError):
    """A schedule expression or time zone that AWS would refuse; the message says what is wrong and the form."""


# --- the three kinds ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    value: int
    unit: str  # minute | hour | day

    @property
    def seconds(self) -> int:
        return self.value * UNIT_SECONDS[self.unit]

    def next_after(self, after: float, anchor: float) -> float:
        """The first firing strictly after `after` of the series anchor, anchor + period, ..."""
        if after < anchor:
            return anchor
        periods = int((after - anchor) // self.seconds) + 1
        return anchor + periods * self.seconds


@dataclass(frozen=True)
class At:
    when: datetime  # naive: wall-clock time in the schedule's time zone

    def instant(self, tz: ZoneInfo) -> float:
        return self.when.replace(tzinfo=tz).timestamp()


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    dom: str  # day-of-month field as written ('?' when day-of-week is used)
    months: frozenset[int]
    dow: str  # day-of-week field as written ('?' when day-of-month is used)
    years: frozenset[int] | None  # None: every year

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        if self.dom != "?":
            return _dom_matches(self.dom, day)
        return _dow_matches(self.dow, day)

    def next_after(self, after: float, tz: ZoneInfo) -> float | None:
        """The first firing strictly after `after` (epoch seconds), or None if there is none (years all past)."""
        local = datetime.fromtimestamp(after, tz)
        day = local.date()
        limit = day.year + SEARCH_YEARS
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        while day.year <= limit:
            if self.years is not None and day.year not in self.years:
                later = [y for y in self.years if y > day.year]
                if not later:
                    return None
                day = date(min(later), 1, 1)
                continue
            if day.month not in self.months:
                day = _first_of_next_month(day)
                continue
            if self.matches_day(day):
                for hour in hours:
                    for minute in minutes:
                        wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                        if not _exists(wall):
                            continue  # skipped by a daylight-saving change: AWS skips it too
                        ts = wall.timestamp()  # fold=0: the first of two equal wall times, so it fires once
                        if ts > after:
                            return ts
            day += timedelta(days=1)
        return None


Expression = Rate | Cron | At


# --- parsing --------------------------------------------------------------------------------------------------
_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")


def parse(expression: str, *, rule: bool = False) -> Expression:
    """Parses a schedule expression. `rule=True`: an EventBridge rule's ScheduleExpression (no at())."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError("a schedule expression is required: rate(...), cron(...) or at(...)")
    text = expression.strip()
    if m := _RATE.match(text):
        value, unit = int(m[1]), m[2]
        if unit.rstrip("s") not in UNIT_SECONDS:
            raise ExpressionError(f"{text}: the unit must be minute(s), hour(s) or day(s)")
        if value < 1:
            raise ExpressionError(f"{text}: the value must be a positive whole number")
        return Rate(value, unit.rstrip("s"))
    if m := _CRON.match(text):
        return _parse_cron(text, m[1])
    if text.startswith("at("):
        if rule:
            raise ExpressionError(f"{text}: EventBridge rules take rate() or cron(); at() is for EventBridge "
                                  "Scheduler (AWS::Scheduler::Schedule, SAM ScheduleV2)")
        m = _AT.match(text)
        if not m:
            raise ExpressionError(f"{text}: at() takes a date and time, at(yyyy-mm-ddThh:mm:ss)")
        try:
            return At(datetime(*(int(g) for g in m.groups())))
        except ValueError as e:
            raise ExpressionError(f"{text}: {e}") from None
    raise ExpressionError(f"{text!r} is not a schedule expression: use rate(value unit), cron(fields)"
                          + ("" if rule else " or at(yyyy-mm-ddThh:mm:ss)"))


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone `name` (UTC when empty), or a clear error."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionError(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris or "
                              "America/New_York") from None


def next_fire(expr: Expression, tz: ZoneInfo, after: float, *, anchor: float | None = None,
              start: float | None = None, end: float | None = None) -> float | None:
    """When `expr` fires next, strictly after `after`, within [start, end] (epoch seconds); None: never again.
    A rate is counted from `anchor` (default: `start`, else `after`); at() ignores start and end, as AWS does."""
    if isinstance(expr, At):
        at = expr.instant(tz)
        return at if at > after else None
    if isinstance(expr, Rate):
        base = anchor if anchor is not None else start if start is not None else after
        nxt = expr.next_after(after, base)
        if start is not None and nxt < start:
            nxt = expr.next_after(start - 1e-6, base)
    else:
        nxt = expr.next_after(max(after, start - 1e-6) if start is not None else after, tz)
    if nxt is None or (end is not None and nxt > end):
        return None
    return nxt


def describe(expr: Expression) -> str:
    """A short reading of the expression for listings: 'every 5 minutes', 'once', 'cron'."""
    if isinstance(expr, Rate):
        return f"every {expr.value} {expr.unit}{'s' if expr.value != 1 else ''}"
    if isinstance(expr, At):
        return "once"
    return "cron"


# --- cron fields ----------------------------------------------------------------------------------------------
def _parse_cron(text: str, body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ExpressionError(f"{text}: {len(fields)} field(s); {CRON_HELP}")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ExpressionError(f"{text}: {CRON_HELP}")
    minutes = _values(text, "minutes", minute, 0, 59)
    hours = _values(text, "hours", hour, 0, 23)
    months = _values(text, "month", month, 1, 12, MONTHS)
    years = None if year == "*" else _values(text, "year", year, 1970, 2199)
    if dom != "?":
        _check_dom(text, dom)
    else:
        _check_dow(text, dow)
    return Cron(minutes, hours, dom.upper(), months, dow.upper(), years)


def _number(text: str, what: str, token: str, lo: int, hi: int, names: dict | None = None) -> int:
    token = token.upper()
    if names and token in names:
        return names[token]
    if not token.isdigit():
        raise ExpressionError(f"{text}: {token!r} is not a valid {what} value ({lo}-{hi})")
    value = int(token)
    if not lo <= value <= hi:
        raise ExpressionError(f"{text}: {what} {value} is out of range ({lo}-{hi})")
    return value


def _values(text: str, what: str, field: str, lo: int, hi: int, names: dict | None = None) -> frozenset[int]:
    """A field of `,`-separated items, each `*`, `n`, `a-b`, with an optional `/step` (`*/5`, `0/15`, `10-20/2`)."""
    out: set[int] = set()
    for item in field.split(","):
        base, _, step_s = item.partition("/")
        step = _number(text, f"{what} step", step_s, 1, hi) if step_s else 1
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _number(text, what, a, lo, hi, names), _number(text, what, b, lo, hi, names)
            if first > last:
                raise ExpressionError(f"{text}: {what} range {base} runs backwards")
        else:
            first = _number(text, what, base, lo, hi, names)
            last = hi if step_s else first
        out.update(range(first, last + 1, step))
    return frozenset(out)


def _check_dom(text: str, field: str) -> None:
    f = field.upper()
    if f in ("L", "LW"):
        return
    if f.endswith("W") and f[:-1].isdigit():
        _number(text, "day-of-month", f[:-1], 1, 31)
        return
    _values(text, "day-of-month", f, 1, 31)


def _check_dow(text: str, field: str) -> None:
    f = field.upper()
    if "#" in f:
        day, _, nth = f.partition("#")
        _number(text, "day-of-week", day, 1, 7, DAYS)
        _number(text, "day-of-week occurrence (#n)", nth, 1, 5)
        return
    if f == "L" or (f.endswith("L") and len(f) > 1):
        if f != "L":
            _number(text, "day-of-week", f[:-1], 1, 7, DAYS)
        return
    _values(text, "day-of-week", f, 1, 7, DAYS)


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday (0) -> 2, Sunday (6) -> 1


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _dom_matches(field: str, day: date) -> bool:
    last = _last_day(day)
    if field == "L":
        return day.day == last
    if field == "LW":
        target = last
        while date(day.year, day.month, target).weekday() >= 5:
            target -= 1
        return day.day == target
    if field.endswith("W"):
        return day.day == _nearest_weekday(day, min(int(field[:-1]), last))
    return day.day in _day_set(field, "dom")


def _nearest_weekday(day: date, target: int) -> int:
    """The weekday nearest to day `target` of the month, never leaving the month (AWS/Quartz `W`)."""
    d = date(day.year, day.month, target)
    if d.weekday() == 5:  # Saturday -> Friday, or Monday if the 1st
        return target - 1 if target > 1 else target + 2
    if d.weekday() == 6:  # Sunday -> Monday, or Friday if the last day
        return target + 1 if target < _last_day(day) else target - 2
    return target


def _dow_matches(field: str, day: date) -> bool:
    weekday = _aws_weekday(day)
    if "#" in field:
        d, _, nth = field.partition("#")
        return weekday == _number(field, "day-of-week", d, 1, 7, DAYS) and (day.day - 1) // 7 + 1 == int(nth)
    if field == "L":
        return weekday == 7  # the last day of the week: Saturday
    if field.endswith("L"):
        return weekday == _number(field, "day-of-week", field[:-1], 1, 7, DAYS) and day.day + 7 > _last_day(day)
    return weekday in _day_set(field, "dow")


@functools.lru_cache(maxsize=256)
def _day_set(field: str, kind: str) -> frozenset[int]:
    if kind == "dom":
        return _values(field, "day-of-month", field, 1, 31)
    return _values(field, "day-of-week", field, 1, 7, DAYS)


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _exists(wall: datetime) -> bool:
    """False for a wall-clock time inside a daylight-saving gap (it does not survive a round trip through UTC)."""
    back = wall.astimezone(UTC).astimezone(wall.tzinfo)
    return back.replace(tzinfo=None) == wall.replace(tzinfo=None)
