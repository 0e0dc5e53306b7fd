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
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import render as md
from bot.core.i18n import lead_text, local_when
from bot.core.messages import Attachment, Reply, RoomId
from bot.core.services import Core
from bot.core.transport import CountsMembers, Transport
from bot.events.ical import calendar_ics, event_end
from bot.events.slots import Slot, SlotKind, Window, event_slots, plan, relevant, txn_id
from storage import events
from storage.events import ANNOUNCING, PENDING, SCHEDULED, SENDING, SENT, SKIPPED
from storage.models import CalendarEvent, EventPost

log = logging.getLogger(__name__)

RATING_KEYS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
LONGEST_EVENT = timedelta(days=7)
RETRY_UNCONFIRMED = timedelta(minutes=1)  # a post the homeserver did not confirm is tried again
STOP_GRACE = 10.0  # seconds a post in flight may take to be confirmed at shutdown
WAKE = "event-"  # job ids of the wake-ups: event-<id>


class Announcer:
    """Posts each (event, slot, room) at most once, across restarts and crashes."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._lock = asyncio.Lock()  # one settle at a time: no post is attempted twice at once

    async def rebuild(self, transport: Transport) -> None:
        """Settle every live event now and schedule each one's next wake-up."""
        async with self._lock:
            now = self.core.clock()
            settings = self.core.settings
            cutoff = now - LONGEST_EVENT - settings.feedback_delay - settings.feedback_window
            async with self.core.db.read() as session:
                live = await events.live_event_ids(session, cutoff)
            wanted = set()
            for event_id in live:
                if await self._settle(event_id, now, transport):
                    wanted.add(job_id(event_id))
            for stale in self.core.jobs.ids(WAKE) - wanted:
                self.core.jobs.remove(stale)

    async def wake(self, event_id: int, transport: Transport) -> None:
        """The job of an event's wake-up: settle it again (its next slot is due)."""
        async with self._lock:
            await self._settle(event_id, self.core.clock(), transport)

    async def stop(self) -> None:
        """Let a post in flight be confirmed rather than resent at the next start."""
        try:
            async with asyncio.timeout(STOP_GRACE), self._lock:
                pass
        except TimeoutError:
            log.warning("a scheduled post was still in flight at shutdown")

    # -- deciding ---------------------------------------------------------------------------

    async def _settle(self, event_id: int, now: datetime, transport: Transport) -> bool:
        """Post what is due for this event, skip what is stale; True if a wake-up is set."""
        settings = self.core.settings
        async with self.core.db.read() as session:
            event, rows = await events.event_with_posts(session, event_id)
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
                confirmed &= await self._post(event, row, transport)
            else:
                await self._mark(row.id, SKIPPED)
        wake_at: datetime | None = None
        for room in transport.announcement_rooms():
            settled = {r.slot for r in rows if r.room_id == room and r.state in (SENT, SKIPPED)}
            decision = plan(slots, settled, now, window)
            for slot in decision.skip:
                await self._claim(event, slot, room, SKIPPED)
            for slot in decision.post:
                row = await self._claim(event, slot, room, SENDING)
                confirmed &= await self._post(event, row, transport)
            if decision.wake_at and (wake_at is None or decision.wake_at < wake_at):
                wake_at = decision.wake_at
        if not confirmed:  # the same transaction id again soon: posted at most once
            retry = now + RETRY_UNCONFIRMED
            wake_at = retry if wake_at is None else min(wake_at, retry)
        if wake_at is None:
            return False
        self.core.jobs.at(job_id(event_id), wake_at, lambda: self.wake(event_id, transport))
        return True

    # -- the record ---------------------------------------------------------------------------

    async def _claim(self, event: CalendarEvent, slot: Slot, room: RoomId, state: str) -> EventPost:
        """The slot's row for this room, committed with `state` before anything is sent."""
        txn = txn_id(event.id, event.created_at, slot.key, room)
        async with self.core.db.transaction() as session:
            row, resent = await events.claim(
                session, event, slot.key, slot.kind.value, room, slot.due, txn, state
            )
        if resent and state == SENDING:
            log.info("resending unconfirmed %s of event %s to %s", slot.key, event.id, room)
        return row

    async def _mark(
        self,
        row_id: int,
        state: str,
        matrix_event_id: str | None = None,
        members: int | None = None,
    ) -> None:
        async with self.core.db.transaction() as session:
            await events.mark(session, row_id, state, matrix_event_id, self.core.clock(), members)

    async def _post(self, event: CalendarEvent, row: EventPost, transport: Transport) -> bool:
        """Send one post; False if the homeserver did not confirm it (tried again later)."""
        if row.state == PENDING:
            await self._mark(row.id, SENDING)
        room = RoomId(row.room_id)
        mention_room = (
            event.mention_room
            and row.kind != SlotKind.FEEDBACK
            and transport.may_mention_room(room)
        )
        reply = self._compose(event, row, mention_room=mention_room)
        sent = await transport.send(room, reply, txn_id=row.txn_id)
        if sent is None:
            log.error(
                "post %s of event %s to %s unconfirmed; retried later", row.slot, event.id, room
            )
            return False
        if row.kind == SlotKind.FEEDBACK:
            # known before the bot's own reactions, so a member's quick reaction counts; with
            # the room's members at this time (the response rate of the funder report)
            members = (
                await transport.joined_members([room])
                if isinstance(transport, CountsMembers)
                else None
            )
            await self._mark(row.id, SENDING, sent, members)
            for key in RATING_KEYS:
                await transport.react(room, sent, key)
        await self._mark(row.id, SENT, sent)
        return True

    # -- the words ----------------------------------------------------------------------------

    def _compose(self, event: CalendarEvent, row: EventPost, *, mention_room: bool) -> Reply:
        """The post's words and calendar file; with `mention_room`, it starts with "@room" and
        notifies everyone in the room."""
        settings, texts = self.core.settings, self.core.texts
        lang = settings.language
        values = {
            "id": event.id,
            "kind": texts.get(f"events.kind.{event.kind}", lang),
            "title": event.title,
            "when": local_when(lang, event.starts_at, settings.tz),
            "lead": lead_text(texts, lang, event.starts_at, self.core.clock(), settings.tz),
        }
        lines = [texts.get(f"events.post.{row.kind}", lang, **values)]
        if mention_room:
            lines[0] = md.Markdown(f"{md.escape('@room')} {lines[0]}")
        if event.link and row.kind in ANNOUNCING:
            lines.append(texts.get("events.post.link", lang, link=md.escape(event.link)))
        attachments: tuple[Attachment, ...] = ()
        if row.with_ics:
            lines.append(texts.get("events.post.calendar", lang))
            name = texts.plain("events.calendar.name", lang)
            ics = calendar_ics([event], name, settings.server_name, self.core.clock())
            attachments = (Attachment(f"termin-{event.id}.ics", "text/calendar", ics),)
        return Reply(md.lines(lines), attachments=attachments, mention_room=mention_room)


def job_id(event_id: int) -> str:
    return f"{WAKE}{event_id}"


async def queue_notice(
    session: AsyncSession, event: CalendarEvent, kind: SlotKind, now: datetime
) -> int:
    """Queue a cancel or move notice for every room the event was announced in."""
    slot = "cancel" if kind == SlotKind.CANCEL else f"move-{event.sequence}"

    def txn(room: str) -> str:
        return txn_id(event.id, event.created_at, slot, room)

    return await events.queue_notice(session, event, kind.value, slot, txn, now)
