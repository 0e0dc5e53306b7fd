"""The integration fixtures work: Matrix users can talk over Synapse, PostgreSQL answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from nio import Event, MegolmEvent, RoomMemberEvent, RoomMessageText
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from .synapse import MemberFactory, create_room, send_text, sync_once, wait_for_event

pytestmark = pytest.mark.integration


def text_from(sender: str, body: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        return isinstance(event, RoomMessageText) and event.sender == sender and event.body == body

    return matches


async def test_invited_member_joins_and_messages_arrive_in_order(
    matrix_user: MemberFactory,
) -> None:
    alice = await matrix_user("alice")
    bob = await matrix_user("bob")
    room_id = await create_room(alice, invite=[bob.user_id], name="Lobby")

    joined = await bob.join(room_id)
    assert getattr(joined, "room_id", None) == room_id, joined
    for body in ("Hallo zusammen", "Zweite Nachricht", "Dritte Nachricht"):
        await send_text(bob, room_id, body)

    # Later messages of the same sync batch stay available for the next wait.
    for body in ("Hallo zusammen", "Dritte Nachricht"):
        event = await wait_for_event(alice, room_id, text_from(bob.user_id, body), timeout=10)
        assert event.sender == bob.user_id


async def test_wait_for_event_times_out_when_nothing_matches(matrix_user: MemberFactory) -> None:
    alice = await matrix_user("alice")
    room_id = await create_room(alice, name="Leer")
    with pytest.raises(TimeoutError):
        await wait_for_event(alice, room_id, text_from(alice.user_id, "nie"), timeout=1.5)


async def test_encrypted_direct_chat(matrix_user: MemberFactory) -> None:
    alice = await matrix_user("alice", encrypted=True)
    bob = await matrix_user("bob", encrypted=True)
    await sync_once(alice)
    await sync_once(bob)
    room_id = await create_room(alice, invite=[bob.user_id], direct=True, encrypted=True)
    await bob.join(room_id)
    await wait_for_event(
        alice,
        room_id,
        lambda event: isinstance(event, RoomMemberEvent) and event.state_key == bob.user_id,
    )

    await send_text(alice, room_id, "Geheim")
    event = await wait_for_event(
        bob,
        room_id,
        lambda event: (
            event.sender == alice.user_id and isinstance(event, RoomMessageText | MegolmEvent)
        ),
    )
    assert isinstance(event, RoomMessageText), "bob could not decrypt alice's message"
    assert event.body == "Geheim"


async def test_postgres_answers(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
