"""From sync batches to handled events: gap filling by position, one ordered queue per room,
and the sync position that only moves past what has been handled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nio import RoomMemberEvent, RoomMessagesError, RoomMessagesResponse

from bot.core.messages import RoomId

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # events per /messages page
MAX_GAP_PAGES = 20  # one gap fill reads at most this many pages (2,000 events)
ROOM_QUEUE = 1_000  # events waiting per room before the sync loop waits for the room
REMEMBERED = 5_000  # event ids per room remembered as already queued

Fetch = Callable[[str, str], Awaitable[RoomMessagesResponse | RoomMessagesError]]
Seen = Callable[[RoomId, list[str]], Awaitable[set[str]]]
Handle = Callable[[RoomId, Any], Awaitable[None]]


class GapError(Exception):
    """The homeserver did not hand out the missing events; the batch must be read again."""


@dataclass
class Gap:
    events: list[Any]  # oldest first
    capped: bool  # stopped at MAX_GAP_PAGES before reaching a known event


async def fill_gap(
    fetch: Fetch,
    room_id: RoomId,
    prev_batch: str,
    seen: Seen,
    own_user: str,
    max_pages: int = MAX_GAP_PAGES,
) -> Gap:
    """The events a limited timeline left out: paged back from its `prev_batch` until the first
    event already seen (handled or queued), the bot's own join, or the room's beginning."""
    older: list[Any] = []
    token = prev_batch
    for _ in range(max_pages):
        page = await fetch(room_id, token)
        if not isinstance(page, RoomMessagesResponse):
            raise GapError(f"{room_id}: {getattr(page, 'message', page)}")
        known = await seen(room_id, [event.event_id for event in page.chunk])
        for event in page.chunk:  # newest first
            if event.event_id in known or _own_join(event, own_user):
                return Gap(older[::-1], capped=False)
            older.append(event)
        if not page.chunk or not page.end:
            return Gap(older[::-1], capped=False)
        token = page.end
    return Gap(older[::-1], capped=True)


def _own_join(event: Any, user_id: str) -> bool:
    return (
        isinstance(event, RoomMemberEvent)
        and event.state_key == user_id
        and event.membership == "join"
        and event.prev_membership != "join"
    )


@dataclass
class Batch:
    """One sync response: its `token` may become the resume point once all its events are done."""

    token: str
    outstanding: int = 0
    sealed: bool = False
    abandoned: bool = False  # not read completely: never a resume point

    @property
    def done(self) -> bool:
        return self.sealed and self.outstanding == 0


@dataclass
class Progress:
    """The sync token to resume from after a restart: the newest batch that, with every batch
    before it, has been handled completely. Events after it are read again (and skipped by
    their handled mark), so nothing is lost and nothing is done twice."""

    committed: str | None = None
    _open: list[Batch] = field(default_factory=list)

    def open(self, token: str) -> Batch:
        batch = Batch(token)
        self._open.append(batch)
        return batch

    def seal(self, batch: Batch) -> None:
        batch.sealed = True
        self._advance()

    def abandon(self, batch: Batch) -> None:
        """The batch failed half-way and will be read again; what it queued still runs."""
        batch.abandoned = True
        self.seal(batch)

    def finish(self, batch: Batch) -> None:
        batch.outstanding -= 1
        self._advance()

    def _advance(self) -> None:
        while self._open and self._open[0].done:
            batch = self._open.pop(0)
            if not batch.abandoned:
                self.committed = batch.token


class RoomQueues:
    """One worker per room with a bounded queue: a room's events are handled one after another
    in timeline order, rooms proceed independently, and a full queue makes the producer (the
    sync loop) wait instead of holding unbounded memory."""

    def __init__(self, handle: Handle, progress: Progress, size: int = ROOM_QUEUE) -> None:
        self._handle = handle
        self._progress = progress
        self._size = size
        self._queues: dict[RoomId, asyncio.Queue[tuple[Any, Batch]]] = {}
        self._workers: dict[RoomId, asyncio.Task[None]] = {}
        self._remembered: dict[RoomId, OrderedDict[str, None]] = {}
        self._closing = False
        self._unfinished = 0  # queued or being handled, in all rooms
        self._idle = asyncio.Event()
        self._idle.set()

    def queued(self) -> int:
        return sum(queue.qsize() for queue in self._queues.values())

    async def wait_idle(self, seconds: float) -> None:
        """Until every room's events are handled, or `seconds` at most."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), seconds)

    def remembered(self, room_id: RoomId, event_ids: list[str]) -> set[str]:
        """Those of `event_ids` that were queued in this room (recently)."""
        known: Mapping[str, None] = self._remembered.get(room_id, {})
        return {event_id for event_id in event_ids if event_id in known}

    async def put(self, room_id: RoomId, events: list[Any], batch: Batch) -> None:
        """Queue `events` of one room (oldest first); events queued before are skipped."""
        remembered = self._remembered.setdefault(room_id, OrderedDict())
        queue = self._queues.setdefault(room_id, asyncio.Queue(self._size))
        for event in events:
            if event.event_id in remembered:
                continue
            remembered[event.event_id] = None
            if len(remembered) > REMEMBERED:
                remembered.popitem(last=False)
            batch.outstanding += 1
            self._unfinished += 1
            self._idle.clear()
            self._ensure_worker(room_id)
            await queue.put((event, batch))

    def _ensure_worker(self, room_id: RoomId) -> None:
        worker = self._workers.get(room_id)
        if worker is None or worker.done():
            self._workers[room_id] = asyncio.create_task(self._work(room_id))

    async def _work(self, room_id: RoomId) -> None:
        queue = self._queues[room_id]
        while not queue.empty() and not self._closing:
            event, batch = queue.get_nowait()
            try:
                await self._handle(room_id, event)
            except Exception:
                log.exception("event %s in %s could not be handled", event.event_id, room_id)
            finally:
                self._progress.finish(batch)
                self._unfinished -= 1
                if not self._unfinished:
                    self._idle.set()

    async def close(self, grace: float) -> None:
        """Finish the events being handled (up to `grace` seconds), drop the rest: they are
        after the committed sync position and come again at the next start."""
        self._closing = True
        workers = [w for w in self._workers.values() if not w.done()]
        if workers:
            _, pending = await asyncio.wait(workers, timeout=grace)
            for worker in pending:
                worker.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
