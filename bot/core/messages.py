"""What passes between adapters, dispatcher and handlers: ids, incoming events, replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import NewType

from bot.core.render import Markdown, Rendered, escape, render

UserId = NewType("UserId", str)
RoomId = NewType("RoomId", str)
EventId = NewType("EventId", str)


def server_of(user_id: str) -> str:
    """How logs name a member: by their server only (logs hold no member's Matrix ID)."""
    return "a user of :" + user_id.partition(":")[2] if ":" in user_id else "an unknown user"


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
    """A file sent with a reply: an image (`image/...`, shown in the room, `description` its
    text for those who cannot see it) or any other file."""

    filename: str
    mimetype: str
    data: bytes
    description: str | None = None

    @property
    def is_image(self) -> bool:
        return self.mimetype.startswith("image/")


@dataclass(frozen=True)
class Reply:
    """One message: written once in Markdown, rendered to `text` (the body) and `html`; the
    files that go with it (each its own event); whom it notifies: `mentions`, and the whole
    room when `mention_room` (only where a coordinator asked and the bot may)."""

    markdown: Markdown
    attachments: tuple[Attachment, ...] = ()
    mentions: tuple[UserId, ...] = field(default=())
    mention_room: bool = False

    @classmethod
    def plain(cls, text: str) -> Reply:
        """A reply showing `text` exactly as written."""
        return cls(escape(text))

    @cached_property
    def _rendered(self) -> Rendered:
        return render(self.markdown)

    @property
    def text(self) -> str:
        return self._rendered.text

    @property
    def html(self) -> str:
        return self._rendered.html
