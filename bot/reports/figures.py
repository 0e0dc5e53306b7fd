"""The figures of a report, gathered from storage for one period, and the rule that no
figure built from fewer than three people is shown exactly ("< 3")."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.events.ical import event_end
from bot.reports.period import Period
from storage import reports
from storage.events import CANCELLED
from storage.reports import ANSWER, ASK, MATCH, PARTIAL, QUESTION, UNKNOWN

FEW = 3  # a figure built from fewer people than this is shown as "< 3"
THEMES = 5
STARS = (1, 2, 3, 4, 5)


def few(count: int) -> bool:
    """True when `count` people are too few to be shown exactly (none are not)."""
    return 0 < count < FEW


@dataclass(frozen=True)
class EventLine:
    kind: str
    title: str
    starts_at: datetime
    cancelled: bool
    ratings: int
    average: float | None  # None: no ratings


@dataclass(frozen=True)
class Feedback:
    ratings: int
    average: float | None
    per_star: dict[int, int]
    comments: int
    rated_with_members: int  # ratings of events whose room members were counted
    members: int | None  # those members (None: never counted, the rate is unknown)


@dataclass(frozen=True)
class Questions:
    asked: int
    answered: int  # answered directly
    partial: int  # answered, saying which detail the entry does not hold
    offered: int  # the bot asked which of a few entries was meant
    unknown: int  # the bot said it does not know (a fallback to the coordinators)
    after_handoff: int  # answered by a coordinator later
    english: int
    simple: int  # in Leichte Sprache
    themes: list[tuple[str, int]]  # open groups: their first question, questions in period


@dataclass(frozen=True)
class Initiatives:
    total: int
    new: int
    by_bundesland: dict[str | None, int]
    match_requests: int
    introductions: int


@dataclass(frozen=True)
class Figures:
    period: Period
    generated_at: datetime
    held: list[EventLine]  # events that took place, in order
    upcoming: int  # events of the period still to come
    cancelled: list[EventLine]
    feedback: Feedback
    questions: Questions
    initiatives: Initiatives

    @property
    def kinds(self) -> dict[str, int]:
        return dict(Counter(event.kind for event in self.held))


async def gather(
    session: AsyncSession, period: Period, start: datetime, end: datetime, now: datetime
) -> Figures:
    """Every figure of the report for [start, end) (the period's bounds), as of `now`."""
    events = await reports.events_between(session, start, end)
    held = [e for e in events if e.status != CANCELLED and event_end(e) <= now]
    cancelled = [e for e in events if e.status == CANCELLED]
    upcoming = len(events) - len(held) - len(cancelled)
    ids = [e.id for e in held]
    stars = await reports.ratings_by_event(session, ids)
    lines = [
        EventLine(e.kind, e.title, e.starts_at, False, len(given), _mean(given))
        for e in held
        for given in [stars.get(e.id, [])]
    ]
    gone = [EventLine(e.kind, e.title, e.starts_at, True, 0, None) for e in cancelled]
    every = [s for e in held for s in stars.get(e.id, [])]
    members = await reports.prompt_members(session, ids)
    counted = Counter(every)
    feedback = Feedback(
        ratings=len(every),
        average=_mean(every),
        per_star={n: counted.get(n, 0) for n in STARS},
        comments=await reports.comments_on(session, ids),
        rated_with_members=sum(len(stars.get(i, [])) for i in members),
        members=sum(members.values()) if members else None,
    )
    return Figures(
        period=period,
        generated_at=now,
        held=lines,
        upcoming=upcoming,
        cancelled=gone,
        feedback=feedback,
        questions=await _questions(session, start, end),
        initiatives=await _initiatives(session, start, end),
    )


async def _questions(session: AsyncSession, start: datetime, end: datetime) -> Questions:
    outcomes, languages = await reports.usage_counts(session, QUESTION, start, end)
    return Questions(
        asked=sum(outcomes.values()),
        answered=outcomes.get(ANSWER, 0),
        partial=outcomes.get(PARTIAL, 0),
        offered=outcomes.get(ASK, 0),
        unknown=outcomes.get(UNKNOWN, 0),
        after_handoff=await reports.answered_after_handoff(session, start, end),
        english=languages.get("en", 0),
        simple=languages.get("de-simple", 0),
        themes=await reports.open_themes(session, start, end, THEMES),
    )


async def _initiatives(session: AsyncSession, start: datetime, end: datetime) -> Initiatives:
    by_land = await reports.initiatives_by_bundesland(session, end)
    matches, _ = await reports.usage_counts(session, MATCH, start, end)
    return Initiatives(
        total=sum(by_land.values()),
        new=await reports.initiatives_added(session, start, end),
        by_bundesland=by_land,
        match_requests=sum(matches.values()),
        introductions=await reports.introductions_made(session, start, end),
    )


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None
