"""Core value types shared by adapters, dispatcher and handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Literal, NewType, Protocol

UserId = NewType("UserId", str)
RoomId = NewType("RoomId", str)
EventId = NewType("EventId", str)
Lang = Literal["de", "en", "de-simple"]
LANGS: tuple[Lang, ...] = ("de", "en", "de-simple")


def server_of(user_id: str) -> str:
    """How logs name a member: by their server only (logs hold no member's Matrix ID)."""
    return "a user of :" + user_id.partition(":")[2] if ":" in user_id else "an unknown user"


class Role(IntEnum):
    MEMBER = 0
    COORDINATOR = 1


@dataclass(frozen=True)
class Incoming:
    """A text message addressed to the bot or containing a command."""

    room_id: RoomId
    sender: UserId
    event_id: EventId
    body: str
    sent_at: datetime  # the sender's claim (origin_server_ts): never orders or times anything
    direct: bool = False  # a direct conversation, or the bot was mentioned
    thread_root: EventId | None = None
    reply_to: EventId | None = None  # the event this message replies to
    direct_chat: bool = False  # the room holds only the sender and the bot: private answers fit


@dataclass(frozen=True)
class Reaction:
    room_id: RoomId
    sender: UserId
    event_id: EventId
    reacts_to: EventId
    key: str
    sent_at: datetime  # the sender's claim; ratings are timed by the bot's clock instead


@dataclass(frozen=True)
class Redaction:
    room_id: RoomId
    sender: UserId
    event_id: EventId
    redacts: EventId


@dataclass(frozen=True)
class Attachment:
    filename: str
    mimetype: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    text: str
    html: str | None = None
    attachment: Attachment | None = None
    mentions: tuple[UserId, ...] = field(default=())


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

    async def announcement_power(self, user_id: UserId) -> int:
        """The user's highest power level in the announcement rooms."""
        ...

    async def direct_room(self, user_id: UserId) -> RoomId | None:
        """The direct chat of the bot with `user_id`, opened if there is none yet; None when
        none can be opened (the answer then must not go anywhere else)."""
        ...


class UserError(Exception):
    """A problem the user can fix; `text` is what they see."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class UsageError(Exception):
    """Wrong arguments: the user sees `detail` (if any) and the command's usage line."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "usage")
        self.detail = detail
