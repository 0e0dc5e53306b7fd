"""Where replies and posts go: the protocol every adapter (Matrix, shell) implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.core.messages import EventId, Incoming, Reply, RoomId, UserId


class Transport(Protocol):
    """Where replies and posts go: Matrix or the terminal."""

    async def send(
        self,
        room_id: RoomId,
        reply: Reply,
        *,
        to: Incoming | None = None,
        txn_id: str | None = None,
    ) -> EventId | None: ...

    async def react(self, room_id: RoomId, event_id: EventId, key: str) -> None: ...

    async def edit(
        self, room_id: RoomId, event_id: EventId, reply: Reply, *, txn_id: str | None = None
    ) -> EventId | None:
        """Replace the text of the bot's own post `event_id` (an edit); None if refused."""
        ...

    def coordination_room(self) -> RoomId | None:
        """The coordination room, once joined (None: no handoff, as in the shell)."""
        ...

    def room_name(self, room_id: RoomId) -> str | None:
        """The room's own name or alias (None when it has neither: never members' names)."""
        ...

    async def present(self, room_id: RoomId, user_id: UserId) -> bool:
        """Whether `user_id` is (still) in the room; True when that is not known."""
        ...

    def announcement_rooms(self) -> list[RoomId]:
        """The announcement rooms, as far as they are joined (none in the shell)."""
        ...

    async def announcement_power(self, user_id: UserId) -> int:
        """The user's highest power level in the announcement rooms."""
        ...

    def may_mention_room(self, room_id: RoomId) -> bool:
        """Whether the bot's power level lets it notify the whole room (@room)."""
        ...

    async def direct_room(self, user_id: UserId) -> RoomId | None:
        """The direct chat of the bot with `user_id`, opened if there is none yet; None when
        none can be opened (the answer then must not go anywhere else)."""
        ...


@runtime_checkable
class CountsMembers(Protocol):
    """A transport that knows how many members the rooms have (Matrix; not the shell)."""

    async def joined_members(self, rooms: list[RoomId]) -> int | None:
        """Distinct joined members of `rooms` other than the bot (None if none is known)."""
        ...
