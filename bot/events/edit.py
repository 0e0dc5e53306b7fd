"""Changing a planned event, as plain functions: `!webinar edit FIELD=VALUE` and cancelling.

A change counts a new version of the event (its `sequence`), so calendars that hold it take
the change and a move notice gets its own slot.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.events.slots import (
    check_start,
    parse_date,
    parse_kind,
    parse_link,
    parse_minutes,
    parse_switch,
    parse_time,
    parse_title,
    to_utc,
)
from storage.events import CANCELLED
from storage.models import CalendarEvent

FIELDS = {
    "title": "title",
    "titel": "title",
    "date": "date",
    "datum": "date",
    "time": "time",
    "zeit": "time",
    "uhrzeit": "time",
    "link": "link",
    "minutes": "minutes",
    "minuten": "minutes",
    "dauer": "minutes",
    "description": "description",
    "beschreibung": "description",
    "kind": "kind",
    "art": "kind",
    "alle": "mention_room",
    "everyone": "mention_room",
    "room": "mention_room",
}
SERIES_WORDS = {"serie", "series", "reihe"}
MOVING = ("date", "time")  # the fields whose change moves the start


def parse_change(text: str) -> tuple[str, str] | None:
    """`FIELD=VALUE` (a field by any of its names) → (field, value); None if it is not one."""
    name, equals, value = text.partition("=")
    field = FIELDS.get(name.strip().lower())
    if not equals or field is None:
        return None
    return field, value.strip()


def is_series_word(text: str) -> bool:
    return text.lower() in SERIES_WORDS


def apply_edit(event: CalendarEvent, field: str, value: str, now: datetime, tz: ZoneInfo) -> bool:
    """Change one field of `event` (ScheduleError if the value does not fit) and count a new
    version of it (not for `mention_room`, which no calendar holds); True when its start
    moved."""
    moved = _set_field(event, field, value, now, tz)
    if field != "mention_room":
        event.sequence += 1
    event.updated_at = now
    return moved


def _set_field(event: CalendarEvent, field: str, value: str, now: datetime, tz: ZoneInfo) -> bool:
    local = event.starts_at.astimezone(tz)
    match field:
        case "title":
            event.title = parse_title(value)
        case "description":
            event.description = value
        case "link":
            event.link = parse_link(value) if value not in ("", "-") else None
        case "minutes":
            event.minutes = parse_minutes(value)
        case "kind":
            event.kind = parse_kind(value).value
        case "mention_room":
            event.mention_room = parse_switch(value)
        case "date" | "time":
            day = parse_date(value) if field == "date" else local.date()
            clock = parse_time(value) if field == "time" else local.time()
            start = to_utc(day, clock, tz)
            check_start(start, now)
            moved = start != event.starts_at
            event.starts_at = start
            return moved
    return False


def cancel(event: CalendarEvent) -> None:
    """Mark `event` cancelled, as a new version of it."""
    event.status = CANCELLED
    event.sequence += 1
