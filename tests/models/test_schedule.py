"""Schedule expressions: five-field cron and six-field NCRONTAB, read in an IANA time zone, across DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.models.schedule import ScheduleError, parse_cron


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_five_fields_are_cron_and_six_are_ncrontab_with_the_second_first() -> None:
    assert parse_cron("30 2 * * *").next_after(_utc(2026, 1, 1)) == _utc(2026, 1, 1, 2, 30)
    assert parse_cron("15 30 2 * * *").next_after(_utc(2026, 1, 1)) == _utc(2026, 1, 1, 2, 30, 15)


def test_names_ranges_steps_and_lists() -> None:
    saturdays = parse_cron("0 2 * * SAT", "UTC").between(_utc(2026, 11, 1), _utc(2026, 12, 1))
    assert [d.day for d in saturdays] == [7, 14, 21, 28]
    quarters = parse_cron("0 0 1 JAN-DEC/3 *").between(_utc(2026, 1, 1), _utc(2027, 1, 1))
    assert [d.month for d in quarters] == [4, 7, 10, 1]  # (start, end]: not 1 January 2026, 1 January 2027
    weekdays = parse_cron("0 9 * * 1-5").between(_utc(2026, 11, 29), _utc(2026, 12, 6))
    assert [d.day for d in weekdays] == [30, 1, 2, 3, 4]
    assert parse_cron("0 0 * * 7").next_after(_utc(2026, 11, 28)) == _utc(2026, 11, 29)  # 7 is Sunday too


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    days = parse_cron("0 0 13 * FRI").between(_utc(2026, 11, 1), _utc(2026, 11, 30))
    assert [d.day for d in days] == [6, 13, 20, 27]  # Fridays, and the 13th (a Friday anyway)
    days = parse_cron("0 0 1 * MON").between(_utc(2026, 11, 25), _utc(2026, 12, 8))
    assert [d.day for d in days] == [30, 1, 7]


@pytest.mark.parametrize(
    ("expression", "zone", "says"),
    [
        ("0 2 * *", "UTC", "has 4 fields"),
        ("61 * * * *", "UTC", "minute field has 61"),
        ("0 24 * * *", "UTC", "hour field has 24"),
        ("0 0 0 * *", "UTC", "day of month field has 0"),
        ("0 0 * FOO *", "UTC", "month field has 'FOO'"),
        ("0 0 * * 1-", "UTC", "day of week field has ''"),
        ("0 5-1 * * *", "UTC", "range '5-1' ends before it starts"),
        ("*/10 0 2 * * *", "UTC", "second field must be one value"),
        ("0 0 30 2 *", "UTC", "never comes due"),
        ("0 2 * * *", "Europe/Atlantis", "not an IANA time zone"),
    ],
)
def test_a_bad_expression_or_zone_says_which_part_is_wrong(expression: str, zone: str, says: str) -> None:
    with pytest.raises(ScheduleError, match=says):
        parse_cron(expression, zone)


def test_the_hour_skipped_in_spring_comes_due_once_just_after_the_change() -> None:
    cron = parse_cron("30 2 * * *", "America/New_York")
    days = cron.between(_utc(2026, 3, 7), _utc(2026, 3, 10))
    # 02:30 EST, then (no 02:30 on 8 March) 03:30 EDT, then 02:30 EDT
    assert days == [_utc(2026, 3, 7, 7, 30), _utc(2026, 3, 8, 7, 30), _utc(2026, 3, 9, 6, 30)]


def test_the_hour_repeated_in_autumn_comes_due_once_the_first_time() -> None:
    cron = parse_cron("30 1 * * *", "America/New_York")
    days = cron.between(_utc(2026, 10, 31), _utc(2026, 11, 3))
    assert days == [_utc(2026, 10, 31, 5, 30), _utc(2026, 11, 1, 5, 30), _utc(2026, 11, 2, 6, 30)]
    hourly = parse_cron("0 * * * *", "Europe/Berlin").between(_utc(2026, 10, 24, 23), _utc(2026, 10, 25, 3))
    # 02:00 CEST (00:00Z), then 02:00 CET (01:00Z) is the same wall-clock time again: once; 03:00, 04:00 CET
    assert hourly == [_utc(2026, 10, 25, 0), _utc(2026, 10, 25, 2), _utc(2026, 10, 25, 3)]


def test_europe_berlin_saturday_two_am_follows_local_time_across_the_change() -> None:
    cron = parse_cron("0 2 * * 6", "Europe/Berlin")
    assert cron.next_after(_utc(2026, 3, 22)) == _utc(2026, 3, 28, 1)  # CET, UTC+1
    assert cron.next_after(_utc(2026, 3, 29)) == _utc(2026, 4, 4, 0)  # CEST, UTC+2


def test_between_keeps_the_latest_occurrences_when_there_are_more_than_the_limit() -> None:
    found = parse_cron("* * * * *").between(_utc(2026, 1, 1), _utc(2026, 1, 2), limit=10)
    assert len(found) == 10 and found[-1] == _utc(2026, 1, 2)
