"""The Matrix adapter: login, the sync loop, invites, and one send queue per room."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DirectRoomsResponse,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomCreateResponse,
    RoomMemberEvent,
    RoomMessageText,
    RoomPreset,
    RoomResolveAliasResponse,
    RoomSendError,
    SyncError,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.exceptions import EncryptionError, LocalProtocolError
from sqlalchemy import select

from bot.adapters.matrix.crosssigning import CrossSigningError, own_keys
from bot.adapters.matrix.devices import DEVICE_NAME
from bot.adapters.matrix.identity import IdentityKeeper
from bot.adapters.matrix.timeline import PAGE_SIZE, Batch, GapError, Progress, RoomQueues, fill_gap
from bot.core.dispatcher import Dispatcher
from bot.core.errors import StartupError
from bot.core.jobs import sleep_unless
from bot.core.messages import (
    EventId,
    Incoming,
    Reaction,
    Redaction,
    Reply,
    RoomId,
    UserId,
    server_of,
)
from bot.core.services import Core
from storage import members
from storage.db import Database
from storage.models import HandledEvent

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
KEY_WAIT = 4.0  # seconds to wait for a missing room key before explaining
NETWORK_ERRORS = (OSError, TimeoutError, aiohttp.ClientError)
CONTENT_BUDGET = 40_000  # bytes of one message's content: with encryption (base64 of the JSON,
# a third more) and the event's envelope, well under Matrix's 65,536-byte event limit
BUSY_SYNC_PAUSE = 1.0  # seconds the next sync waits while room queues are still busy
SHUTDOWN_GRACE = 5.0  # seconds to finish the events being handled when stopping
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


def allowed_inviter(user_id: str, allowlist: Iterable[str]) -> bool:
    for entry in allowlist:
        if entry.startswith(":") and user_id.endswith(entry):
            return True
        if entry == user_id:
            return True
    return False


def strip_reply_fallback(body: str) -> str:
    """The body of a rich reply without the quoted original in front of it ("> " lines and
    an empty line); any other body as it is. Linear in the body's length."""
    position = 0
    while body.startswith("> ", position):
        end = body.find("\n", position)
        if end == -1:
            return body
        position = end + 1
    if position and body.startswith("\n", position):
        return body[position + 1 :]
    return body


def addressed_text(body: str, names: Iterable[str], *, mentioned: bool) -> tuple[str, bool]:
    """The message without a reply fallback and without the bot's name in front of it (and,
    when it mentions the bot, anywhere in it: "Hallo Initiative-Bot, wer ...?"); and whether
    it addresses the bot. `names`: the bot's user id without "@", localpart, display name."""
    text = strip_reply_fallback(body).strip()
    alternatives = "|".join(sorted((re.escape(name) for name in names), key=len, reverse=True))
    # "@bot hallo", "bot: hallo", "Bot, hallo" - but not "Bottrop ist schön"
    prefix = re.compile(rf"^(?:@(?:{alternatives})\b[:,]?|(?:{alternatives})[:,])\s*", re.I)
    stripped = prefix.sub("", text, count=1)
    if mentioned:
        anywhere = re.compile(rf"@?(?<!\w)(?:{alternatives})(?!\w)[:,]?", re.I)
        stripped = " ".join(anywhere.sub(" ", stripped).split())
    return stripped, mentioned or stripped != text


def message_contents(reply: Reply, to: Incoming | None) -> list[dict[str, Any]]:
    """The reply as m.notice contents with escaped HTML, as rich replies (inside the thread if
    there is one). A reply too large for one event is split at line breaks into several, each
    within CONTENT_BUDGET encoded bytes (they then carry the plain text as HTML)."""
    whole = _content(reply.text, reply.html, reply.mentions, to)
    if encoded_size(whole) <= CONTENT_BUDGET:
        return [whole]
    parts = _split(reply.text, CONTENT_BUDGET - encoded_size(_content("", "", reply.mentions, to)))
    return [
        _content(part, None, reply.mentions if number == 0 else (), to)
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
    text: str, html: str | None, mentions: tuple[UserId, ...], to: Incoming | None
) -> dict[str, Any]:
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": html or escape(text).replace("\n", "<br>"),
    }
    named = list(mentions)
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

    def announcement_rooms(self) -> list[RoomId]:
        """The announcement rooms the bot has joined (known after the first sync)."""
        return list(self._announcement_rooms)

    def set_announcement_rooms(self, rooms: list[RoomId]) -> None:
        self._announcement_rooms = list(rooms)

    async def send(
        self,
        room_id: RoomId,
        reply: Reply,
        *,
        to: Incoming | None = None,
        txn_id: str | None = None,
    ) -> EventId | None:
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            if reply.attachment is not None:
                file_content = await self._upload(room_id, reply)
                if file_content is None:
                    return None
                await self._send(room_id, "m.room.message", file_content, txn_id and txn_id + "-f")
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

    async def _upload(self, room_id: RoomId, reply: Reply) -> dict[str, Any] | None:
        assert reply.attachment is not None
        file = reply.attachment
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
        content: dict[str, Any] = {
            "msgtype": "m.file",
            "body": file.filename,
            "filename": file.filename,
            "info": {"mimetype": file.mimetype, "size": len(file.data)},
        }
        if encrypted and keys:
            content["file"] = {"url": resp.content_uri, **keys}
        else:
            content["url"] = resp.content_uri
        return content


class MatrixBot:
    """Owns the nio client; turns sync batches into dispatcher calls, exactly once."""

    def __init__(self, services: Core, dispatcher: Dispatcher[Any]) -> None:
        self.services = services
        self.settings = services.settings
        self.dispatcher = dispatcher
        store = self.settings.store_path
        config = AsyncClientConfig(
            encryption_enabled=self.settings.e2ee,
            store_sync_tokens=False,
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=SYNC_TIMEOUT_MS / 1000 + 30,
        )
        assert self.settings.homeserver and self.settings.user_id
        self.user_id = UserId(self.settings.user_id)
        self.client = AsyncClient(
            self.settings.homeserver, self.user_id, store_path=str(store), config=config
        )
        self.direct_rooms: dict[RoomId, UserId] = {}
        self.transport = MatrixTransport(
            self.client,
            [],
            services.db,
            encrypt_direct=self.settings.e2ee,
            direct_rooms=self.direct_rooms,
        )
        limit = self.settings.sync_timeline_limit
        self.sync_filter = {
            "room": {"timeline": {"limit": limit}, "state": {"lazy_load_members": False}}
        }
        self.progress = Progress()
        self.queues = RoomQueues(self._handle_queued, self.progress)
        self._saved_position: str | None = None
        self.last_sync = 0.0  # monotonic time of the last completed sync
        self.ready = asyncio.Event()  # set once the first sync joined the announcement rooms
        self._warned_undecryptable: set[tuple[RoomId, UserId]] = set()
        self._key_waits: set[asyncio.Task[None]] = set()
        self.synced = asyncio.Event()  # pulsed after each sync and key exchange
        self.cross_signed = False
        self.identity = IdentityKeeper(self.settings)  # cross-signing, recovery, stale devices
        self.replaced_device: str | None = None  # the device a new login replaced

    # -- start-up -----------------------------------------------------------------------

    async def login(self) -> None:
        """Reuse the stored device and token; log in with the password only when needed."""
        db, settings = self.services.db, self.settings
        if settings.e2ee:
            settings.store_path.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(settings.store_path, 0o700)
        if settings.access_token:
            token = settings.access_token.get_secret_value()
            self.client.access_token = token
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse):
                raise StartupError(f"BOT_ACCESS_TOKEN: the homeserver refused it ({who.message})")
            device = who.device_id or ""
            if problem := await self._store_problem(device, token):
                raise StartupError(
                    f"BOT_STORE_PATH: the crypto store cannot serve device {device} of "
                    f"BOT_ACCESS_TOKEN ({problem}); restore it or use BOT_PASSWORD"
                )
            self._protect_store()
            return
        stored, saved = await db.get_state("device_id"), await db.get_state("access_token")
        if stored and saved and self._store_exists(stored):
            self.client.access_token = saved
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse):
                log.warning("stored access token no longer valid; logging in again")
            elif problem := await self._store_problem(stored, saved):
                log.warning(
                    "crypto store for device %s is unusable (%s); logging in as a new device",
                    stored,
                    problem,
                )
                self._set_aside(stored)
            else:
                log.info("reusing device %s", stored)
                self._protect_store()
                return
            self._forget_store()
        elif stored:
            log.warning("crypto store for device %s is missing; logging in as a new device", stored)
        await self._password_login()
        self._protect_store()

    def _store_exists(self, device: str) -> bool:
        if not self.settings.e2ee:
            return True
        return (self.settings.store_path / f"{self.user_id}_{device}.db").is_file()

    async def _store_problem(self, device: str, token: str) -> str | None:
        """Why the stored crypto state cannot serve `device` (None when it can)."""
        try:
            self.client.restore_login(self.user_id, device, token)
        except Exception as exc:  # a damaged SQLite file raises whatever its driver raises
            return f"cannot load it: {exc}"
        if self.client.olm is None or self.client.olm.account.shared:
            return None
        # An account that was never published is fine, unless the device has other keys.
        try:
            keys = await own_keys(self.client)
        except CrossSigningError as exc:
            raise StartupError(
                f"BOT_HOMESERVER: cannot read the bot's device keys ({exc})"
            ) from None
        published = keys.get("device_keys", {}).get(self.user_id, {})
        return "it holds other keys than the device" if device in published else None

    def _set_aside(self, device: str) -> None:
        """Keep an unusable store for inspection, out of the way of the next device's."""
        path = self.settings.store_path / f"{self.user_id}_{device}.db"
        path.rename(path.with_suffix(".unusable"))

    def _forget_store(self) -> None:
        """Unload the old device's store so that a new login opens its own."""
        self.client.store = None
        self.client.olm = None

    def _protect_store(self) -> None:
        """The crypto store holds the device's secrets: owner-only files."""
        if self.settings.e2ee:
            for path in self.settings.store_path.iterdir():
                if path.is_file():
                    path.chmod(0o600)

    async def _password_login(self) -> None:
        if not self.settings.password:
            raise StartupError(
                "BOT_PASSWORD: needed to log in (no usable stored device for this crypto store)"
            )
        self.client.device_id = None
        resp = await self.client.login(
            self.settings.password.get_secret_value(), device_name=DEVICE_NAME
        )
        if not isinstance(resp, LoginResponse):
            raise StartupError(f"BOT_PASSWORD: login as {self.user_id} failed ({resp.message})")
        self.replaced_device = await self.services.db.get_state("device_id") or None
        await self.services.db.set_state("device_id", resp.device_id)
        await self.services.db.set_state("access_token", resp.access_token)
        await self.services.db.set_state("sync_token", "")
        log.info("logged in as %s with new device %s", self.user_id, resp.device_id)

    async def join_announcement_rooms(self) -> None:
        resolved: list[RoomId] = []
        for room in self.settings.announcement_rooms:
            room_id = room
            if room.startswith("#"):
                resp = await self.client.room_resolve_alias(room)
                if not isinstance(resp, RoomResolveAliasResponse):
                    log.error("announcement room %s not found: %s", room, resp)
                    continue
                room_id = resp.room_id
            if room_id not in self.client.rooms:
                joined = await self.client.join(room_id)
                if isinstance(joined, JoinError):
                    log.error("cannot join announcement room %s: %s", room, joined.message)
                    continue
            resolved.append(RoomId(room_id))
        self.transport.set_announcement_rooms(resolved)

    # -- the loop -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        """Sync until `stop` is set; `on_ready` is called once the first sync joined the
        announcement rooms."""
        await self.login()
        async with self.services.db.read() as session:
            stored = await members.direct_rooms(session)
        self.direct_rooms.update({RoomId(r): UserId(u) for r, u in stored.items()})
        since = await self.services.db.get_state("sync_token") or None
        self.progress.committed = since
        first = since is None
        backoff = 1.0
        full_state = True
        try:
            while not stop.is_set():
                sync = asyncio.ensure_future(
                    self.client.sync(
                        timeout=0 if full_state else SYNC_TIMEOUT_MS,
                        sync_filter=self.sync_filter,
                        since=since,
                        full_state=full_state,
                    )
                )
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({sync, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if stop.is_set():
                    sync.cancel()
                    break
                try:
                    resp = sync.result()
                except NETWORK_ERRORS as exc:
                    resp = SyncError(str(exc) or type(exc).__name__)
                if not isinstance(resp, SyncResponse):
                    log.warning("sync failed (%s); retrying in %.0fs", resp.message, backoff)
                    await sleep_unless(stop, backoff)
                    backoff = min(backoff * 2, 60)
                    continue
                try:
                    if full_state:
                        await self.join_announcement_rooms()
                        full_state = False
                        self.ready.set()
                        if on_ready is not None:
                            on_ready()
                    await self._ingest(resp, answer=not first)
                    await self._save_position()
                except Exception as exc:  # the same batch comes again; queued ids are skipped
                    if isinstance(exc, (*NETWORK_ERRORS, GapError)):
                        log.warning("batch not finished (%s); retrying in %.0fs", exc, backoff)
                    else:
                        log.exception("batch not finished; retrying in %.0fs", backoff)
                    await sleep_unless(stop, backoff)
                    backoff = min(backoff * 2, 60)
                    continue
                backoff = 1.0
                first = False
                since = resp.next_batch
                self.last_sync = time.monotonic()
                self.services.metrics.last_sync.set(time.time())
                try:
                    await self._maintain_keys()
                    if not self.cross_signed:
                        await self._cross_sign()
                except Exception as exc:  # never fatal: the next sync tries again
                    log.warning("key maintenance failed (%s); next sync retries", exc)
                self.synced.set()
                self.synced.clear()
                # While a flood is being handled, read it in fewer, larger batches: the
                # homeserver's time is better spent on the replies than on syncs.
                await self.queues.wait_idle(BUSY_SYNC_PAUSE)
        finally:
            await self.queues.close(grace=SHUTDOWN_GRACE)
            await self._save_position()

    async def _save_position(self) -> None:
        """Persist the sync token up to which every event has been handled."""
        committed = self.progress.committed
        if committed and committed != self._saved_position:
            await self.services.db.set_state("sync_token", committed)
            self._saved_position = committed
        self.services.metrics.queued.set(self.queues.queued())

    async def _maintain_keys(self) -> None:
        if not self.client.olm:
            return
        await self.client.send_to_device_messages()
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())

    async def _cross_sign(self) -> None:
        """After the device keys are up: sign the device with the bot's identity (restored from
        secret storage after a lost store) and delete its stale devices (bot.identity)."""
        if not self.client.olm:
            self.cross_signed = True
            return
        try:
            await self.identity.secure(self.client, replaced=self.replaced_device)
        except (CrossSigningError, ValueError) as exc:
            log.warning("cross-signing not set up, clients may show the bot as unverified: %s", exc)
        self.cross_signed = True  # a network error above leaves it for the next sync

    async def _ingest(self, resp: SyncResponse, *, answer: bool) -> None:
        """Answer invites, fill the gaps of limited timelines and queue every room's events;
        handling happens in the room queues while the next sync is already being read."""
        for room_id, info in resp.rooms.invite.items():
            try:
                await self._on_invite(RoomId(room_id), info.invite_state)
            except NETWORK_ERRORS as exc:
                log.warning("invite to %s not handled yet (%s)", room_id, exc)
        batch = self.progress.open(resp.next_batch)
        try:
            await self._queue_rooms(resp, batch, answer)
        except BaseException:
            self.progress.abandon(batch)
            raise
        self.progress.seal(batch)

    async def _queue_rooms(self, resp: SyncResponse, batch: Batch, answer: bool) -> None:
        for room_id, info in resp.rooms.join.items():
            room = RoomId(room_id)
            events = list(info.timeline.events)
            since_join = _after_own_join(events, self.user_id)
            if since_join is not None:
                events = since_join  # what was said before the bot joined is not for it
            elif info.timeline.limited and answer and info.timeline.prev_batch:
                gap = await fill_gap(
                    self._fetch_page, room, info.timeline.prev_batch, self._seen, self.user_id
                )
                if gap.capped:
                    log.warning(
                        "gap in %s larger than %d events; only the newest are handled",
                        room_id,
                        len(gap.events),
                    )
                events = gap.events + events
            if answer and events:
                await self.queues.put(room, events, batch)

    async def _fetch_page(self, room_id: str, token: str) -> Any:
        return await self.client.room_messages(room_id, start=token, limit=PAGE_SIZE)

    async def _seen(self, room_id: RoomId, event_ids: list[str]) -> set[str]:
        """Those of `event_ids` already queued or handled."""
        seen = self.queues.remembered(room_id, event_ids)
        rest = [event_id for event_id in event_ids if event_id not in seen]
        if rest:
            async with self.services.db.read() as session:
                handled = await session.scalars(
                    select(HandledEvent.event_id).where(HandledEvent.event_id.in_(rest))
                )
                seen.update(handled)
        return seen

    async def _handle_queued(self, room_id: RoomId, event: Any) -> None:
        if event.sender != self.user_id:
            await self._handle_event(room_id, event)
        self.services.metrics.events.labels(kind=type(event).__name__).inc()

    async def _handle_event(self, room_id: RoomId, event: Any) -> None:
        handled = self.services.db.retrying(
            lambda: self._handled(event.event_id), f"event {event.event_id}"
        )
        if await handled:
            return
        if isinstance(event, RoomMessageText):
            await self._on_text(room_id, event)
        elif isinstance(event, MegolmEvent):
            await self._on_undecryptable(room_id, event)
        elif isinstance(event, ReactionEvent):
            await self.dispatcher.handle_reaction(
                Reaction(
                    room_id,
                    UserId(event.sender),
                    EventId(event.event_id),
                    EventId(event.reacts_to),
                    event.key,
                    _sent_at(event),
                )
            )
        elif isinstance(event, RedactionEvent):
            await self.dispatcher.handle_redaction(
                Redaction(room_id, UserId(event.sender), EventId(event.event_id), event.redacts)
            )

    async def _handled(self, event_id: str) -> bool:
        async with self.services.db.read() as session:
            return await session.get(HandledEvent, event_id) is not None

    async def _on_text(self, room_id: RoomId, event: RoomMessageText) -> None:
        relates = event.source.get("content", {}).get("m.relates_to", {}) or {}
        if relates.get("rel_type") == "m.replace":
            return  # an edit: the original message was already handled
        body, mentioned = self._strip_mention(room_id, event)
        thread_root = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
        sent_at = _sent_at(event)
        sender = UserId(event.sender)
        msg = Incoming(
            room_id=room_id,
            sender=sender,
            event_id=EventId(event.event_id),
            body=body,
            sent_at=sent_at,
            direct=mentioned or self._is_direct(room_id),
            thread_root=thread_root,
            reply_to=reply_to,
            direct_chat=is_direct_chat(self.client, self.direct_rooms, room_id, sender),
        )
        late = self.services.clock() - sent_at > self.settings.catchup_max_age
        await self.dispatcher.handle(msg, self.transport, record=True, late=late)

    def _strip_mention(self, room_id: RoomId, event: RoomMessageText) -> tuple[str, bool]:
        content = event.source.get("content", {})
        mentioned = self.user_id in (content.get("m.mentions") or {}).get("user_ids", [])
        names = {self.user_id[1:], self.user_id[1:].split(":", 1)[0]}
        room = self.client.rooms.get(room_id)
        if room is not None and (display := room.user_name(self.user_id)):
            names.add(display)
        return addressed_text(event.body, names, mentioned=mentioned)

    def _is_direct(self, room_id: RoomId) -> bool:
        if room_id in self.direct_rooms:
            return True
        room = self.client.rooms.get(room_id)
        return (
            room is not None
            and room.member_count == 2
            and room_id not in self.transport.announcement_rooms()
        )

    async def _on_undecryptable(self, room_id: RoomId, event: MegolmEvent) -> None:
        """Ask for the key and wait for it in the background; the sync loop goes on."""
        if self.client.olm:
            try:
                await self.client.request_room_key(event)
            except LocalProtocolError:
                pass  # already requested
        task = asyncio.create_task(self._await_key(room_id, event))
        self._key_waits.add(task)
        task.add_done_callback(self._key_waits.discard)

    async def _await_key(self, room_id: RoomId, event: MegolmEvent) -> None:
        """Handle the message once its key arrives; else explain, once per sender and room."""
        try:
            deadline = time.monotonic() + KEY_WAIT
            while (olm := self.client.olm) and time.monotonic() < deadline:
                if olm.inbound_group_store.get(room_id, event.sender_key, event.session_id):
                    try:
                        decrypted = olm.decrypt_megolm_event(event, room_id)
                    except EncryptionError:
                        break  # the key came but does not fit this message
                    await self._handle_event(room_id, decrypted)
                    return
                await sleep_unless(self.synced, deadline - time.monotonic())
            await self._explain_undecryptable(room_id, event)
        except Exception:
            log.exception("event %s in %s could not be handled", event.event_id, room_id)

    async def _explain_undecryptable(self, room_id: RoomId, event: MegolmEvent) -> None:
        log.info(
            "cannot decrypt %s from %s in %s", event.event_id, server_of(event.sender), room_id
        )
        key = (room_id, UserId(event.sender))
        too_old = self.services.clock() - _sent_at(event) > self.settings.catchup_max_age
        if key in self._warned_undecryptable or too_old:
            return
        self._warned_undecryptable.add(key)
        msg = Incoming(
            room_id, UserId(event.sender), EventId(event.event_id), "", self.services.clock()
        )
        await self.dispatcher.notify_undecryptable(msg, self.transport)

    async def _on_invite(self, room_id: RoomId, state: list[Any]) -> None:
        invite = next(
            (
                e
                for e in state
                if isinstance(e, InviteMemberEvent)
                and e.state_key == self.user_id
                and e.membership == "invite"
            ),
            None,
        )
        inviter = invite.sender if invite else ""
        if not allowed_inviter(inviter, self.settings.invite_allowlist):
            log.info("rejecting invite to %s from %s (not allowed)", room_id, server_of(inviter))
            await self.client.room_leave(room_id)
            return
        resp = await self.client.join(room_id)
        if isinstance(resp, JoinError):
            log.error("joining %s failed: %s", room_id, resp.message)
            return
        log.info("joined %s on invite from %s", room_id, server_of(inviter))
        if invite and invite.content.get("is_direct"):
            self.direct_rooms[room_id] = UserId(inviter)
            async with self.services.db.transaction() as session:
                await members.add_direct_room(session, room_id, inviter)

    async def close(self) -> None:
        for task in self._key_waits:
            task.cancel()
        await self.client.close()


def _after_own_join(events: list[Any], user_id: str) -> list[Any] | None:
    """The events after the bot's own join, or None when it did not join in this batch."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if (
            isinstance(event, RoomMemberEvent)
            and event.state_key == user_id
            and event.membership == "join"
            and event.prev_membership != "join"
        ):
            return events[index + 1 :]
    return None


def _sent_at(event: Any) -> datetime:
    return datetime.fromtimestamp(event.server_timestamp / 1000, UTC)
