"""Private answers over a real Synapse: asked in a group, answered in a direct chat the bot
opens (encrypted, as Element's direct chats are), with only a short note in the group."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest
from nio import Event, MegolmEvent, RoomMemberEvent, RoomMessagesResponse

from bot.demo.homeserver import LocalSynapse

from .botproc import BotProcess, new_bot
from .synapse import MemberClient, new_member, sync_once, wait_for_event
from .test_foundation import REPLY_WAIT, command, invite_bot, join, texts, unique

pytestmark = pytest.mark.integration


async def invited_by(member: MemberClient, bot: BotProcess, timeout: float) -> str:
    """Sync until the bot has invited `member` to a room (also seen by an earlier sync)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for room_id, room in member.invited_rooms.items():
            if room.inviter == bot.user_id:
                return room_id
        await sync_once(member)
    pytest.fail(f"no invite from the bot:\n{bot.log_tail()}")


async def invited_as_direct(member: MemberClient, room_id: str) -> bool:
    """Whether the invite of `member` to `room_id` (read from the history) was `is_direct`."""
    history = await member.room_messages(room_id, limit=100)
    assert isinstance(history, RoomMessagesResponse), history
    return any(
        isinstance(event, RoomMemberEvent)
        and event.state_key == member.user_id
        and event.membership == "invite"
        and event.content.get("is_direct") is True
        for event in history.chunk
    )


def readable_from(bot: BotProcess, start: str):  # type: ignore[no-untyped-def]
    def matches(event: Event) -> bool:
        body = event.source.get("content", {}).get("body", "")
        return (
            event.sender == bot.user_id
            and not isinstance(event, MegolmEvent)
            and body.startswith(start)
        )

    return matches


async def bot_messages(member: MemberClient, room_id: str, bot: BotProcess) -> list[str]:
    history = await member.room_messages(room_id, limit=100)
    assert isinstance(history, RoomMessagesResponse), history
    return [
        str(event.source["content"].get("body", ""))
        for event in reversed(history.chunk)
        if event.sender == bot.user_id and event.source.get("type") == "m.room.message"
    ]


async def test_my_data_asked_in_a_group_arrives_in_a_direct_chat_the_bot_opens(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    alice = await new_member(synapse, "alice", store_path=tmp_path / "alice-store")
    bob = await new_member(synapse, "bob")
    bot = await new_bot(synapse, tmp_path / "bot", unique("bot"))
    title, note = texts().plain("privacy.title", "de"), texts().plain("private.sent", "de")
    try:
        await bot.start()
        await sync_once(alice, timeout_ms=0)  # alice's device keys are published
        group = await invite_bot(alice, bot, "Gruppe")
        await alice.room_invite(group, bob.user_id)
        await join(bob, group)
        await command(alice, group, bot, "!sprache de")

        _, reply = await command(alice, group, bot, "!meine-daten")
        assert reply.source["content"]["body"] == note

        direct = await invited_by(alice, bot, REPLY_WAIT)
        assert direct != group
        await join(alice, direct)
        assert await invited_as_direct(alice, direct)
        data = await wait_for_event(alice, direct, readable_from(bot, title), REPLY_WAIT)
        assert data.decrypted, "the direct chat is not encrypted"
        assert "Ihre Antwortsprache: de" in data.source["content"]["body"]

        # the group (and bob in it) saw only the note
        in_group = await bot_messages(bob, group, bot)
        assert in_group[-1] == note and not any(title in body for body in in_group)
        # asked in the direct chat itself, the answer comes there, with no note
        _, again = await command(alice, direct, bot, "!meine-daten")
        assert again.source["content"]["body"].startswith(title)
        # clients list the room as direct: the bot's m.direct names it for alice
        url = f"{synapse.url}/_matrix/client/v3/user/{bot.user_id}/account_data/m.direct"
        headers = {"Authorization": f"Bearer {bot.account.access_token}"}
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
            assert resp.status == 200 and direct in (await resp.json())[alice.user_id]
        # one direct chat is enough: a second private answer reuses it
        await command(alice, group, bot, "!meine-daten")
        await wait_for_event(alice, direct, readable_from(bot, title), REPLY_WAIT)
        assert bot.log_tail(400).count("opened direct chat") == 1
    finally:
        await bot.stop()
        for member in (alice, bob):
            await member.close()
