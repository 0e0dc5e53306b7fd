"""The rules of rating an event, as plain functions: what counts as a rating, when an event
can be rated, and the figures of a report."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.events.ical import event_end
from config.settings import Settings
from storage.events import CANCELLED
from storage.models import CalendarEvent

STARS = range(1, 6)
MAX_COMMENT = 2000
_KEYCAP = "\u20e3"
_VARIATION_SELECTOR = "\ufe0f"
_EVENT_ID = re.compile(r"#?([0-9]{1,9})")  # ASCII digits only; nine fit every database integer
_STAR = re.compile(r"[1-5]")
_LONE_DIGIT = re.compile(r"^\s*([1-5])\s*$")


def keycap_stars(key: str) -> int | None:
    """1️⃣..5️⃣ (with or without the variation selector) → 1..5; anything else → None."""
    bare = key.strip().replace(_VARIATION_SELECTOR, "")
    if len(bare) == 2 and bare[1] == _KEYCAP and bare[0] in "12345":
        return int(bare[0])
    return None


def lone_stars(text: str) -> int | None:
    """A reply that is a lone 1–5 is a rating: its stars; any other text → None."""
    digit = _LONE_DIGIT.match(text)
    return int(digit.group(1)) if digit else None


class FeedbackProblem(Exception):
    """Why a rating cannot be taken; `key` names the text under `feedback.error.`."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class FeedbackInput:
    event_id: int
    stars: int
    comment: str


def parse_feedback(text: str) -> FeedbackInput:
    """`ID 1-5 [comment]`; raises FeedbackProblem naming what is wrong."""
    parts = text.split(maxsplit=2)
    if len(parts) < 2:
        raise FeedbackProblem("missing")
    raw_id, raw_stars = _EVENT_ID.fullmatch(parts[0]), parts[1]
    if raw_id is None:
        raise FeedbackProblem("bad_id", value=parts[0])
    stars = keycap_stars(raw_stars) or (int(raw_stars) if _STAR.fullmatch(raw_stars) else None)
    if stars is None:
        raise FeedbackProblem("bad_stars", value=raw_stars)
    comment = check_comment(parts[2].strip() if len(parts) > 2 else "")
    return FeedbackInput(int(raw_id.group(1)), stars, comment)


def check_comment(text: str) -> str:
    """The comment if it is not too long; FeedbackProblem otherwise."""
    if len(text) > MAX_COMMENT:
        raise FeedbackProblem("long_comment", limit=MAX_COMMENT)
    return text


def rating_period(event: CalendarEvent, settings: Settings) -> tuple[datetime, datetime]:
    """From the end of the event until the window after its feedback prompt has passed."""
    end = event_end(event)
    return end, end + settings.feedback_delay + settings.feedback_window


def claimed_time(sent_at: datetime, now: datetime) -> datetime:
    """When the sender says they acted, never later than now: for the rating window only
    (a reaction given while the bot was offline still counts). Which rating is newer is
    decided by the bot's own clock, so a timestamp from the future locks nothing."""
    return min(sent_at, now)


def check_open(event: CalendarEvent | None, at: datetime, settings: Settings) -> CalendarEvent:
    """The event if it can be rated at `at`; FeedbackProblem otherwise."""
    if event is None:
        raise FeedbackProblem("unknown")
    opens, closes = rating_period(event, settings)
    if event.status == CANCELLED:
        raise FeedbackProblem("cancelled")
    if at < opens:
        raise FeedbackProblem("not_ended", opens=opens)
    if at >= closes:
        raise FeedbackProblem("closed", closed=closes)
    return event


def ended(events: Iterable[CalendarEvent], now: datetime, limit: int) -> list[CalendarEvent]:
    """The first `limit` of `events` that are over at `now`."""
    return [event for event in events if event_end(event) <= now][:limit]


@dataclass(frozen=True)
class Summary:
    count: int
    average: float | None
    per_star: dict[int, int]


def summarize(stars: list[int]) -> Summary:
    counts = Counter(stars)
    average = sum(stars) / len(stars) if stars else None
    return Summary(len(stars), average, {n: counts.get(n, 0) for n in STARS})
