"""Sending to Matrix: replies as m.notice contents within the event size, one ordered queue
per room that waits out rate limits, uploads, direct chats."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from html import escape
from typing import Any
from urllib.parse import quote

from nio import (
    AsyncClient,
    DirectRoomsResponse,
    RoomCreateResponse,
    RoomPreset,
    RoomSendError,
    UploadResponse,
)
from nio.exceptions import LocalProtocolError

from bot.adapters.matrix.client_api import NETWORK_ERRORS
from bot.core.messages import Attachment, EventId, Incoming, Reply, RoomId, UserId, server_of
from storage import members
from storage.db import Database

log = logging.getLogger(__name__)

CONTENT_BUDGET = 40_000  # bytes of one message's content: with encryption (base64 of the JSON,
# a third more) and the event's envelope, well under Matrix's 65,536-byte event limit
DIRECT_WAIT = 15.0  # seconds a new direct chat may take to arrive in the sync
MEGOLM = "m.megolm.v1.aes-sha2"


def is_direct_chat(
    client: AsyncClient, direct_rooms: dict[RoomId, UserId], room_id: RoomId, user_id: UserId
) -> bool:
    """A room recorded as direct with `user_id` that nobody else is in (or invited to): what
    is said there stays between the member and the bot (a group of two is not enough, as
    later members could read its history)."""
    if direct_rooms.get(room_id) != user_id:
        return False
    room = client.rooms.get(room_id)
    return room is not None and set(room.users) == {client.user_id, user_id}


def message_contents(reply: Reply, to: Incoming | None) -> list[dict[str, Any]]:
    """The reply as m.notice contents with escaped HTML, as rich replies (inside the thread if
    there is one). A reply too large for one event is split at line breaks into several, each
    within CONTENT_BUDGET encoded bytes (they then carry the plain text as HTML)."""
    whole = _content(reply.text, reply.html, reply, to)
    if encoded_size(whole) <= CONTENT_BUDGET:
        return [whole]
    parts = _split(reply.text, CONTENT_BUDGET - encoded_size(_content("", "", reply, to)))
    return [
        _content(part, None, reply if number == 0 else None, to)
        for number, part in enumerate(parts)
    ]


def encoded_size(content: dict[str, Any]) -> int:
    """Bytes of the content as sent, with non-ASCII escaped (the larger encoding); an event
    may hold 65,536 bytes in all, and encryption makes a content a third larger."""
    return len(json.dumps(content, ensure_ascii=True))


def _split(text: str, budget: int) -> list[str]:
    """`text` in pieces whose body and escaped HTML fit `budget` bytes together; split at
    line breaks, a line too long for one piece at a space or anywhere."""

    def cost(piece: str) -> int:
        html = escape(piece).replace("\n", "<br>")
        return len(json.dumps(piece)) + len(json.dumps(html))

    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if cost(candidate) <= budget:
            current = candidate
            continue
        if current:
            parts.append(current)
        while cost(line) > budget:  # one line too long: cut it by bisection
            low, high = 1, len(line)
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (middle, high) if cost(line[:middle]) <= budget else (low, middle - 1)
            cut = line.rfind(" ", 0, low) if " " in line[:low] else low
            parts.append(line[: cut or low])
            line = line[cut or low :].lstrip()
        current = line
    if current:
        parts.append(current)
    return parts


def _content(
    text: str, html: str | None, mentioning: Reply | None, to: Incoming | None
) -> dict[str, Any]:
    """One m.notice; it mentions the people `mentioning` names (and the room if it asks), and
    the sender of the message it replies to."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": html or escape(text).replace("\n", "<br>"),
    }
    named = list(mentioning.mentions) if mentioning else []
    if to is not None:
        named.append(to.sender)
        in_reply_to = {"event_id": to.event_id}
        if to.thread_root:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": to.thread_root,
                "is_falling_back": False,
                "m.in_reply_to": in_reply_to,
            }
        else:
            content["m.relates_to"] = {"m.in_reply_to": in_reply_to}
    content["m.mentions"] = {"user_ids": sorted(set(named))}
    if mentioning and mentioning.mention_room:
        content["m.mentions"]["room"] = True
    return content


class MatrixTransport:
    """Sends through one lock per room, so posts keep their order and wait out rate limits.

    Knows the direct chats (rooms recorded as direct with one member: from an `is_direct`
    invite, or opened by the bot itself) and opens one when a private answer needs it."""

    def __init__(
        self,
        client: AsyncClient,
        announcement_rooms: list[RoomId],
        db: Database | None = None,
        *,
        encrypt_direct: bool = False,
        direct_rooms: dict[RoomId, UserId] | None = None,
    ) -> None:
        self.client = client
        self._announcement_rooms = announcement_rooms
        self.db = db
        self.encrypt_direct = encrypt_direct
        # room -> the member it is direct with; shared with MatrixBot, which learns of invites
        self.direct_rooms: dict[RoomId, UserId] = {} if direct_rooms is None else direct_rooms
        self._locks: dict[RoomId, asyncio.Lock] = {}
        self._opening = asyncio.Lock()
        self._coordination_room: RoomId | None = None

    def announcement_rooms(self) -> list[RoomId]:
        """The announcement rooms the bot has joined (known after the first sync)."""
        return list(self._announcement_rooms)

    def set_announcement_rooms(self, rooms: list[RoomId]) -> None:
        self._announcement_rooms = list(rooms)

    def coordination_room(self) -> RoomId | None:
        """The coordination room once joined (known after the first sync)."""
        return self._coordination_room

    def set_coordination_room(self, room: RoomId | None) -> None:
        self._coordination_room = room

    def room_name(self, room_id: RoomId) -> str | None:
        """The room's name or canonical alias; never the names nio makes up from members."""
        room = self.client.rooms.get(room_id)
        return (room.name or room.canonical_alias) if room is not None else None

    async def present(self, room_id: RoomId, user_id: UserId) -> bool:
        room = self.client.rooms.get(room_id)
        return room is None or user_id in room.users

    async def edit(
        self, room_id: RoomId, event_id: EventId, reply: Reply, *, txn_id: str | None = None
    ) -> EventId | None:
        """An m.replace edit of the bot's own message: the new content, and a fallback body
        for clients that show edits as messages. It notifies nobody again."""
        new = message_contents(Reply(reply.markdown), None)[0]
        new.pop("m.mentions", None)
        content = {
            **new,
            "body": f"* {new['body']}",
            "formatted_body": f"* {new['formatted_body']}",
            "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
            "m.mentions": {},
        }
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            return await self._send(room_id, "m.room.message", content, txn_id)

    async def send(
        self,
        room_id: RoomId,
        reply: Reply,
        *,
        to: Incoming | None = None,
        txn_id: str | None = None,
    ) -> EventId | None:
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            for number, file in enumerate(reply.attachments):  # each file its own event, first
                file_content = await self._upload(room_id, file)
                if file_content is None:
                    return None
                file_txn = txn_id and txn_id + ("-f" if number == 0 else f"-f{number}")
                await self._send(room_id, "m.room.message", file_content, file_txn)
            first: EventId | None = None
            for number, content in enumerate(message_contents(reply, to)):
                part_txn = txn_id if number == 0 or txn_id is None else f"{txn_id}-{number}"
                sent = await self._send(room_id, "m.room.message", content, part_txn)
                if sent is None:
                    return None  # the rest would make no sense without this part
                first = first or sent
            return first

    async def react(self, room_id: RoomId, event_id: EventId, key: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            await self._send(room_id, "m.reaction", content, f"react-{event_id}-{key}")

    async def announcement_power(self, user_id: UserId) -> int:
        levels = [
            room.power_levels.get_user_level(user_id)
            for room_id in self._announcement_rooms
            if (room := self.client.rooms.get(room_id)) is not None
        ]
        return max(levels, default=0)

    def may_mention_room(self, room_id: RoomId) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and room.power_levels.can_user_notify(self.client.user_id, "room")

    def is_direct_chat(self, room_id: RoomId, user_id: UserId) -> bool:
        return is_direct_chat(self.client, self.direct_rooms, room_id, user_id)

    async def direct_room(self, user_id: UserId) -> RoomId | None:
        async with self._opening:  # one new room per member, even when asked twice at once
            for room_id, member in self.direct_rooms.items():
                if member == user_id and self.is_direct_chat(room_id, user_id):
                    return room_id
            return await self._open_direct(user_id)

    async def _open_direct(self, user_id: UserId) -> RoomId | None:
        """Create a direct chat (as Element does: trusted private chat, `is_direct`,
        encrypted when the bot encrypts), record it, and wait until the sync knows it."""
        initial_state = (
            [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}]
            if self.encrypt_direct
            else []
        )
        try:
            resp = await self.client.room_create(
                is_direct=True,
                invite=[user_id],
                preset=RoomPreset.trusted_private_chat,
                initial_state=initial_state,
            )
        except NETWORK_ERRORS as exc:
            log.warning("cannot open a direct chat with %s: %s", server_of(user_id), exc)
            return None
        if not isinstance(resp, RoomCreateResponse):
            log.warning("cannot open a direct chat with %s: %s", server_of(user_id), resp.message)
            return None
        room_id = RoomId(resp.room_id)
        self.direct_rooms[room_id] = user_id
        log.info("opened direct chat %s with %s", room_id, server_of(user_id))
        if self.db is not None:
            async with self.db.transaction() as session:
                await members.add_direct_room(session, room_id, user_id)
        await self._mark_direct(user_id, room_id)
        # An encrypted send needs the room and its invited member in the client's state.
        deadline = time.monotonic() + DIRECT_WAIT
        while not self.is_direct_chat(room_id, user_id):
            if time.monotonic() > deadline:
                log.warning("direct chat %s did not arrive in the sync in time", room_id)
                return None
            await asyncio.sleep(0.1)
        return room_id

    async def _mark_direct(self, user_id: UserId, room_id: RoomId) -> None:
        """Add the room to the bot's `m.direct` account data, so clients show it as direct."""
        try:
            current = await self.client.list_direct_rooms()
            if isinstance(current, DirectRoomsResponse):
                rooms = dict(current.rooms)
            elif current.status_code == "M_NOT_FOUND":  # never set: start the list
                rooms = {}
            else:  # never overwrite what could not be read
                log.warning("m.direct not readable (%s); not updated", current.message)
                return
            rooms[user_id] = [*rooms.get(user_id, []), room_id]
            path = f"/_matrix/client/v3/user/{quote(self.client.user_id)}/account_data/m.direct"
            headers = {"Authorization": f"Bearer {self.client.access_token}"}
            resp = await self.client.send("PUT", path, json.dumps(rooms), headers)
            async with resp:
                if resp.status != 200:
                    log.warning("m.direct not updated (%s)", resp.status)
        except NETWORK_ERRORS as exc:  # only cosmetic for clients: the room works anyway
            log.warning("m.direct not updated (%s)", exc)

    async def joined_members(self, rooms: list[RoomId]) -> int | None:
        """Distinct joined members of `rooms` other than the bot (None if none is known)."""
        known = [room for room_id in rooms if (room := self.client.rooms.get(room_id))]
        if not known:
            return None
        members = {
            user_id for room in known for user_id, user in room.users.items() if not user.invited
        }
        members.discard(self.client.user_id)
        return len(members)

    async def _send(
        self, room_id: RoomId, kind: str, content: dict[str, Any], txn_id: str | None
    ) -> EventId | None:
        for attempt in range(8):
            try:
                resp = await self.client.room_send(
                    room_id, kind, content, tx_id=txn_id, ignore_unverified_devices=True
                )
            except (*NETWORK_ERRORS, LocalProtocolError) as exc:
                log.warning("send to %s failed (%s), attempt %d", room_id, exc, attempt + 1)
                await asyncio.sleep(min(2**attempt, 30))
                continue
            if isinstance(resp, RoomSendError):
                if resp.status_code == "M_LIMIT_EXCEEDED":
                    wait = (resp.retry_after_ms or 1000) / 1000
                    log.info("rate limited in %s, waiting %.1fs", room_id, wait)
                    await asyncio.sleep(wait)
                    continue
                log.error("send to %s refused: %s %s", room_id, resp.status_code, resp.message)
                return None
            return EventId(resp.event_id)
        log.error("send to %s gave up after retries", room_id)
        return None

    async def _upload(self, room_id: RoomId, file: Attachment) -> dict[str, Any] | None:
        room = self.client.rooms.get(room_id)
        encrypted = bool(room and room.encrypted and self.client.olm)
        resp, keys = await self.client.upload(
            lambda *_: file.data,
            content_type=file.mimetype,
            filename=file.filename,
            encrypt=encrypted,
            filesize=len(file.data),
        )
        if not isinstance(resp, UploadResponse):
            log.error("upload of %s failed: %s", file.filename, resp)
            return None
        content = file_content(file)
        if encrypted and keys:
            content["file"] = {"url": resp.content_uri, **keys}
        else:
            content["url"] = resp.content_uri
        return content


def file_content(file: Attachment) -> dict[str, Any]:
    """The event content of an uploaded file, without its URL: `m.image` (its description as
    the body, the size in pixels of a PNG) or `m.file`."""
    info: dict[str, Any] = {"mimetype": file.mimetype, "size": len(file.data)}
    if not file.is_image:
        return {
            "msgtype": "m.file",
            "body": file.filename,
            "filename": file.filename,
            "info": info,
            "m.mentions": {},  # a file mentions nobody (and no name in it pings anyone)
        }
    if file.data[:8] == b"\x89PNG\r\n\x1a\n" and len(file.data) >= 24:
        info["w"] = int.from_bytes(file.data[16:20], "big")
        info["h"] = int.from_bytes(file.data[20:24], "big")
    body = file.description or file.filename
    return {
        "msgtype": "m.image",
        "body": body,
        "filename": file.filename,
        "info": info,
        "m.mentions": {},
    }
