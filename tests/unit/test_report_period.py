"""Report periods as coordinators type them, in German and English forms, and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.core.i18n import load_texts
from bot.reports.period import Period, PeriodError, last_full_month, parse_date, parse_period
from bot.reports.words import Words, theme_text
from config import CONFIG_DIR
from config.settings import Lang, Settings

TEXTS = load_texts(CONFIG_DIR / "texts.yaml")[0]


def named(period: Period, lang: Lang) -> str:
    return Words(TEXTS, lang, Settings(_env_file=None).tz).period(period)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("text", "first", "last", "key", "german", "english"),
    [
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), "2026-Q4", "4. Quartal 2026", "Q4 2026"),
        ("q1/2027", date(2027, 1, 1), date(2027, 3, 31), "2027-Q1", "1. Quartal 2027", "Q1 2027"),
        (
            "2026-11",
            date(2026, 11, 1),
            date(2026, 11, 30),
            "2026-11",
            "November 2026",
            "November 2026",
        ),
        (
            "02.2028",
            date(2028, 2, 1),
            date(2028, 2, 29),
            "2028-02",
            "Februar 2028",
            "February 2028",
        ),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026", "2026", "2026"),
        (
            "01.10.2026-31.12.2026",
            date(2026, 10, 1),
            date(2026, 12, 31),
            "2026-10-01_2026-12-31",
            "01.10.2026 – 31.12.2026",
            "2026-10-01 – 2026-12-31",
        ),
        (
            "2026-11-01 bis 2026-11-30",
            date(2026, 11, 1),
            date(2026, 11, 30),
            "2026-11",
            "November 2026",
            "November 2026",
        ),
    ],
)
def test_periods(text: str, first: date, last: date, key: str, german: str, english: str) -> None:
    period = parse_period(text)
    assert (period.first, period.last, period.key) == (first, last, key)
    assert (named(period, "de"), named(period, "en")) == (german, english)


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-Q5", "Sommer", "31.02.2026", "02.10.2026-01.10.2026", "20266", ""]
)
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(PeriodError) as error:
        parse_period(text)
    assert error.value.value == text


def test_dates_and_the_default_month() -> None:
    assert parse_date("01.10.2026") == parse_date("2026-10-01") == date(2026, 10, 1)
    with pytest.raises(PeriodError):
        parse_date("10/01/2026")
    assert last_full_month(date(2027, 1, 15)).key == "2026-12"
    assert named(last_full_month(date(2026, 3, 1)), "de") == "Februar 2026"


def test_bounds_follow_the_local_midnight() -> None:
    tz = Settings(_env_file=None).tz  # type: ignore[call-arg]
    start, end = parse_period("2026-11").bounds(tz)
    assert start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # CET: UTC+1
    assert end == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def test_themes_hold_nothing_that_names_or_reaches_a_person() -> None:
    text = theme_text(
        "Frage von @max:example.org, Tel. +49 30 1234567, max@example.org, https://x.de/a"
    )
    assert "@max" not in text and "1234567" not in text and "example.org" not in text
    assert len(theme_text("Förderung " * 40)) <= 90
