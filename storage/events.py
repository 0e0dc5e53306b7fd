"""Events and their posts: what is planned, what was posted where, what still waits.

An event post is one (event, slot, room): written as `sending` before the post goes out and
`sent` (with the Matrix event id) once the homeserver confirmed it; `pending` is a notice queued
by a change; `skipped` was never posted and never will be.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CalendarEvent, EventPost, EventSeries

SCHEDULED, CANCELLED = "scheduled", "cancelled"
PENDING, SENDING, SENT, SKIPPED = "pending", "sending", "sent", "skipped"
ANNOUNCING = ("reminder", "start")  # the kinds of post that announce an event
FEEDBACK = "feedback"  # the kind of post that asks for ratings
TxnId = Callable[[str], str]  # a post's transaction id for a room


async def live_event_ids(session: AsyncSession, cutoff: datetime) -> list[int]:
    """Scheduled events starting after `cutoff`, and any event with a post still to settle."""
    unfinished = select(EventPost.event_id).where(EventPost.state.in_((PENDING, SENDING)))
    query = select(CalendarEvent.id).where(
        or_(
            (CalendarEvent.starts_at > cutoff) & (CalendarEvent.status == SCHEDULED),
            CalendarEvent.id.in_(unfinished),
        )
    )
    return list(await session.scalars(query.order_by(CalendarEvent.starts_at)))


async def event_with_posts(
    session: AsyncSession, event_id: int
) -> tuple[CalendarEvent | None, list[EventPost]]:
    event = await session.get(CalendarEvent, event_id)
    posts = await session.scalars(select(EventPost).where(EventPost.event_id == event_id))
    return event, list(posts)


async def claim(
    session: AsyncSession,
    event: CalendarEvent,
    slot: str,
    kind: str,
    room: str,
    due: datetime,
    txn: str,
    state: str,
) -> tuple[EventPost, bool]:
    """The row of this slot in this room, set to `state` (made if there is none: the first
    announcement in a room carries the calendar file); and whether it was `sending` before."""
    row = await session.scalar(
        select(EventPost).where(
            EventPost.event_id == event.id, EventPost.slot == slot, EventPost.room_id == room
        )
    )
    if row is None:
        row = EventPost(
            event_id=event.id,
            slot=slot,
            kind=kind,
            room_id=room,
            txn_id=txn,
            with_ics=kind in ANNOUNCING and not await _announced(session, event.id, room),
            due_at=due,
        )
        session.add(row)
    resent = row.state == SENDING
    row.state = state
    return row, resent


async def _announced(session: AsyncSession, event_id: int, room: str) -> bool:
    found = await session.scalar(
        select(EventPost.id).where(
            EventPost.event_id == event_id,
            EventPost.room_id == room,
            EventPost.kind.in_(ANNOUNCING),
            EventPost.state.in_((SENDING, SENT)),
        )
    )
    return found is not None


async def mark(
    session: AsyncSession,
    row_id: int,
    state: str,
    matrix_event_id: str | None = None,
    now: datetime | None = None,
    members: int | None = None,
) -> None:
    row = await session.get(EventPost, row_id)
    if row is not None:
        row.state = state
        if matrix_event_id:
            row.matrix_event_id = matrix_event_id
            row.sent_at = now
        if members is not None:
            row.members = members


async def queue_notice(
    session: AsyncSession, event: CalendarEvent, kind: str, slot: str, txn: TxnId, now: datetime
) -> int:
    """Queue a cancel or move notice for every room the event was announced in, in the same
    transaction as the change (so it is posted even if the bot stops right after); returns
    the number of rooms."""
    rooms = set(
        await session.scalars(
            select(EventPost.room_id).where(
                EventPost.event_id == event.id,
                EventPost.kind.in_(ANNOUNCING),
                EventPost.state.in_((SENDING, SENT)),
            )
        )
    )
    for room in sorted(rooms):
        session.add(
            EventPost(
                event_id=event.id,
                slot=slot,
                kind=kind,
                room_id=room,
                txn_id=txn(room),
                state=PENDING,
                due_at=now,
            )
        )
    return len(rooms)


async def events_since(session: AsyncSession, since: datetime) -> list[CalendarEvent]:
    """Every event starting after `since`, cancelled ones included, in order."""
    query = select(CalendarEvent).where(CalendarEvent.starts_at > since)
    return list(await session.scalars(query.order_by(CalendarEvent.starts_at)))


# -- what coordinators plan and change ----------------------------------------------------------


async def get_event(session: AsyncSession, event_id: int) -> CalendarEvent | None:
    return await session.get(CalendarEvent, event_id)


async def add_events(
    session: AsyncSession,
    *,
    kind: str,
    title: str,
    link: str | None,
    minutes: int,
    starts: list[datetime],
    rule: str | None,
    created_by: str,
    now: datetime,
) -> list[CalendarEvent]:
    """One event per start; with a `rule` (the RRULE of a repetition) as one series."""
    series_id = None
    if rule:
        series = EventSeries(rule=rule)
        session.add(series)
        await session.flush()
        series_id = series.id
    added = [
        CalendarEvent(
            kind=kind,
            title=title,
            link=link,
            starts_at=start,
            minutes=minutes,
            series_id=series_id,
            created_by=created_by,
            created_at=now,
        )
        for start in starts
    ]
    session.add_all(added)
    await session.flush()
    return added


async def rest_of_series(session: AsyncSession, event: CalendarEvent) -> list[CalendarEvent]:
    """The scheduled events of `event`'s series from its start on (itself included)."""
    query = select(CalendarEvent).where(
        CalendarEvent.series_id == event.series_id,
        CalendarEvent.starts_at >= event.starts_at,
        CalendarEvent.status == SCHEDULED,
    )
    return list(await session.scalars(query))


# -- what members and coordinators see ---------------------------------------------------------


async def first_events_since(
    session: AsyncSession, since: datetime, limit: int
) -> list[CalendarEvent]:
    """The first `limit` events starting after `since`, cancelled ones included."""
    query = select(CalendarEvent).where(CalendarEvent.starts_at > since)
    return list(await session.scalars(query.order_by(CalendarEvent.starts_at).limit(limit)))


async def scheduled_since(session: AsyncSession, since: datetime) -> list[CalendarEvent]:
    """The events not cancelled that start after `since`, in order."""
    query = select(CalendarEvent).where(
        CalendarEvent.status == SCHEDULED, CalendarEvent.starts_at > since
    )
    return list(await session.scalars(query.order_by(CalendarEvent.starts_at)))


async def sent_counts(session: AsyncSession, event_ids: list[int]) -> dict[int, int]:
    """How many posts of each event went out (events without any are left out)."""
    counts = await session.execute(
        select(EventPost.event_id, func.count())
        .where(EventPost.event_id.in_(event_ids), EventPost.state == SENT)
        .group_by(EventPost.event_id)
    )
    return {event_id: count for event_id, count in counts}
