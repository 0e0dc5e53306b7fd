"""The events as an iCalendar (RFC 5545) file: the feed (and where to subscribe to it), and
the file sent with an event's first announcement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from config.settings import Settings
from storage.events import CANCELLED
from storage.models import CalendarEvent


def event_end(event: CalendarEvent) -> datetime:
    return event.starts_at + timedelta(minutes=event.minutes)


def calendar_ics(
    events: Sequence[CalendarEvent], name: str, server_name: str, now: datetime
) -> bytes:
    """RFC 5545: a calendar called `name`, one VEVENT per event (each occurrence of a series is
    its own event). Cancelled events are listed as CANCELLED, without their link."""
    calendar = Calendar()
    calendar.add("prodid", "-//initiative-bot//Veranstaltungen//DE")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for item in events:
        entry = Event()
        entry.add("uid", f"event-{item.id}@{server_name}")
        entry.add("dtstamp", now)
        entry.add("last-modified", item.updated_at)
        entry.add("dtstart", item.starts_at)
        entry.add("dtend", event_end(item))
        entry.add("summary", item.title)
        entry.add("categories", [item.kind])
        entry.add("sequence", item.sequence)
        cancelled = item.status == CANCELLED
        entry.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        link = None if cancelled else item.link  # a cancelled event's room link stays private
        description = "\n\n".join(p for p in (item.description, link or "") if p)
        if description:
            entry.add("description", description)
        if link:
            entry.add("url", link)
            entry.add("location", link)
        calendar.add_component(entry)
    ics: bytes = calendar.to_ical()
    return ics


def calendar_url(settings: Settings) -> str | None:
    """Where members subscribe to the calendar: BOT_PUBLIC_URL if set, else the bot's own
    HTTP address (None when HTTP is off)."""
    if settings.public_url:
        return f"{settings.public_url}/webinars.ics"
    if settings.http_port:
        return f"http://{settings.http_host}:{settings.http_port}/webinars.ics"
    return None
