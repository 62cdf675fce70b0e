"""A Schedule trigger's expression: five-field cron or six-field NCRONTAB, evaluated in an IANA time zone.

Flex Consumption timers run on UTC only, so kiln evaluates schedules itself: the timer ticks every minute and
asks each schedule which occurrences fell between the window it last started and now (``Cron.between``).

* Five fields: ``minute hour day-of-month month day-of-week`` (cron). Six fields: ``second`` first (NCRONTAB,
  as Azure Functions timers). A six-field second must be one value: a schedule comes due at most once a
  minute.
* Each field takes ``*``, numbers, ranges ``a-b``, steps ``*/n`` and ``a-b/n``, lists ``a,b``; months and
  weekdays also by name (``JAN``, ``MON``); weekday 0 and 7 are Sunday.
* When both day-of-month and day-of-week are restricted, a day matching either is due (as cron does).
* Daylight saving time: a local time that does not exist (the hour skipped in spring) comes due at the same
  distance past the change (02:30 on a day clocks go 02:00 → 03:00 comes due at 03:30); a local time that
  happens twice (the hour repeated in autumn) comes due once, the first time — so an hourly schedule skips
  the repeated hour: a schedule comes due at most once per local wall-clock time.

Pure: nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_FIELDS = (  # name, low, high, names
    ("second", 0, 59, None),
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_DST_MARGIN = timedelta(hours=3)  # wider than any offset change a zone makes at once
_SEARCH_YEARS = 8  # Feb 29 on a Monday recurs within 28 years; a schedule with no day in 8 years is refused


class ScheduleError(ValueError):
    """An expression or a time zone kiln cannot evaluate; the message says which part and why."""


@dataclass(frozen=True)
class Cron:
    """A parsed expression; ``zone`` is the IANA time zone its fields are read in."""

    expression: str
    zone: ZoneInfo
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (an aware datetime), in UTC."""
        after = moment.astimezone(UTC)
        local = after.astimezone(self.zone).replace(tzinfo=None, microsecond=0)
        # Near a change of the zone's offset, wall-clock order and instant order can differ (a skipped time
        # maps past later ones): look a few hours around and take the earliest instant.
        margin = _DST_MARGIN if self._offset_changes_near(local) else timedelta(0)
        best: datetime | None = None
        first_naive: datetime | None = None
        for naive in self._local_candidates(local - margin):
            if first_naive is not None and naive > first_naive + margin:
                break
            instant = naive.replace(tzinfo=self.zone).astimezone(UTC)  # fold=0: see the module docstring
            if instant <= after:
                continue
            first_naive = first_naive or naive
            best = instant if best is None or instant < best else best
        if best is None:
            raise ScheduleError(f"'{self.expression}' never comes due")
        return best

    def _offset_changes_near(self, local: datetime) -> bool:
        before, after = self.zone.utcoffset(local - _DST_MARGIN), self.zone.utcoffset(local + _DST_MARGIN)
        return before != after

    def between(self, start: datetime, end: datetime, *, limit: int = 10_000) -> list[datetime]:
        """The occurrences in ``(start, end]`` in order, at most ``limit`` of them (the latest kept)."""
        found: list[datetime] = []
        moment = start
        while True:
            moment = self.next_after(moment)
            if moment > end:
                return found
            found.append(moment)
            if len(found) > limit:
                found = found[-limit:]

    def _local_candidates(self, start: datetime) -> Iterator[datetime]:
        """Local wall-clock times matching every field, in order, from ``start`` on."""
        t = start.replace(microsecond=0)
        horizon = start + timedelta(days=366 * _SEARCH_YEARS)
        while t < horizon:
            if t.month not in self.months:
                t = _next_month(t)
            elif not self._day_matches(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0, second=0)
            elif t.minute not in self.minutes:
                t = (t + timedelta(minutes=1)).replace(second=0)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                yield t
                t += timedelta(seconds=1)

    def _day_matches(self, t: datetime) -> bool:
        weekday = (t.weekday() + 1) % 7  # cron: Sunday is 0
        day_ok, weekday_ok = t.day in self.days, weekday in self.weekdays
        if self.any_day or self.any_weekday:
            return day_ok and weekday_ok
        return day_ok or weekday_ok


def _next_month(t: datetime) -> datetime:
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Berlin``, ``UTC``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ScheduleError(
            f"'{name}' is not an IANA time zone (for example 'Europe/Berlin' or 'UTC')"
        ) from exc


def parse_cron(expression: str, zone: str = "UTC") -> Cron:
    """Parse a five-field cron or six-field NCRONTAB expression read in time zone ``zone``.

    Raises:
        ScheduleError: the expression or the zone is not valid; the message names the field.
    """
    tz = time_zone(zone)
    parts = expression.split()
    if len(parts) == 5:
        parts = ["0", *parts]
    elif len(parts) != 6:
        raise ScheduleError(
            f"'{expression}' has {len(parts)} fields; a schedule has five (minute hour day-of-month month "
            "day-of-week) or six (NCRONTAB: second first)"
        )
    values = [_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    if len(values[0]) != 1:
        raise ScheduleError("the second field must be one value: a schedule comes due at most once a minute")
    weekdays = frozenset(d % 7 for d in values[5])
    cron = Cron(
        expression=expression,
        zone=tz,
        seconds=values[0],
        minutes=values[1],
        hours=values[2],
        days=values[3],
        months=values[4],
        weekdays=weekdays,
        any_day=parts[3] in ("*", "?"),
        any_weekday=parts[5] in ("*", "?"),
    )
    cron.next_after(datetime(2000, 1, 1, tzinfo=UTC))  # an expression that never matches (31 FEB) fails here
    return cron


def _field(text: str, name: str, low: int, high: int, names: dict[str, int] | None) -> frozenset[int]:
    out: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ScheduleError(f"the {name} field '{text}' has an empty list item")
        body, _, step_text = item.partition("/")
        step = _number(step_text, name, 1, high + 1, None) if step_text else 1
        if body in ("*", "?"):
            first, last = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = _number(a, name, low, high, names), _number(b, name, low, high, names)
            if first > last:
                raise ScheduleError(f"the {name} range '{body}' ends before it starts")
        else:
            first = _number(body, name, low, high, names)
            last = high if step_text else first
        out.update(range(first, last + 1, step))
    return frozenset(out)


def _number(text: str, name: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(f"the {name} field has '{text}', not a number from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise ScheduleError(f"the {name} field has {value}, outside {low}-{high}")
    return value
