"""User-facing texts per language (config/texts.yaml) and locale formatting by Babel: dates,
times, relative times, numbers, percentages and plural forms, as a reader of each language
writes them. Leichte Sprache (`de-simple`) writes dates in full words ("Donnerstag,
3. Dezember 2026")."""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent

from bot.core.render import Markdown, escape, render
from config import read_yaml
from config.settings import LANGS, Lang

LOCALES: dict[Lang, Locale] = {
    "de": Locale("de", "DE"),
    "de-simple": Locale("de", "DE"),
    "en": Locale("en", "GB"),  # the community lives in Germany: 24-hour clock, day before month
}
PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")

Variant = str | dict[str, str]  # one text, or one per plural form ({one: …, other: …})


class Texts:
    """The catalogue. Every text is Markdown; values put into it are escaped, unless they are
    Markdown themselves (a text put into another). A text with plural forms picks its form by
    the value `count`."""

    def __init__(self, table: dict[str, dict[str, Variant]]) -> None:
        self._table = table

    def keys(self) -> list[str]:
        return list(self._table)

    def variants(self, key: str) -> dict[str, Variant]:
        return self._table[key]

    def get(self, key: str, lang: Lang, **values: Any) -> Markdown:
        template = self._pick(key, lang, values.get("count"))
        if not values:
            return Markdown(template)
        safe = {k: v if isinstance(v, int | float) else escape(v) for k, v in values.items()}
        return Markdown(template.format(**safe))

    def plain(self, key: str, lang: Lang, **values: Any) -> str:
        """The text as a terminal or a file shows it (no markup)."""
        return render(self.get(key, lang, **values)).text

    def template(self, key: str, lang: Lang) -> str | None:
        """The text as written, placeholders unfilled (None when there is no such key)."""
        return None if key not in self._table else self._pick(key, lang, None)

    def _pick(self, key: str, lang: Lang, count: object) -> str:
        variants = self._table.get(key)
        if variants is None:
            raise KeyError(f"no text {key!r}")
        variant = variants.get(lang) or variants["de"]
        if isinstance(variant, str):
            return variant
        form = LOCALES[lang].plural_form(count) if isinstance(count, int) else "other"
        return variant.get(form) or variant["other"]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_texts(path: Path) -> tuple[Texts, list[str]]:
    """Texts plus problems found (missing German text, unknown language or plural form)."""
    data = read_yaml(path) or {}
    problems = []
    table: dict[str, dict[str, Variant]] = {}
    for key, variants in data.items():
        if not isinstance(variants, dict) or "de" not in variants:
            problems.append(f"{path.name}: text {key!r} needs at least a 'de' version")
            continue
        unknown = set(variants) - set(LANGS)
        if unknown:
            problems.append(f"{path.name}: text {key!r} has unknown languages {sorted(unknown)}")
        table[key] = {}
        for lang, variant in variants.items():
            if isinstance(variant, dict):
                if "other" not in variant or set(variant) - set(PLURAL_FORMS):
                    problems.append(
                        f"{path.name}: text {key!r} ({lang}): plural forms need 'other'"
                    )
                table[key][lang] = {form: str(text).rstrip("\n") for form, text in variant.items()}
            else:
                table[key][lang] = str(variant).rstrip("\n")
    return Texts(table), problems


# -- dates, durations and numbers -------------------------------------------------------------

_WHEN = {
    "de": "EEE, dd.MM.yyyy, HH:mm",
    "en": "EEE d MMM yyyy, HH:mm",
    "de-simple": "EEEE, d. MMMM yyyy, 'um' HH:mm",
}
_DAY = {"de": "dd.MM.yyyy", "en": "d MMM yyyy", "de-simple": "d. MMMM yyyy"}


def local_when(lang: Lang, when: datetime, tz: ZoneInfo) -> str:
    """`Do., 03.12.2026, 14:00 Uhr`, `Thu 3 Dec 2026, 14:00`, `Donnerstag, 3. Dezember 2026,
    um 14:00 Uhr` (seconds only when they are not zero)."""
    local = when.astimezone(tz)
    pattern = _WHEN[lang] + (":ss" if local.second else "")
    text = format_datetime(local, pattern, tzinfo=tz, locale=LOCALES[lang])
    return text if lang == "en" else f"{text} Uhr"


def local_day(lang: Lang, when: datetime, tz: ZoneInfo) -> str:
    """The local date alone: `03.12.2026`, `3 Dec 2026`, `3. Dezember 2026`."""
    return format_datetime(when.astimezone(tz), _DAY[lang], tzinfo=tz, locale=LOCALES[lang])


def lead_text(texts: Texts, lang: Lang, start: datetime, now: datetime, tz: ZoneInfo) -> str:
    """`morgen`, `in 3 Tagen`, `in 1 Stunde`, `in 40 Minuten`: how long until the start."""
    ahead = start - now
    if ahead < timedelta(seconds=57):
        return texts.plain("events.in.seconds", lang)
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    if ahead >= timedelta(hours=12) and start.astimezone(tz).date() == tomorrow:
        return texts.plain("events.in.tomorrow", lang)
    return format_timedelta(
        ahead, granularity="minute", threshold=0.95, add_direction=True, locale=LOCALES[lang]
    )


def decimal(value: float, lang: Lang) -> str:
    """One decimal: `4,3` in German, `4.3` in English."""
    return format_decimal(value, "#,##0.0", locale=LOCALES[lang])


def percent(share: float, lang: Lang) -> str:
    """`42 %` in German, `42%` in English."""
    return format_percent(share, locale=LOCALES[lang])
