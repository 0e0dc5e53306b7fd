"""Scheduled posts about events: reminders, the start, the feedback prompt, change notices.

The database is the source of truth. The scheduler only holds one wake-up per event (job id
`event-<id>`), rebuilt from the database at start-up and after every change. Each post to a
room is an `EventPost` row that is written as `sending` before the post goes out and marked
`sent` once the homeserver confirmed it. Its transaction id is derived from (event, slot,
room), so resending an unconfirmed post after a crash makes the homeserver return the first
event instead of posting a second one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from icalendar import Calendar, Event
from sqlalchemy import event as sa_event
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.adapters.web import Route
from bot.core.context import Services
from bot.core.messages import Attachment, Reply, RoomId, Transport
from bot.events.slots import (
    Slot,
    SlotKind,
    Window,
    event_slots,
    lead_text,
    local_when,
    plan,
    relevant,
    txn_id,
)
from storage.models import CalendarEvent, EventPost

log = logging.getLogger(__name__)

RATING_KEYS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
SCHEDULED, CANCELLED = "scheduled", "cancelled"
PENDING, SENDING, SENT, SKIPPED = "pending", "sending", "sent", "skipped"
ANNOUNCING = (SlotKind.REMINDER.value, SlotKind.START.value)
LONGEST_EVENT = timedelta(days=7)
CALENDAR_PAST = timedelta(days=30)
RETRY_UNCONFIRMED = timedelta(minutes=1)  # a post the homeserver did not confirm is tried again
STOP_GRACE = 10.0  # seconds a post in flight may take to be confirmed at shutdown


class Announcer:
    """Posts each (event, slot, room) at most once, across restarts and crashes."""

    def __init__(self, services: Services, transport: Transport, rooms: list[RoomId]) -> None:
        self.services = services
        self.transport = transport
        self.rooms = rooms  # the resolved announcement rooms (filled in once joined)
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 3},
        )
        self._lock = asyncio.Lock()  # one settle at a time: no post is attempted twice at once
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.scheduler.start()
        await self.rebuild()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        try:  # let a post in flight be confirmed rather than resent at the next start
            async with asyncio.timeout(STOP_GRACE), self._lock:
                pass
        except TimeoutError:
            log.warning("a scheduled post was still in flight at shutdown")
        for task in self._tasks:
            task.cancel()

    def rebuild_after_commit(self, session: AsyncSession) -> None:
        """Rebuild the schedule once this unit of work is committed."""

        def committed(_: Session) -> None:
            task = asyncio.get_running_loop().create_task(self.rebuild())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        sa_event.listen(session.sync_session, "after_commit", committed, once=True)

    async def rebuild(self) -> None:
        """Settle every live event now and schedule each one's next wake-up."""
        try:
            async with self._lock:
                now = self.services.clock()
                wanted = set()
                for event_id in await self._live_event_ids(now):
                    if await self._settle(event_id, now):
                        wanted.add(job_id(event_id))
                for job in self.scheduler.get_jobs():
                    if job.id not in wanted:
                        job.remove()
        except Exception:
            log.exception("rebuilding the event schedule failed")

    async def wake(self, event_id: int) -> None:
        """The scheduler's job: settle one event again (its next slot is due)."""
        try:
            async with self._lock:
                await self._settle(event_id, self.services.clock())
        except Exception:
            log.exception("scheduled posts for event %s failed", event_id)

    # -- deciding ---------------------------------------------------------------------------

    async def _live_event_ids(self, now: datetime) -> list[int]:
        settings = self.services.settings
        cutoff = now - LONGEST_EVENT - settings.feedback_delay - settings.feedback_window
        unfinished = select(EventPost.event_id).where(EventPost.state.in_((PENDING, SENDING)))
        query = select(CalendarEvent.id).where(
            or_(
                (CalendarEvent.starts_at > cutoff) & (CalendarEvent.status == SCHEDULED),
                CalendarEvent.id.in_(unfinished),
            )
        )
        async with self.services.db.sessions() as session:
            return list(await session.scalars(query.order_by(CalendarEvent.starts_at)))

    async def _settle(self, event_id: int, now: datetime) -> bool:
        """Post what is due for this event, skip what is stale; True if a wake-up is set."""
        settings = self.services.settings
        async with self.services.db.sessions() as session:
            event = await session.get(CalendarEvent, event_id)
            rows = list(
                await session.scalars(select(EventPost).where(EventPost.event_id == event_id))
            )
        if event is None:
            return False
        window = Window(event.starts_at, event_end(event), settings.feedback_window)
        slots = (
            event_slots(
                event.starts_at,
                event.minutes,
                settings.announce_before,
                settings.feedback_delay,
                settings.tz,
            )
            if event.status == SCHEDULED
            else []
        )
        current = {slot.key for slot in slots}
        confirmed = True
        for row in rows:  # notices queued by a change, and posts of an outdated schedule
            if row.state not in (PENDING, SENDING) or row.slot in current:
                continue
            notice = row.kind in (SlotKind.CANCEL, SlotKind.MOVE)
            if notice and relevant(SlotKind(row.kind), row.due_at, now, window):
                confirmed &= await self._post(event, row)
            else:
                await self._mark(row.id, SKIPPED)
        wake_at: datetime | None = None
        for room in list(self.rooms):
            settled = {r.slot for r in rows if r.room_id == room and r.state in (SENT, SKIPPED)}
            decision = plan(slots, settled, now, window)
            for slot in decision.skip:
                await self._claim(event, slot, room, SKIPPED)
            for slot in decision.post:
                confirmed &= await self._post(event, await self._claim(event, slot, room, SENDING))
            if decision.wake_at and (wake_at is None or decision.wake_at < wake_at):
                wake_at = decision.wake_at
        if not confirmed:  # the same transaction id again soon: posted at most once
            retry = now + RETRY_UNCONFIRMED
            wake_at = retry if wake_at is None else min(wake_at, retry)
        if wake_at is None:
            return False
        self.scheduler.add_job(
            self.wake,
            "date",
            run_date=wake_at,
            args=[event_id],
            id=job_id(event_id),
            replace_existing=True,
        )
        return True

    # -- the record ---------------------------------------------------------------------------

    async def _claim(self, event: CalendarEvent, slot: Slot, room: RoomId, state: str) -> EventPost:
        """The slot's row for this room, committed with `state` before anything is sent."""
        async with self.services.db.session() as session:
            row = await session.scalar(
                select(EventPost).where(
                    EventPost.event_id == event.id,
                    EventPost.slot == slot.key,
                    EventPost.room_id == room,
                )
            )
            if row is None:
                announced = await session.scalar(
                    select(EventPost.id).where(
                        EventPost.event_id == event.id,
                        EventPost.room_id == room,
                        EventPost.kind.in_(ANNOUNCING),
                        EventPost.state.in_((SENDING, SENT)),
                    )
                )
                row = EventPost(
                    event_id=event.id,
                    slot=slot.key,
                    kind=slot.kind.value,
                    room_id=room,
                    txn_id=txn_id(event.id, event.created_at, slot.key, room),
                    with_ics=slot.kind.value in ANNOUNCING and announced is None,
                    due_at=slot.due,
                )
                session.add(row)
            elif row.state == SENDING and state == SENDING:
                log.info("resending unconfirmed %s of event %s to %s", slot.key, event.id, room)
            row.state = state
        return row

    async def _mark(self, row_id: int, state: str, matrix_event_id: str | None = None) -> None:
        async with self.services.db.session() as session:
            row = await session.get(EventPost, row_id)
            if row is not None:
                row.state = state
                if matrix_event_id:
                    row.matrix_event_id = matrix_event_id
                    row.sent_at = self.services.clock()

    async def _post(self, event: CalendarEvent, row: EventPost) -> bool:
        """Send one post; False if the homeserver did not confirm it (tried again later)."""
        if row.state == PENDING:
            await self._mark(row.id, SENDING)
        room = RoomId(row.room_id)
        sent = await self.transport.send(room, self._compose(event, row), txn_id=row.txn_id)
        if sent is None:
            log.error(
                "post %s of event %s to %s unconfirmed; retried later", row.slot, event.id, room
            )
            return False
        if row.kind == SlotKind.FEEDBACK:
            # known before the bot's own reactions, so a member's quick reaction counts
            await self._mark(row.id, SENDING, sent)
            for key in RATING_KEYS:
                await self.transport.react(room, sent, key)
        await self._mark(row.id, SENT, sent)
        return True

    # -- the words ----------------------------------------------------------------------------

    def _compose(self, event: CalendarEvent, row: EventPost) -> Reply:
        settings, texts = self.services.settings, self.services.texts
        lang = settings.language
        values = {
            "id": event.id,
            "kind": texts.get(f"events.kind.{event.kind}", lang),
            "title": event.title,
            "when": local_when(texts, lang, event.starts_at, settings.tz),
            "lead": lead_text(texts, lang, event.starts_at - self.services.clock()),
        }
        lines = [texts.get(f"events.post.{row.kind}", lang, **values)]
        if event.link and row.kind in ANNOUNCING:
            lines.append(texts.get("events.post.link", lang, link=event.link))
        attachment = None
        if row.with_ics:
            lines.append(texts.get("events.post.calendar", lang))
            attachment = Attachment(
                f"termin-{event.id}.ics",
                "text/calendar",
                calendar_ics([event], settings.server_name, self.services.clock()),
            )
        return Reply("\n".join(lines), attachment=attachment)


def job_id(event_id: int) -> str:
    return f"event-{event_id}"


def event_end(event: CalendarEvent) -> datetime:
    return event.starts_at + timedelta(minutes=event.minutes)


async def queue_notice(
    session: AsyncSession, event: CalendarEvent, kind: SlotKind, now: datetime
) -> int:
    """Queue a cancel or move notice for every room the event was announced in.

    It is written in the same transaction as the change, so it is posted even if the bot
    stops right after; returns the number of rooms.
    """
    rooms = set(
        await session.scalars(
            select(EventPost.room_id).where(
                EventPost.event_id == event.id,
                EventPost.kind.in_(ANNOUNCING),
                EventPost.state.in_((SENDING, SENT)),
            )
        )
    )
    slot = "cancel" if kind == SlotKind.CANCEL else f"move-{event.sequence}"
    for room in sorted(rooms):
        session.add(
            EventPost(
                event_id=event.id,
                slot=slot,
                kind=kind.value,
                room_id=room,
                txn_id=txn_id(event.id, event.created_at, slot, room),
                state=PENDING,
                due_at=now,
            )
        )
    return len(rooms)


# -- the calendar -----------------------------------------------------------------------------


def calendar_ics(events: Sequence[CalendarEvent], server_name: str, now: datetime) -> bytes:
    """RFC 5545: one VEVENT per event (each occurrence of a series is its own event).
    Cancelled events are listed as CANCELLED, without their link."""
    calendar = Calendar()
    calendar.add("prodid", "-//initiative-bot//Veranstaltungen//DE")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Webinare und Veranstaltungen")
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
    return calendar.to_ical()


def calendar_route(services: Services) -> Route:
    """GET /webinars.ics: upcoming events and those of the last 30 days, cancelled included."""

    async def feed(_: web.Request) -> web.Response:
        now = services.clock()
        async with services.db.sessions() as session:
            events = await session.scalars(
                select(CalendarEvent)
                .where(CalendarEvent.starts_at > now - CALENDAR_PAST)
                .order_by(CalendarEvent.starts_at)
            )
            body = calendar_ics(list(events), services.settings.server_name, now)
        return web.Response(
            body=body,
            headers={
                "Content-Type": "text/calendar; charset=utf-8",
                "Content-Disposition": 'inline; filename="webinars.ics"',
            },
        )

    return "/webinars.ics", feed
