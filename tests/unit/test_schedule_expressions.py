"""rate(), cron() and at() as EventBridge Scheduler and EventBridge rules read them, with time zones and DST."""

from datetime import UTC, datetime

import pytest

from sandbox.schedules.expressions import At, Cron, ExpressionError, Rate, next_fire, parse, zone


def ts(text: str, tz: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=zone(tz)).timestamp()


def iso(value: float, tz: str = "UTC") -> str:
    return datetime.fromtimestamp(value, zone(tz)).strftime("%Y-%m-%dT%H:%M")


def test_rate_counts_from_its_anchor():
    expr = parse("rate(5 minutes)")
    assert expr == Rate(5, "minute") and expr.seconds == 300
    anchor = ts("2026-03-01T10:02:30")
    assert next_fire(expr, zone(None), anchor - 10, anchor=anchor) == anchor  # fires at once when created
    assert iso(next_fire(expr, zone(None), anchor, anchor=anchor)) == "2026-03-01T10:07"
    assert iso(next_fire(expr, zone(None), anchor + 3600, anchor=anchor)) == "2026-03-01T11:07"
    assert parse("rate(1 day)").seconds == 86400 and parse("rate(1 hour)") == Rate(1, "hour")


def test_cron_in_a_time_zone_on_weekdays():
    expr = parse("cron(30 8 ? * MON-FRI *)")
    assert isinstance(expr, Cron)
    paris = zone("Europe/Paris")
    # Friday 2026-03-06 09:00 Paris -> the next is Monday 08:30 Paris, 07:30 UTC (winter time)
    nxt = next_fire(expr, paris, ts("2026-03-06T09:00", "Europe/Paris"))
    assert iso(nxt, "Europe/Paris") == "2026-03-09T08:30" and iso(nxt) == "2026-03-09T07:30"
    # in summer the same wall time is 06:30 UTC
    assert iso(next_fire(expr, paris, ts("2026-07-01T00:00", "Europe/Paris"))) == "2026-07-01T06:30"


def test_cron_steps_lists_names_and_special_days():
    utc = zone(None)
    assert iso(next_fire(parse("cron(0/15 * * * ? *)"), utc, ts("2026-01-01T10:07"))) == "2026-01-01T10:15"
    assert iso(next_fire(parse("cron(0 12 L * ? *)"), utc, ts("2026-02-03T00:00"))) == "2026-02-28T12:00"
    assert iso(next_fire(parse("cron(0 9 ? * 2#1 *)"), utc, ts("2026-03-03T00:00"))) == "2026-04-06T09:00"  # 1st MON
    assert iso(next_fire(parse("cron(0 9 ? * 6L *)"), utc, ts("2026-03-01T00:00"))) == "2026-03-27T09:00"  # last FRI
    assert iso(next_fire(parse("cron(0 9 15W * ? *)"), utc, ts("2026-03-01T00:00"))) == "2026-03-16T09:00"  # SUN->MON
    assert iso(next_fire(parse("cron(0 0 1 JAN,JUL ? 2027)"), utc, ts("2026-03-01T00:00"))) == "2027-01-01T00:00"
    assert next_fire(parse("cron(0 0 1 1 ? 2020)"), utc, ts("2026-03-01T00:00")) is None


def test_daylight_saving_gap_is_skipped_and_repeated_hour_fires_once():
    ny = zone("America/New_York")
    daily = parse("cron(30 2 * * ? *)")
    # 2026-03-08: 02:00-03:00 does not exist in New York -> skipped, next is the 9th
    assert iso(next_fire(daily, ny, ts("2026-03-07T03:00", "America/New_York")), "America/New_York") \
        == "2026-03-09T02:30"
    # 2026-11-01: 01:30 happens twice -> fires once, at the first
    first = next_fire(parse("cron(30 1 * * ? *)"), ny, ts("2026-11-01T00:00", "America/New_York"))
    second = next_fire(parse("cron(30 1 * * ? *)"), ny, first)
    assert iso(second, "America/New_York") == "2026-11-02T01:30"


def test_at_fires_once_in_its_time_zone():
    expr = parse("at(2030-12-31T23:00:00)")
    assert expr == At(datetime(2030, 12, 31, 23, 0, 0))
    ny = zone("America/New_York")
    when = next_fire(expr, ny, ts("2030-01-01T00:00"))
    assert datetime.fromtimestamp(when, UTC).isoformat() == "2031-01-01T04:00:00+00:00"
    assert next_fire(expr, ny, when) is None  # one-shot
    assert next_fire(expr, ny, ts("2030-01-01T00:00"), start=ts("2031-06-01T00:00")) == when  # StartDate ignored


def test_start_and_end_dates_bound_recurring_schedules():
    utc = zone(None)
    hourly = parse("cron(0 * * * ? *)")
    assert iso(next_fire(hourly, utc, ts("2026-01-01T00:10"), start=ts("2026-01-02T05:30"))) == "2026-01-02T06:00"
    assert next_fire(hourly, utc, ts("2026-01-01T00:10"), end=ts("2026-01-01T00:59")) is None


@pytest.mark.parametrize("expression, message", [
    ("rate(5 weeks)", "minute(s), hour(s) or day(s)"),
    ("rate(0 minutes)", "positive"),
    ("cron(0 8 * * *)", "six fields"),
    ("cron(0 8 * * MON *)", "must be '?'"),
    ("cron(0 25 * * ? *)", "hours 25 is out of range"),
    ("cron(0 8 ? * FUNDAY *)", "not a valid day-of-week"),
    ("at(2030-02-30T10:00:00)", "day is out of range"),
    ("at(tomorrow)", "at(yyyy-mm-ddThh:mm:ss)"),
    ("every 5 minutes", "not a schedule expression"),
])
def test_invalid_expressions_say_what_is_wrong(expression, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(expression)


def test_rules_take_no_at_and_time_zones_are_checked():
    with pytest.raises(ExpressionError, match="EventBridge rules take rate"):
        parse("at(2030-01-01T00:00:00)", rule=True)
    with pytest.raises(ExpressionError, match="unknown time zone 'Mars/Olympus'"):
        zone("Mars/Olympus")
