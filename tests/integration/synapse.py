"""Helpers for tests that talk to a real Synapse through matrix-nio clients."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    RoomCreateError,
    RoomPreset,
    RoomSendError,
    SyncError,
)

from bot.demo.homeserver import LocalSynapse

SYNC_POLL_MS = 1000
DEFAULT_WAIT = 15.0
SYNC_FILTER = {"room": {"timeline": {"limit": 200}}}  # never miss events in a burst
ENCRYPTION = "m.megolm.v1.aes-sha2"


class MemberClient(AsyncClient):
    """A nio client for a test user that keeps synced timeline events until a test reads them.

    `unread` holds, per room, the timeline events received by `sync_once` that no
    `wait_for_event` call has passed yet, so events arriving in one batch are never lost.
    """

    def __init__(
        self,
        homeserver: str,
        user_id: str,
        device_id: str,
        access_token: str,
        password: str,
        store_path: Path | None = None,
    ) -> None:
        config = AsyncClientConfig(
            max_limit_exceeded=0,
            max_timeouts=0,
            encryption_enabled=store_path is not None,
        )
        super().__init__(
            homeserver,
            user_id,
            device_id=device_id,
            store_path=str(store_path) if store_path else "",
            config=config,
        )
        if store_path is not None:
            store_path.mkdir(parents=True, exist_ok=True)
        self.password = password
        self.unread: defaultdict[str, deque[Event]] = defaultdict(deque)
        self.restore_login(user_id, device_id, access_token)


class MemberFactory(Protocol):
    async def __call__(
        self, name: str = "member", *, password: str | None = None, encrypted: bool = False
    ) -> MemberClient: ...


async def new_member(
    synapse: LocalSynapse,
    name: str = "member",
    *,
    password: str | None = None,
    store_path: Path | None = None,
) -> MemberClient:
    """Register a fresh user `<name>-<random>` and return a client logged in as that user.

    With `store_path` the client has end-to-end encryption (its crypto store lives there).
    The caller closes the client.
    """
    password = password or uuid.uuid4().hex
    localpart = f"{name}-{uuid.uuid4().hex[:10]}"
    registration = await synapse.register(localpart, password)
    return MemberClient(
        synapse.url,
        registration.user_id,
        registration.device_id,
        registration.access_token,
        password,
        store_path,
    )


async def sync_once(client: MemberClient, timeout_ms: int = SYNC_POLL_MS) -> None:
    """One long-poll sync; new timeline events go to `client.unread`, keys are kept current."""
    response = await client.sync(timeout=timeout_ms, sync_filter=SYNC_FILTER)
    if isinstance(response, SyncError):
        raise AssertionError(f"sync as {client.user_id} failed: {response.message}")
    for room_id, room in response.rooms.join.items():
        client.unread[room_id].extend(room.timeline.events)
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    await client.send_to_device_messages()


async def wait_for_event(
    client: MemberClient,
    room_id: str,
    predicate: Callable[[Event], bool],
    timeout: float = DEFAULT_WAIT,
) -> Event:
    """Sync until an unread timeline event of `room_id` satisfies `predicate`, and return it.

    The events before the match are consumed; those after it stay for the next call. The first
    sync of a client also returns recent history, so predicates should be specific.
    """
    deadline = time.monotonic() + timeout
    while True:
        unread = client.unread[room_id]
        while unread:
            event = unread.popleft()
            if predicate(event):
                return event
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{client.user_id}: no matching event in {room_id} in {timeout} s")
        await sync_once(client, timeout_ms=max(1, min(SYNC_POLL_MS, int(remaining * 1000))))


async def create_room(
    client: AsyncClient,
    invite: Sequence[str] = (),
    name: str | None = None,
    *,
    direct: bool = False,
    encrypted: bool = False,
) -> str:
    """Create a private room (a direct chat with `direct=True`) and return its room ID."""
    initial_state = (
        [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": ENCRYPTION}}]
        if encrypted
        else []
    )
    response = await client.room_create(
        name=name,
        invite=invite,
        is_direct=direct,
        preset=RoomPreset.trusted_private_chat if direct else RoomPreset.private_chat,
        initial_state=initial_state,
    )
    if isinstance(response, RoomCreateError):
        raise AssertionError(f"creating room {name!r} failed: {response.message}")
    return response.room_id


async def send_text(client: AsyncClient, room_id: str, body: str) -> str:
    """Send a plain `m.text` message (encrypted in encrypted rooms) and return its event ID."""
    response = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": body},
        ignore_unverified_devices=True,
    )
    if isinstance(response, RoomSendError):
        raise AssertionError(f"sending {body!r} as {client.user_id} failed: {response.message}")
    return response.event_id
