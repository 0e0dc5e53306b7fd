"""The SQL of the funder report: counts over a period, never who did what, and the record of
the scheduled report posts (each period posted once per target).

Questions and `!passend` requests are counted from `usage_records` (kind, outcome, language,
time: nothing about the asker, not the text); questions answered after the handoff from the
unanswered questions whose group a coordinator answered (`HANDOFF_ANSWERED`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import handoff
from storage.events import FEEDBACK, SENDING, SENT
from storage.models import (
    CalendarEvent,
    EventPost,
    FeedbackComment,
    FeedbackRating,
    HandoffAnswer,
    Initiative,
    Introduction,
    QuestionGroup,
    ReportPost,
    UnansweredQuestion,
    UsageRecord,
)
from storage.questions import ANSWERED, OPEN

QUESTION, MATCH = "question", "match"  # kinds of usage record
# what came of a question: answered, answered saying a detail is missing, asked back which
# entry was meant, or said it does not know (pointing to the coordinators)
ANSWER, PARTIAL, ASK, UNKNOWN = "answer", "partial", "ask", "unknown"
FOUND = "found"  # a !passend request that found initiatives
# Group states that mean a coordinator answered the question after the bot handed it over
HANDOFF_ANSWERED: tuple[str, ...] = (ANSWERED,)


def record_usage(
    session: AsyncSession, kind: str, outcome: str, language: str, at: datetime
) -> None:
    """Count one question or `!passend` request (stored with the handler's transaction)."""
    session.add(UsageRecord(kind=kind, outcome=outcome, language=language, at=at))


# -- events and feedback --------------------------------------------------------------------


async def events_between(
    session: AsyncSession, start: datetime, end: datetime
) -> list[CalendarEvent]:
    """Every event starting in [start, end), cancelled ones included, in order."""
    query = select(CalendarEvent).where(
        CalendarEvent.starts_at >= start, CalendarEvent.starts_at < end
    )
    return list(await session.scalars(query.order_by(CalendarEvent.starts_at, CalendarEvent.id)))


async def ratings_by_event(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, list[int]]:
    """The stars given to each event (events without ratings are left out)."""
    found: dict[int, list[int]] = {}
    if not event_ids:
        return found
    rows = await session.execute(
        select(FeedbackRating.event_id, FeedbackRating.stars).where(
            FeedbackRating.event_id.in_(list(event_ids))
        )
    )
    for event_id, stars in rows:
        found.setdefault(event_id, []).append(stars)
    return found


async def comments_on(session: AsyncSession, event_ids: Sequence[int]) -> int:
    if not event_ids:
        return 0
    total = await session.scalar(
        select(func.count()).where(FeedbackComment.event_id.in_(list(event_ids)))
    )
    return total or 0


async def prompt_members(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, int]:
    """Members of the rooms each event's feedback prompt went to, as counted when it went out
    (events whose prompts have no count are left out)."""
    if not event_ids:
        return {}
    rows = await session.execute(
        select(EventPost.event_id, func.sum(EventPost.members))
        .where(
            EventPost.event_id.in_(list(event_ids)),
            EventPost.kind == FEEDBACK,
            EventPost.state == SENT,
            EventPost.members.is_not(None),
        )
        .group_by(EventPost.event_id)
    )
    return {event_id: int(total) for event_id, total in rows if total}


# -- questions ------------------------------------------------------------------------------


async def usage_counts(
    session: AsyncSession, kind: str, start: datetime, end: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """The records of `kind` in [start, end): counts per outcome and per language."""
    in_period = (UsageRecord.kind == kind, UsageRecord.at >= start, UsageRecord.at < end)
    outcomes = await session.execute(
        select(UsageRecord.outcome, func.count()).where(*in_period).group_by(UsageRecord.outcome)
    )
    languages = await session.execute(
        select(UsageRecord.language, func.count()).where(*in_period).group_by(UsageRecord.language)
    )
    return {o: n for o, n in outcomes}, {lang: n for lang, n in languages}


async def answered_after_handoff(session: AsyncSession, start: datetime, end: datetime) -> int:
    """Questions asked in [start, end) that the bot could not answer and a coordinator did
    (saved as an entry, or an answer relayed from the coordination room)."""
    relayed = exists().where(
        HandoffAnswer.group_id == UnansweredQuestion.group_id,
        HandoffAnswer.kind.in_((handoff.ANSWER, handoff.CORRECTION)),
    )
    total = await session.scalar(
        select(func.count())
        .select_from(UnansweredQuestion)
        .join(QuestionGroup, QuestionGroup.id == UnansweredQuestion.group_id)
        .where(
            UnansweredQuestion.asked_at >= start,
            UnansweredQuestion.asked_at < end,
            or_(
                QuestionGroup.state.in_(HANDOFF_ANSWERED),
                UnansweredQuestion.answered_entry.is_not(None),
                relayed,
            ),
        )
    )
    return total or 0


async def open_themes(
    session: AsyncSession, start: datetime, end: datetime, limit: int
) -> list[tuple[str, int]]:
    """The `limit` open question groups asked most in [start, end): the group's text and how
    many questions of the period it holds."""
    asked = func.count(UnansweredQuestion.id)
    rows = await session.execute(
        select(QuestionGroup.text, asked)
        .join(UnansweredQuestion, UnansweredQuestion.group_id == QuestionGroup.id)
        .where(
            QuestionGroup.state == OPEN,
            UnansweredQuestion.asked_at >= start,
            UnansweredQuestion.asked_at < end,
        )
        .group_by(QuestionGroup.id, QuestionGroup.text)
        .order_by(asked.desc(), QuestionGroup.id)
        .limit(limit)
    )
    return [(text, count) for text, count in rows]


# -- initiatives ----------------------------------------------------------------------------


async def initiatives_by_bundesland(session: AsyncSession, end: datetime) -> dict[str | None, int]:
    """Initiatives listed before `end`, counted per Bundesland (None: not recognised)."""
    rows = await session.execute(
        select(Initiative.bundesland, func.count())
        .where(Initiative.created_at < end)
        .group_by(Initiative.bundesland)
    )
    return {land: count for land, count in rows}


async def initiatives_added(session: AsyncSession, start: datetime, end: datetime) -> int:
    total = await session.scalar(
        select(func.count()).where(Initiative.created_at >= start, Initiative.created_at < end)
    )
    return total or 0


async def introductions_made(session: AsyncSession, start: datetime, end: datetime) -> int:
    total = await session.scalar(
        select(func.count()).where(
            Introduction.introduced_at >= start, Introduction.introduced_at < end
        )
    )
    return total or 0


# -- the scheduled posts --------------------------------------------------------------------


async def claim_post(
    session: AsyncSession, period: str, target: str, txn_id: str, now: datetime
) -> ReportPost | None:
    """The post of `period` to `target`, set to `sending` (made if there is none); None when
    it was sent already. A `sending` row is a post that may have gone out before a crash: it
    is sent again with the same transaction id, which the homeserver deduplicates."""
    row = await session.scalar(
        select(ReportPost).where(ReportPost.period == period, ReportPost.target == target)
    )
    if row is not None and row.state == SENT:
        return None
    if row is None:
        row = ReportPost(period=period, target=target, txn_id=txn_id, claimed_at=now)
        session.add(row)
    row.state = SENDING
    await session.flush()
    return row


async def mark_post_sent(
    session: AsyncSession, row_id: int, matrix_event_id: str, now: datetime
) -> None:
    row = await session.get(ReportPost, row_id)
    if row is not None:
        row.state, row.matrix_event_id, row.sent_at = SENT, matrix_event_id, now


async def posted(session: AsyncSession, period: str) -> list[str]:
    """The targets the report of `period` went to."""
    rows = await session.scalars(
        select(ReportPost.target).where(ReportPost.period == period, ReportPost.state == SENT)
    )
    return list(rows)
