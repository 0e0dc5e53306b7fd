"""How a report writes its figures: numbers, averages and shares as the report's language
writes them (Babel), and "< 3" for what fewer than three people did."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from bot.core.i18n import LOCALES, Texts, decimal
from bot.reports.figures import few
from bot.reports.period import Period
from config.settings import Lang

FEW_TEXT = "< 3"
_THEME_CHARS = 90
# what could name or reach a person in a question's text: Matrix IDs, e-mail addresses,
# links, telephone numbers
_PERSONAL = re.compile(
    r"[@!#+][\w.=\-/]+:[\w.\-]+(?::\d+)?"
    r"|[\w.+\-]+@[\w\-]+\.[\w.\-]+"
    r"|(?:https?://|www\.)\S+"
    r"|\+?\d[\d ()/\-]{5,}\d"
)


@dataclass(frozen=True)
class Words:
    texts: Texts
    lang: Lang
    tz: ZoneInfo

    def t(self, key: str, **values: Any) -> str:
        return self.texts.plain(f"report.{key}", self.lang, **values)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=LOCALES[self.lang])

    def people(self, count: int) -> str:
        """A count of people (or of what people did): "< 3" for one or two."""
        return FEW_TEXT if few(count) else self.number(count)

    def decimal(self, value: float) -> str:
        """One decimal: `4,3` in German, `4.3` in English."""
        return decimal(value, self.lang)

    def average(self, value: float | None, count: int) -> str:
        """An average of `count` ratings; "< 3" when fewer people gave them, "–" for none."""
        if value is None:
            return "–"
        return FEW_TEXT if few(count) else self.decimal(value)

    def percent(self, part: int, whole: int) -> str:
        """`part` of `whole` in per cent (`part` people: "< 3" for one or two)."""
        if few(part):
            return FEW_TEXT
        if whole <= 0:
            return "–"
        return self.t("percent", value=self.decimal(100 * part / whole))

    def period(self, period: Period) -> str:
        """`November 2026`, `4. Quartal 2026` / `Q4 2026`, `2026`, `01.10.2026 – 31.12.2026`."""
        if period.kind == "month":
            return format_date(period.first, "LLLL y", locale=LOCALES[self.lang])
        if period.kind == "quarter":
            return self.t("period.quarter", number=period.quarter, year=str(period.first.year))
        if period.kind == "year":
            return str(period.first.year)
        return f"{self.date(period.first)} – {self.date(period.last)}"

    def date(self, day: date) -> str:
        pattern = "yyyy-MM-dd" if self.lang == "en" else "dd.MM.yyyy"
        return format_date(day, pattern, locale=LOCALES[self.lang])

    def day(self, moment: datetime) -> str:
        return self.date(moment.astimezone(self.tz).date())

    def short_day(self, moment: datetime) -> str:
        """Day and month only, for chart labels: `03.11.` or `11-03`."""
        pattern = "MM-dd" if self.lang == "en" else "dd.MM."
        return format_datetime(moment.astimezone(self.tz), pattern, locale=LOCALES[self.lang])

    def moment(self, moment: datetime) -> str:
        local = moment.astimezone(self.tz)
        return self.t("moment", day=self.day(local), clock=f"{local:%H:%M}")


def theme_text(text: str) -> str:
    """A question as a theme of the report: without what could name or reach a person, on
    one line, at most _THEME_CHARS characters."""
    clean = " ".join(_PERSONAL.sub("…", text).split())
    return clean if len(clean) <= _THEME_CHARS else clean[: _THEME_CHARS - 1].rstrip() + "…"
