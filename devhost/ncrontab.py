"""NCRONTAB schedules as the Functions timer trigger reads them: six fields, evaluated in UTC.

``{second} {minute} {hour} {day} {month} {day-of-week}``; each field takes ``*``, values, ranges ``a-b``,
lists ``a,b``, steps ``*/n`` or ``a-b/n`` or ``a/n``, and month/day names (``Jan``, ``Mon``). As in
NCrontab (the library the host uses), day-of-month and day-of-week must *both* match, unlike Vixie
cron's either-or.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS = (  # name, low, high, names (index 0 maps to `low`)
    ("second", 0, 59, None),
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _DAYS),
)
_SEARCH_DAYS = 366 * 8  # Feb 29 on a given weekday recurs within 28 years; 8 covers every ordinary case


class CronError(ValueError):
    """A schedule that is not a valid six-field NCRONTAB expression."""


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule; ``next_after`` gives the next occurrence strictly after a time."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    def next_after(self, after: datetime) -> datetime:
        """The first matching instant strictly after ``after`` (same tzinfo as ``after``)."""
        start = after.replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        for offset in range(_SEARCH_DAYS):
            candidate_day = day + timedelta(days=offset)
            if not self._day_matches(candidate_day):
                continue
            floor = start if offset == 0 else candidate_day
            hit = self._first_time_on(candidate_day, floor)
            if hit is not None:
                return hit
        raise CronError(f"schedule '{self.expression}' never fires")

    def _day_matches(self, day: datetime) -> bool:
        weekday = (day.weekday() + 1) % 7  # Python: Monday = 0; cron: Sunday = 0
        return day.month in self.months and day.day in self.days and weekday in self.weekdays

    def _first_time_on(self, day: datetime, floor: datetime) -> datetime | None:
        for hour in sorted(self.hours):
            if hour < floor.hour and day.date() == floor.date():
                continue
            for minute in sorted(self.minutes):
                for second in sorted(self.seconds):
                    candidate = day.replace(hour=hour, minute=minute, second=second)
                    if candidate >= floor:
                        return candidate
        return None


def parse(expression: str) -> CronSchedule:
    """Parse a six-field NCRONTAB expression.

    Raises:
        CronError: naming the field that is wrong.
    """
    parts = expression.split()
    if len(parts) != 6:
        raise CronError(
            f"schedule '{expression}' must have six fields "
            "(second minute hour day month day-of-week), got {len(parts)}"
        )
    sets = [_parse_field(text, *spec) for text, spec in zip(parts, _FIELDS, strict=True)]
    return CronSchedule(expression, *sets)


def _parse_field(text: str, name: str, low: int, high: int, names: list[str] | None) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(item, name, low, high, names))
    if name == "day-of-week" and 7 in values:  # 7 is also Sunday in most cron dialects
        values.discard(7)
        values.add(0)
    return frozenset(values)


def _parse_item(item: str, name: str, low: int, high: int, names: list[str] | None) -> range:
    base, _, step_text = item.partition("/")
    step = _number(step_text, name, names=None, low=1) if step_text else 1
    if step < 1:
        raise CronError(f"{name} field '{item}' has a step of zero")
    top = 7 if name == "day-of-week" else high
    if base == "*":
        first, last = low, high
    elif "-" in base:
        a, _, b = base.partition("-")
        first, last = _number(a, name, names, low), _number(b, name, names, low)
    else:
        first = _number(base, name, names, low)
        last = high if step_text else first
    if not (low <= first <= top and low <= last <= top) or first > last:
        raise CronError(f"{name} field '{item}' is out of range {low}-{high}")
    return range(first, last + 1, step)


def _number(text: str, name: str, names: list[str] | None, low: int) -> int:
    if names and text[:3].lower() in names and not text.isdigit():
        return names.index(text[:3].lower()) + low
    if not text.isdigit():
        raise CronError(f"{name} field has an invalid value '{text}'")
    return int(text)
