"""Test doubles shared by the fast tests: a transport that records what the bot sends."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.messages import EventId, Incoming, Reply, RoomId, UserId


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
    _by_txn: dict[str, EventId] = field(default_factory=dict)

    async def send(
        self,
        room_id: RoomId,
        reply: Reply,
        *,
        to: Incoming | None = None,
        txn_id: str | None = None,
    ) -> EventId | None:
        if txn_id is not None and txn_id in self._by_txn:
            return self._by_txn[txn_id]
        too_long = self.refuse_longer_than is not None and len(reply.text) > self.refuse_longer_than
        if too_long or room_id in self.refuses:
            return None
        event_id = EventId(f"$sent-{len(self.sent) + 1}")
        self.sent.append(Sent(room_id, reply, to, event_id))
        if txn_id is not None:
            self._by_txn[txn_id] = event_id
        return event_id

    async def react(self, room_id: RoomId, event_id: EventId, key: str) -> None:
        self.reactions.append((room_id, event_id, key))

    def announcement_rooms(self) -> list[RoomId]:
        return list(self.rooms)

    async def announcement_power(self, user_id: UserId) -> int:
        return 100 if user_id in self.coordinators else 0

    async def direct_room(self, user_id: UserId) -> RoomId | None:
        """The recorded direct chat, or a new one `!direct-<n>` (unless `opens_direct` is off)."""
        if user_id not in self.direct_rooms and self.opens_direct:
            self.direct_rooms[user_id] = RoomId(f"!direct-{len(self.direct_rooms) + 1}")
        return self.direct_rooms.get(user_id)

    def texts(self, room_id: RoomId | None = None) -> list[str]:
        return [s.reply.text for s in self.sent if room_id is None or s.room_id == room_id]
