"""User-facing texts per language, from config/texts.yaml."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from config.settings import LANGS, Lang


class Texts:
    def __init__(self, table: dict[str, dict[str, str]]) -> None:
        self._table = table

    def get(self, key: str, lang: Lang, **values: Any) -> str:
        variants = self._table.get(key)
        if variants is None:
            raise KeyError(f"no text {key!r}")
        template = variants.get(lang) or variants["de"]
        return template.format(**values) if values else template

    def template(self, key: str, lang: Lang) -> str | None:
        """The text as written, placeholders unfilled (None when there is no such key)."""
        variants = self._table.get(key)
        return None if variants is None else variants.get(lang) or variants["de"]


def load_texts(path: Path) -> tuple[Texts, list[str]]:
    """Texts plus problems found (missing German text, unknown language)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems = []
    table: dict[str, dict[str, str]] = {}
    for key, variants in data.items():
        if not isinstance(variants, dict) or "de" not in variants:
            problems.append(f"{path.name}: text {key!r} needs at least a 'de' version")
            continue
        unknown = set(variants) - set(LANGS)
        if unknown:
            problems.append(f"{path.name}: text {key!r} has unknown languages {sorted(unknown)}")
        table[key] = {k: str(v).rstrip("\n") for k, v in variants.items()}
    return Texts(table), problems


# -- dates and durations as a reader of each language writes them ----------------------------


def local_when(texts: Texts, lang: Lang, when: datetime, tz: ZoneInfo) -> str:
    """`Do, 03.12.2026, 14:00 Uhr` (seconds only when they are not zero)."""
    local = when.astimezone(tz)
    weekday = texts.get("events.weekdays", lang).split(",")[local.weekday()]
    clock = local.strftime("%H:%M:%S" if local.second else "%H:%M")
    return texts.get(
        "events.when",
        lang,
        weekday=weekday,
        day=local.day,
        month=local.month,
        year=local.year,
        clock=clock,
    )


def local_day(texts: Texts, lang: Lang, when: datetime, tz: ZoneInfo) -> str:
    """The local date alone, written as in local_when: `03.12.2026` or `2026-12-03`."""
    local = when.astimezone(tz)
    return texts.get("events.day", lang, day=local.day, month=local.month, year=local.year)


def lead_text(texts: Texts, lang: Lang, ahead: timedelta) -> str:
    """`in 3 Tagen`, `in 1 Stunde`, `in 40 Minuten`: how long until the start, rounded."""
    seconds = max(0, round(ahead.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = round(seconds / size)
        if seconds >= size * 0.95:
            return texts.get(f"events.in.{unit}" + ("s" if count > 1 else ""), lang, n=count)
    return texts.get("events.in.seconds", lang)
