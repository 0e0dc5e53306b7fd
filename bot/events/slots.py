"""Event times as plain functions: parsing, recurrence, announcement slots, the missed-slot rule.

Everything here takes the current time as an argument, so it is tested with an injected
clock. Times are stored in UTC and parsed and shown in the configured time zone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dateutil.rrule import MONTHLY, WEEKLY, rrule

MAX_MINUTES = 7 * 24 * 60
MAX_OCCURRENCES = 52
MAX_TITLE = 200
MAX_AHEAD = timedelta(days=5 * 366)


class ScheduleError(ValueError):
    """Input that cannot become an event; `key` names the text under `events.error.`."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class Kind(StrEnum):
    WEBINAR = "webinar"
    CONFERENCE = "conference"
    WORKSHOP = "workshop"
    MEETING = "meeting"


_KINDS = {
    "webinar": Kind.WEBINAR,
    "konferenz": Kind.CONFERENCE,
    "conference": Kind.CONFERENCE,
    "tagung": Kind.CONFERENCE,
    "workshop": Kind.WORKSHOP,
    "treffen": Kind.MEETING,
    "meeting": Kind.MEETING,
}


def parse_kind(text: str) -> Kind:
    try:
        return _KINDS[text.strip().lower()]
    except KeyError:
        raise ScheduleError("bad_kind", value=text.strip()) from None


# -- dates, times, fields ---------------------------------------------------------------

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?$")


def parse_date(text: str) -> date:
    """`2026-12-03`, `03.12.2026`, `3.12.2026` or `03.12.26`."""
    value = text.strip()
    if match := _ISO_DATE.match(value):
        year, month, day = (int(g) for g in match.groups())
    elif match := _GERMAN_DATE.match(value):
        day, month, year = (int(g) for g in match.groups())
        if len(match.group(3)) == 2:
            year += 2000
    else:
        raise ScheduleError("bad_date", value=value)
    try:
        return date(year, month, day)
    except ValueError:
        raise ScheduleError("impossible_date", value=value) from None


def parse_time(text: str) -> time:
    """`14:00`, `9:30`, `14:00:30` (also with dots, as in `14.00`)."""
    value = text.strip()
    match = _TIME.match(value)
    if not match:
        raise ScheduleError("bad_time", value=value)
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ScheduleError("impossible_time", value=value)
    return time(hour, minute, second)


def to_utc(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """Local wall time → UTC. A time skipped by the spring change is an error; a time that
    occurs twice in autumn means the first (summer-time) occurrence."""
    local = datetime.combine(day, clock, tz)
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        shown = clock.isoformat("seconds" if clock.second else "minutes")
        raise ScheduleError("nonexistent_time", value=f"{day.isoformat()} {shown}")
    return utc


def wall_shift(start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """`start` moved by whole days at the same local wall time (DST-aware)."""
    local = start.astimezone(tz).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=tz).astimezone(UTC)


def parse_minutes(text: str) -> int:
    value = text.strip()
    if not value.isdigit():
        raise ScheduleError("bad_minutes", value=value)
    minutes = int(value)
    if not 1 <= minutes <= MAX_MINUTES:
        raise ScheduleError("bad_minutes", value=value)
    return minutes


SWITCH = {
    **dict.fromkeys(("ja", "an", "yes", "on"), True),
    **dict.fromkeys(("nein", "aus", "no", "off"), False),
}


def parse_switch(text: str) -> bool:
    """ja/an/yes/on or nein/aus/no/off."""
    value = text.strip().casefold()
    if value not in SWITCH:
        raise ScheduleError("bad_switch", value=text.strip())
    return SWITCH[value]


MAX_LINK = 500  # the database column's size


def parse_link(text: str) -> str:
    value = text.strip()
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        raise ScheduleError("bad_link", value=value) from None
    dotted = "." in host.strip(".") or host == "localhost"
    if (
        parts.scheme not in ("http", "https")
        or not dotted
        or any(c.isspace() for c in value)
        or len(value) > MAX_LINK
    ):
        raise ScheduleError("bad_link", value=value[:MAX_LINK])
    return value


def parse_title(text: str) -> str:
    value = " ".join(text.split())
    if not value:
        raise ScheduleError("missing_title")
    if len(value) > MAX_TITLE:
        raise ScheduleError("long_title", limit=MAX_TITLE)
    return value


def check_start(start: datetime, now: datetime) -> None:
    if start <= now:
        raise ScheduleError("past")
    if start - now > MAX_AHEAD:
        raise ScheduleError("too_far")


@dataclass(frozen=True)
class EventSpec:
    """A parsed `/webinar add` line."""

    starts: list[datetime]  # UTC; more than one for a series
    title: str
    link: str | None = None
    minutes: int = 60
    kind: Kind = Kind.WEBINAR
    rule: str | None = None  # the series' RRULE
    repeat: str | None = None  # the repetition as the coordinator wrote it


def parse_event_spec(text: str, now: datetime, tz: ZoneInfo) -> EventSpec:
    """`DATE TIME | TITLE [| LINK] [| MINUTES] [| KIND] [| REPETITION]`.

    After the title the optional fields may come in any order; each is known by its shape.
    """
    head, bar, rest = text.partition("|")
    if not bar:
        raise ScheduleError("no_separator")
    words = head.split()
    if words and words[-1].lower() == "uhr":
        words.pop()
    if len(words) != 2:
        raise ScheduleError("no_separator")
    start = to_utc(parse_date(words[0]), parse_time(words[1]), tz)
    check_start(start, now)
    title, *extras = rest.split("|")
    found: dict[str, Any] = {}
    for raw in (e.strip() for e in extras):
        if not raw:
            continue
        value: Any
        if raw.isdigit():
            name, value = "minutes", parse_minutes(raw)
        elif looks_like_recurrence(raw):
            name, value = "recurrence", (parse_recurrence(raw), raw)
        elif raw.lower() in _KINDS:
            name, value = "kind", parse_kind(raw)
        else:
            name, value = "link", parse_link(raw)
        if name in found:
            raise ScheduleError("duplicate_field", value=raw)
        found[name] = value
    recurrence, repeat = found.pop("recurrence", (None, None))
    if recurrence is None:
        return EventSpec([start], parse_title(title), **found)
    starts = occurrences(start, recurrence, tz)
    rule = rule_text(recurrence, start, tz)
    return EventSpec(starts, parse_title(title), rule=rule, repeat=repeat, **found)


# -- recurring series -------------------------------------------------------------------


@dataclass(frozen=True)
class Recurrence:
    freq: Frequency  # dateutil WEEKLY or MONTHLY
    interval: int
    count: int | None = None
    until: date | None = None

    def rule(self, first: datetime) -> rrule:
        """The RRULE over local wall times, starting at the naive local `first`."""
        until = datetime.combine(self.until, time(23, 59, 59)) if self.until else None
        return rrule(
            self.freq, dtstart=first, interval=self.interval, count=self.count, until=until
        )


Frequency = Literal[1, 2]  # dateutil's MONTHLY, WEEKLY
_FREQUENCIES: dict[str, tuple[Frequency, int]] = {
    "wöchentlich": (WEEKLY, 1),
    "woechentlich": (WEEKLY, 1),
    "weekly": (WEEKLY, 1),
    "14-tägig": (WEEKLY, 2),
    "14-taegig": (WEEKLY, 2),
    "zweiwöchentlich": (WEEKLY, 2),
    "zweiwoechentlich": (WEEKLY, 2),
    "biweekly": (WEEKLY, 2),
    "fortnightly": (WEEKLY, 2),
    "monatlich": (MONTHLY, 1),
    "monthly": (MONTHLY, 1),
}
_EVERY_TWO_WEEKS = re.compile(r"^(alle|every)\s+(2|zwei|two)\s+(wochen|weeks)\b", re.I)
_COUNT = re.compile(r"^(?:x\s*(\d+)|(\d+)\s*(?:x|mal|times))$", re.I)
_UNTIL = re.compile(r"^(?:bis|until)\s+(\S+)$", re.I)


def looks_like_recurrence(text: str) -> bool:
    words = text.strip().lower()
    return bool(_EVERY_TWO_WEEKS.match(words)) or words.split(" ", 1)[0] in _FREQUENCIES


def parse_recurrence(text: str) -> Recurrence:
    """`wöchentlich x6`, `alle 2 Wochen bis 01.03.2027`, `monthly until 2027-03-01`, …"""
    value = " ".join(text.split())
    freq: Frequency
    if match := _EVERY_TWO_WEEKS.match(value):
        freq, interval, tail = WEEKLY, 2, value[match.end() :].strip()
    else:
        word, _, tail = value.partition(" ")
        if word.lower() not in _FREQUENCIES:
            raise ScheduleError("bad_recurrence", value=value)
        freq, interval = _FREQUENCIES[word.lower()]
    if match := _COUNT.match(tail):
        count = int(match.group(1) or match.group(2))
        if not 2 <= count <= MAX_OCCURRENCES:
            raise ScheduleError("bad_count", limit=MAX_OCCURRENCES)
        return Recurrence(freq, interval, count=count)
    if match := _UNTIL.match(tail):
        return Recurrence(freq, interval, until=parse_date(match.group(1)))
    raise ScheduleError("bad_recurrence", value=value)


def occurrences(first: datetime, recurrence: Recurrence, tz: ZoneInfo) -> list[datetime]:
    """UTC start times of a series: same local wall time each time, across DST changes."""
    local = first.astimezone(tz).replace(tzinfo=None)
    starts = []
    for index, when in enumerate(recurrence.rule(local)):
        if index >= MAX_OCCURRENCES:
            raise ScheduleError("bad_count", limit=MAX_OCCURRENCES)
        starts.append(when.replace(tzinfo=tz).astimezone(UTC))
    if len(starts) < 2:
        raise ScheduleError("single_occurrence")
    return starts


def rule_text(recurrence: Recurrence, first: datetime, tz: ZoneInfo) -> str:
    """The RFC 5545 RRULE line stored with a series (round-trips through dateutil)."""
    text = str(recurrence.rule(first.astimezone(tz).replace(tzinfo=None)))
    return text.splitlines()[-1].removeprefix("RRULE:")


# -- announcement slots -----------------------------------------------------------------


class SlotKind(StrEnum):
    REMINDER = "reminder"
    START = "start"
    FEEDBACK = "feedback"
    CANCEL = "cancel"
    MOVE = "move"


@dataclass(frozen=True)
class Slot:
    key: str  # unique per event: names the offset and the start it was computed for
    kind: SlotKind
    due: datetime
    lead: timedelta = timedelta(0)  # for reminders: the configured offset


def offset_label(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def event_slots(
    start: datetime,
    minutes: int,
    offsets: Iterable[timedelta],
    feedback_delay: timedelta,
    tz: ZoneInfo,
) -> list[Slot]:
    """Reminders at each offset, the start post and the feedback prompt, ordered by time.

    Whole-day offsets keep the local wall time (a `1d` reminder for 14:00 comes at 14:00 the
    day before, even across a DST change); other offsets are exact durations.
    """
    stamp = int(start.timestamp())
    slots = []
    for offset in sorted(set(offsets), reverse=True):
        if offset <= timedelta(0):
            continue
        if offset % timedelta(days=1) == timedelta(0):
            due = wall_shift(start, -(offset // timedelta(days=1)), tz)
        else:
            due = start - offset
        label = offset_label(offset)
        slots.append(Slot(f"remind-{label}-t{stamp}", SlotKind.REMINDER, due, offset))
    slots.append(Slot(f"start-t{stamp}", SlotKind.START, start))
    end = start + timedelta(minutes=minutes)
    slots.append(Slot(f"feedback-t{stamp}", SlotKind.FEEDBACK, end + feedback_delay))
    return slots


@dataclass(frozen=True)
class Window:
    """When an event's posts are still worth posting."""

    start: datetime
    end: datetime
    feedback_window: timedelta


def relevant(kind: SlotKind, due: datetime, now: datetime, window: Window) -> bool:
    """Whether a post of `kind`, due at `due`, may still go out at `now`.

    Reminders only before the start; the start post while the event runs; the feedback
    prompt within the feedback window; notices about a change until the event would end.
    """
    match kind:
        case SlotKind.REMINDER:
            return now < window.start
        case SlotKind.START | SlotKind.CANCEL | SlotKind.MOVE:
            return now < window.end
        case SlotKind.FEEDBACK:
            return now < due + window.feedback_window


@dataclass
class Plan:
    post: list[Slot] = field(default_factory=list)
    skip: list[Slot] = field(default_factory=list)
    wake_at: datetime | None = None


def plan(slots: Sequence[Slot], settled: set[str], now: datetime, window: Window) -> Plan:
    """What to do for one room now: post, skip for good, and when to look again.

    `settled` holds the keys already sent or skipped in that room. Of several reminders that
    are due (missed while the bot was down, or already past when the event was created) only
    the latest is posted, and only while the event has not started.
    """
    result = Plan()
    due = [s for s in slots if s.key not in settled and s.due <= now]
    later = [s.due for s in slots if s.key not in settled and s.due > now]
    reminders = sorted((s for s in due if s.kind == SlotKind.REMINDER), key=lambda s: s.due)
    if reminders and relevant(SlotKind.REMINDER, reminders[-1].due, now, window):
        result.post.append(reminders[-1])
        result.skip.extend(reminders[:-1])
    else:
        result.skip.extend(reminders)
    for slot in due:
        if slot.kind != SlotKind.REMINDER:
            target = result.post if relevant(slot.kind, slot.due, now, window) else result.skip
            target.append(slot)
    result.wake_at = min(later, default=None)
    return result


def txn_id(event_id: int, created: datetime, slot_key: str, room_id: str) -> str:
    """The same transaction id every time this slot is sent to this room (the homeserver
    returns the first event instead of posting a second one)."""
    room = hashlib.sha256(room_id.encode()).hexdigest()[:12]
    return f"ib-e{event_id}-c{int(created.timestamp())}-{slot_key}-{room}"


# -- how times read ---------------------------------------------------------------------
