"""Test doubles shared by the fast tests: a transport that records what the bot sends, a
conversation that talks to the real dispatcher through it, and a clock that tests set."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.core.dispatcher import Dispatcher
from bot.core.messages import EventId, Incoming, Reply, RoomId, UserId
from bot.core.transport import Transport


@dataclass(frozen=True)
class Sent:
    room_id: RoomId
    reply: Reply
    to: Incoming | None
    event_id: EventId


@dataclass
class RecordingTransport:
    """Records every post instead of sending it. Like Synapse, a second send with the same
    transaction id returns the first event id and posts nothing."""

    coordinators: set[UserId] = field(default_factory=set)
    refuse_longer_than: int | None = None  # like a homeserver refusing too large events
    rooms: list[RoomId] = field(default_factory=list)  # the joined announcement rooms
    sent: list[Sent] = field(default_factory=list)
    reactions: list[tuple[RoomId, EventId, str]] = field(default_factory=list)
    direct_rooms: dict[UserId, RoomId] = field(default_factory=dict)
    opens_direct: bool = True  # False: like a homeserver that refuses to create the room
    refuses: set[RoomId] = field(default_factory=set)  # rooms where every send fails
    down: bool = False  # like a homeserver that is unreachable: every send fails
    attempts: list[str] = field(default_factory=list)  # the transaction id of every try
    members: int | None = None  # joined members of the announcement rooms (None: not known)
    coordination: RoomId | None = None  # the joined coordination room
    names: dict[RoomId, str] = field(default_factory=dict)  # rooms' names
    left: set[tuple[RoomId, UserId]] = field(default_factory=set)  # members who left a room
    edits: list[tuple[RoomId, EventId, Reply]] = field(default_factory=list)
    may_ping: set[RoomId] = field(default_factory=set)  # rooms where the bot may notify all
    _by_txn: dict[str, EventId] = field(default_factory=dict)

    async def send(
        self,
        room_id: RoomId,
        reply: Reply,
        *,
        to: Incoming | None = None,
        txn_id: str | None = None,
    ) -> EventId | None:
        if txn_id is not None:
            self.attempts.append(txn_id)
            if txn_id in self._by_txn:
                return self._by_txn[txn_id]
        too_long = self.refuse_longer_than is not None and len(reply.text) > self.refuse_longer_than
        if self.down or too_long or room_id in self.refuses:
            return None
        event_id = EventId(f"$sent-{len(self.sent) + 1}")
        self.sent.append(Sent(room_id, reply, to, event_id))
        if txn_id is not None:
            self._by_txn[txn_id] = event_id
        return event_id

    async def react(self, room_id: RoomId, event_id: EventId, key: str) -> None:
        self.reactions.append((room_id, event_id, key))

    async def edit(
        self, room_id: RoomId, event_id: EventId, reply: Reply, *, txn_id: str | None = None
    ) -> EventId | None:
        """Records the edit (the same transaction id twice: once)."""
        if txn_id is not None:
            self.attempts.append(txn_id)
            if txn_id in self._by_txn:
                return self._by_txn[txn_id]
        if self.down or room_id in self.refuses:
            return None
        self.edits.append((room_id, event_id, reply))
        edit_id = EventId(f"$edit-{len(self.edits)}")
        if txn_id is not None:
            self._by_txn[txn_id] = edit_id
        return edit_id

    def coordination_room(self) -> RoomId | None:
        return self.coordination

    def room_name(self, room_id: RoomId) -> str | None:
        return self.names.get(room_id)

    async def present(self, room_id: RoomId, user_id: UserId) -> bool:
        return (room_id, user_id) not in self.left

    def shown(self, event_id: EventId) -> str:
        """The text of a post as it shows now (after its edits)."""
        text = next(s.reply.text for s in self.sent if s.event_id == event_id)
        for _, edited, reply in self.edits:
            if edited == event_id:
                text = reply.text
        return text

    def announcement_rooms(self) -> list[RoomId]:
        return list(self.rooms)

    async def announcement_power(self, user_id: UserId) -> int:
        return 100 if user_id in self.coordinators else 0

    def may_mention_room(self, room_id: RoomId) -> bool:
        return room_id in self.may_ping

    async def direct_room(self, user_id: UserId) -> RoomId | None:
        """The recorded direct chat, or a new one `!direct-<n>` (unless `opens_direct` is off)."""
        if user_id not in self.direct_rooms and self.opens_direct:
            self.direct_rooms[user_id] = RoomId(f"!direct-{len(self.direct_rooms) + 1}")
        return self.direct_rooms.get(user_id)

    async def joined_members(self, rooms: list[RoomId]) -> int | None:
        return self.members if rooms else None

    def lose_last(self) -> None:
        """Forget the last post, as if it never reached the homeserver."""
        lost = self.sent.pop()
        self._by_txn = {txn: eid for txn, eid in self._by_txn.items() if eid != lost.event_id}

    def texts(self, room_id: RoomId | None = None) -> list[str]:
        return [s.reply.text for s in self.sent if room_id is None or s.room_id == room_id]


MEMBER = UserId("@member:localhost")
COORDINATOR = UserId("@coord:localhost")
ROOM = RoomId("!room:localhost")


class Clock:
    """The services' clock, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Conversation:
    """Sends lines as one user in one room and returns the reply bodies."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.transport: Transport = RecordingTransport()
        self._ids = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:6]

    async def __call__(
        self,
        body: str,
        *,
        user: UserId = MEMBER,
        room: RoomId = ROOM,
        direct: bool = True,
        **extra: Any,
    ) -> list[str]:
        late = extra.pop("late", False)
        replies = await self.send(body, user=user, room=room, direct=direct, late=late, **extra)
        return [r.text for r in replies]

    async def send(
        self,
        body: str,
        *,
        user: UserId,
        room: RoomId,
        direct: bool,
        late: bool = False,
        **extra: Any,
    ) -> list[Reply]:
        extra.setdefault("direct_chat", direct)  # `direct` means a direct chat unless told
        msg = Incoming(
            room_id=room,
            sender=user,
            event_id=EventId(f"$test-{self._prefix}-{next(self._ids)}"),
            body=body,
            sent_at=extra.pop("sent_at", None) or datetime.now(UTC),
            direct=direct,
            **extra,
        )
        return await self.dispatcher.handle(msg, self.transport, record=True, late=late)
