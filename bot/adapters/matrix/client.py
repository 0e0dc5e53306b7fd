"""The Matrix adapter's loop: sync, fill gaps, queue events per room, hand them to the
dispatcher exactly once; invites, undecryptable messages and key maintenance."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomMessageText,
    RoomResolveAliasResponse,
    SyncError,
    SyncResponse,
)
from nio.exceptions import EncryptionError, LocalProtocolError
from sqlalchemy import select

from bot.adapters.matrix.crosssigning import CrossSigningError
from bot.adapters.matrix.identity import IdentityKeeper
from bot.adapters.matrix.incoming import addressed_text, after_own_join, allowed_inviter, sent_at
from bot.adapters.matrix.login import DeviceLogin
from bot.adapters.matrix.send import MatrixTransport, is_direct_chat
from bot.adapters.matrix.timeline import PAGE_SIZE, Batch, GapError, Progress, RoomQueues, fill_gap
from bot.core.dispatcher import Dispatcher
from bot.core.jobs import sleep_unless
from bot.core.messages import (
    EventId,
    Incoming,
    Reaction,
    Redaction,
    RoomId,
    UserId,
    server_of,
)
from bot.core.services import Core
from storage import members
from storage.models import HandledEvent

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
KEY_WAIT = 4.0  # seconds to wait for a missing room key before explaining
NETWORK_ERRORS = (OSError, TimeoutError, aiohttp.ClientError)
BUSY_SYNC_PAUSE = 1.0  # seconds the next sync waits while room queues are still busy
SHUTDOWN_GRACE = 5.0  # seconds to finish the events being handled when stopping
DIRECT_WAIT = 15.0  # seconds a new direct chat may take to arrive in the sync
MEGOLM = "m.megolm.v1.aes-sha2"


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
        self.device = DeviceLogin(self.client, self.user_id, self.settings, services.db)

    # -- start-up -----------------------------------------------------------------------

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

    async def join_coordination_room(self) -> None:
        """Join BOT_COORDINATION_ROOM (resolving an alias); without it, no handoff."""
        room = self.settings.coordination_room
        if not room:
            return
        room_id = room
        if room.startswith("#"):
            resp = await self.client.room_resolve_alias(room)
            if not isinstance(resp, RoomResolveAliasResponse):
                log.error("coordination room %s not found: %s", room, resp)
                return
            room_id = resp.room_id
        if room_id not in self.client.rooms:
            joined = await self.client.join(room_id)
            if isinstance(joined, JoinError):
                log.error("cannot join coordination room %s: %s", room, joined.message)
                return
        self.transport.set_coordination_room(RoomId(room_id))

    # -- the loop -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        """Sync until `stop` is set; `on_ready` is called once the first sync joined the
        announcement rooms."""
        await self.device.login()
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
                        await self.join_coordination_room()
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
            await self.identity.secure(self.client, replaced=self.device.replaced_device)
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
            since_join = after_own_join(events, self.user_id)
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
                    sent_at(event),
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
        posted = sent_at(event)
        sender = UserId(event.sender)
        msg = Incoming(
            room_id=room_id,
            sender=sender,
            event_id=EventId(event.event_id),
            body=body,
            sent_at=posted,
            direct=mentioned or self._is_direct(room_id),
            thread_root=thread_root,
            reply_to=reply_to,
            direct_chat=is_direct_chat(self.client, self.direct_rooms, room_id, sender),
        )
        late = self.services.clock() - posted > self.settings.catchup_max_age
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
            and room_id != self.transport.coordination_room()
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
        too_old = self.services.clock() - sent_at(event) > self.settings.catchup_max_age
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
        if self.settings.coordination_room and self.transport.coordination_room() is None:
            await self.join_coordination_room()  # perhaps this invite was to it
        if invite and invite.content.get("is_direct"):
            self.direct_rooms[room_id] = UserId(inviter)
            async with self.services.db.transaction() as session:
                await members.add_direct_room(session, room_id, inviter)

    async def close(self) -> None:
        for task in self._key_waits:
            task.cancel()
        await self.client.close()
