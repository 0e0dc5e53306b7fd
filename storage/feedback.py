"""Ratings and comments on events, and the feedback prompts they answer.

Who gave them is a pseudonym (storage/pseudonyms.py), never a Matrix ID.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected
from storage.events import CANCELLED, FEEDBACK, SENT
from storage.models import CalendarEvent, EventPost, FeedbackComment, FeedbackRating

# -- prompts ----------------------------------------------------------------------------------


async def prompt_event(session: AsyncSession, matrix_event_id: str | None) -> CalendarEvent | None:
    """The calendar event whose feedback prompt is the Matrix event `matrix_event_id`."""
    if not matrix_event_id:
        return None
    event_id = await session.scalar(
        select(EventPost.event_id).where(
            EventPost.matrix_event_id == matrix_event_id, EventPost.kind == FEEDBACK
        )
    )
    return await session.get(CalendarEvent, event_id) if event_id is not None else None


async def prompt_rooms(session: AsyncSession, event_id: int) -> list[str]:
    """The rooms the event's feedback prompt went out to."""
    rooms = await session.scalars(
        select(EventPost.room_id).where(
            EventPost.event_id == event_id,
            EventPost.kind == FEEDBACK,
            EventPost.state == SENT,
        )
    )
    return list(rooms)


async def started_before(session: AsyncSession, now: datetime) -> list[CalendarEvent]:
    """The events not cancelled that started before `now`, the latest first."""
    query = select(CalendarEvent).where(
        CalendarEvent.status != CANCELLED, CalendarEvent.starts_at < now
    )
    return list(await session.scalars(query.order_by(CalendarEvent.starts_at.desc())))


# -- ratings ----------------------------------------------------------------------------------


async def store_rating(
    session: AsyncSession,
    event_id: int,
    who: str,
    stars: int,
    at: datetime,
    reaction_event_id: str | None = None,
) -> bool:
    """Keep the newest rating per member and event; True if the member had rated before.

    `at` is when the bot handled the rating (its clock, not the sender's claim). The update
    is one conditional statement, so two deliveries at once cannot overwrite a newer rating
    with an older one; a duplicate first insert fails and is retried.
    """
    mine = (FeedbackRating.event_id == event_id, FeedbackRating.pseudonym == who)
    source = "reaction" if reaction_event_id else "command"
    updated = await session.execute(
        update(FeedbackRating)
        .where(*mine, FeedbackRating.updated_at <= at)
        .values(stars=stars, reaction_event_id=reaction_event_id, source=source, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if affected(updated) or await session.scalar(select(FeedbackRating.id).where(*mine)):
        return True  # replaced, or a newer rating stays (an older event seen late)
    session.add(
        FeedbackRating(
            event_id=event_id,
            pseudonym=who,
            stars=stars,
            reaction_event_id=reaction_event_id,
            source=source,
            updated_at=at,
        )
    )
    await session.flush()
    return False


async def ratings_of(session: AsyncSession, event_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(FeedbackRating.stars).where(FeedbackRating.event_id == event_id)
        )
    )


# -- comments ---------------------------------------------------------------------------------


def add_comment(
    session: AsyncSession,
    event_id: int,
    who: str,
    text: str,
    at: datetime,
    matrix_event_id: str,
) -> None:
    """A comment, stored with the handler's transaction; `matrix_event_id` is its message."""
    session.add(
        FeedbackComment(
            event_id=event_id,
            pseudonym=who,
            text=text,
            created_at=at,
            matrix_event_id=matrix_event_id,
        )
    )


async def comment_count(session: AsyncSession, event_id: int) -> int:
    total = await session.scalar(select(func.count()).where(FeedbackComment.event_id == event_id))
    return total or 0


async def latest_comments(session: AsyncSession, event_id: int, limit: int) -> list[str]:
    """The texts of the event's newest `limit` comments, the newest first."""
    texts = await session.scalars(
        select(FeedbackComment.text)
        .where(FeedbackComment.event_id == event_id)
        .order_by(FeedbackComment.created_at.desc(), FeedbackComment.id.desc())
        .limit(limit)
    )
    return list(texts)


async def forget_redacted(session: AsyncSession, who: str, redacted: str) -> None:
    """The rating given by the reaction `redacted`, or the comment sent as the message
    `redacted`, if the member `who` gave it."""
    await session.execute(
        delete(FeedbackRating).where(
            FeedbackRating.reaction_event_id == redacted, FeedbackRating.pseudonym == who
        )
    )
    await session.execute(
        delete(FeedbackComment).where(
            FeedbackComment.matrix_event_id == redacted, FeedbackComment.pseudonym == who
        )
    )


# -- the export and retention --------------------------------------------------------------------


async def feedback_of(
    session: AsyncSession, event_id: int
) -> tuple[list[FeedbackRating], list[FeedbackComment]]:
    """Every rating and every comment (the oldest first) of one event."""
    ratings = list(
        await session.scalars(select(FeedbackRating).where(FeedbackRating.event_id == event_id))
    )
    comments = list(
        await session.scalars(
            select(FeedbackComment)
            .where(FeedbackComment.event_id == event_id)
            .order_by(FeedbackComment.created_at)
        )
    )
    return ratings, comments


async def delete_comments_before(session: AsyncSession, before: datetime) -> int:
    """Delete the comments written before `before`; returns how many went."""
    result = await session.execute(
        delete(FeedbackComment).where(FeedbackComment.created_at < before)
    )
    return affected(result)
