from datetime import UTC, datetime

import pytest

from devhost.ncrontab import CronError, parse

T0 = datetime(2026, 3, 14, 10, 30, 15, tzinfo=UTC)  # a Saturday


def occurrences(expression: str, start: datetime, count: int) -> list[datetime]:
    schedule, out, now = parse(expression), [], start
    for _ in range(count):
        now = schedule.next_after(now)
        out.append(now)
    return out


def test_every_five_seconds_fires_on_multiples_of_five_strictly_after_now() -> None:
    assert [t.second for t in occurrences("*/5 * * * * *", T0, 3)] == [20, 25, 30]


def test_daily_at_two_moves_to_the_next_day_once_today_has_passed() -> None:
    assert occurrences("0 0 2 * * *", T0, 2) == [
        datetime(2026, 3, 15, 2, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 16, 2, 0, 0, tzinfo=UTC),
    ]


def test_weekday_names_and_ranges_skip_the_weekend() -> None:
    fired = occurrences("0 30 9 * * Mon-Fri", T0, 3)
    assert [t.strftime("%a %H:%M") for t in fired] == ["Mon 09:30", "Tue 09:30", "Wed 09:30"]


def test_lists_and_month_names_are_honoured() -> None:
    fired = occurrences("0 0 12 1,15 Jan,Jul *", T0, 3)
    assert [(t.month, t.day) for t in fired] == [(7, 1), (7, 15), (1, 1)]


def test_day_of_month_and_day_of_week_must_both_match_as_in_ncrontab() -> None:
    # Friday the 13th: NCrontab ANDs the two day fields.
    fired = occurrences("0 0 0 13 * 5", T0, 2)
    assert all(t.day == 13 and t.weekday() == 4 for t in fired)
    assert [(t.year, t.month) for t in fired] == [(2026, 11), (2027, 8)]


def test_step_inside_a_range_and_sunday_as_seven() -> None:
    assert [t.minute for t in occurrences("0 10-30/10 * * * *", T0, 3)] == [10, 20, 30]
    assert occurrences("0 0 0 * * 7", T0, 1)[0].weekday() == 6


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("* * * * *", "six fields"),
        ("61 * * * * *", "second"),
        ("* * 25 * * *", "hour"),
        ("* * * * Foo *", "month"),
        ("* */0 * * * *", "minute"),
        ("0 0 0 31 2 *", "never fires"),
    ],
)
def test_invalid_schedules_are_rejected_naming_the_problem(expression: str, field: str) -> None:
    with pytest.raises(CronError, match=field):
        parse(expression).next_after(T0)
