"""The period a report covers, parsed from what coordinators type (words.py names it).

Chat: `2026-Q4`, `2026-11`, `2026`, `01.10.2026-31.12.2026` (also ISO dates, and `bis`/`to`
between them). Command line: single dates, `2026-10-01` or `01.10.2026`. Without a period: the
last full calendar month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DATE = r"(?:\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{1,2}-\d{1,2})"
_QUARTER = re.compile(r"(\d{4})\s*[-/ ]\s*Q([1-4])|Q([1-4])\s*[-/ ]\s*(\d{4})", re.IGNORECASE)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})|(\d{1,2})[./](\d{4})")
_YEAR = re.compile(r"\d{4}")
_RANGE = re.compile(rf"({_DATE})\s*(?:-|–|—|\.\.|bis|to)\s*({_DATE})", re.IGNORECASE)


class PeriodError(ValueError):
    """What a coordinator typed is no period (or date); `value` is what it was."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


@dataclass(frozen=True)
class Period:
    """From `first` to `last`, both days included; `kind` says how it was given."""

    first: date
    last: date
    kind: str = "range"  # month, quarter, year or range

    @property
    def key(self) -> str:
        """A stable name: `2026-11`, `2026-Q4`, `2026` or `2026-10-01_2026-12-31`."""
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.first.year}-Q{self.quarter}"
        if self.kind == "year":
            return str(self.first.year)
        return f"{self.first.isoformat()}_{self.last.isoformat()}"

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC moments: from the first day's midnight to the midnight after
        the last day, local time."""
        start = datetime.combine(self.first, time(), tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), tz).astimezone(UTC)
        return start, end

    @property
    def quarter(self) -> int:
        return (self.first.month - 1) // 3 + 1


def month(year: int, number: int) -> Period:
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return Period(first, following - timedelta(days=1), "month")


def last_full_month(today: date) -> Period:
    """The calendar month before the one `today` is in."""
    previous = today.replace(day=1) - timedelta(days=1)
    return month(previous.year, previous.month)


def parse_date(text: str) -> date:
    """`2026-10-01` or `01.10.2026`; PeriodError otherwise (also for a day that does not
    exist, like 31.02.2026)."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", value):
            day, month_number, year = (int(part) for part in value.split("."))
            return date(year, month_number, day)
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value):
            year, month_number, day = (int(part) for part in value.split("-"))
            return date(year, month_number, day)
    except ValueError:
        pass
    raise PeriodError(text)


def between(first: date, last: date) -> Period:
    """The days from `first` to `last`; a whole calendar month is named as one."""
    if last < first:
        raise PeriodError(f"{first} – {last}")
    whole = month(first.year, first.month)
    if first.day == 1 and last == whole.last:
        return whole
    return Period(first, last, "range")


def _year_and_number(match: re.Match[str]) -> tuple[int, int]:
    """`2026-Q4` / `2026-11` (year first) or `Q4 2026` / `11/2026` (year last)."""
    return (int(match[1]), int(match[2])) if match[1] else (int(match[4]), int(match[3]))


def parse_period(text: str) -> Period:
    """What a coordinator typed after `!bericht`; PeriodError when it is no period."""
    value = " ".join(text.split())
    try:
        if match := _RANGE.fullmatch(value):
            return between(parse_date(match[1]), parse_date(match[2]))
        if match := _QUARTER.fullmatch(value):
            year, number = _year_and_number(match)
            _check_year(year)
            first = date(year, 3 * number - 2, 1)
            last = month(year, 3 * number).last
            return Period(first, last, "quarter")
        if match := _MONTH.fullmatch(value):
            year, number = _year_and_number(match)
            _check_year(year)
            return month(year, number)
        if _YEAR.fullmatch(value):
            year = int(value)
            _check_year(year)
            return Period(date(year, 1, 1), date(year, 12, 31), "year")
        if re.fullmatch(_DATE, value):  # one day
            day = parse_date(value)
            return Period(day, day, "range")
    except ValueError:
        pass
    raise PeriodError(text)


def _check_year(year: int) -> None:
    if not 1900 <= year <= 9999:
        raise ValueError(year)
