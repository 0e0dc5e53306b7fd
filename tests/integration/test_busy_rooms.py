"""Busy rooms: every command in a flood is answered exactly once, in order, over Synapse."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from nio import Event, RoomMessagesResponse

from bot.demo.homeserver import LocalSynapse

from .botproc import BotProcess, new_bot
from .synapse import MemberClient, new_member, send_text
from .test_foundation import command, in_reply_to, invite_bot, join, unique

pytestmark = pytest.mark.integration

MEMBERS = 6
PER_MEMBER = 50
ANSWER_WAIT = 90.0
CALM_WAIT = 10.0  # seconds a command in a quiet room may take while another room is flooded


async def room_history(client: MemberClient, room_id: str) -> list[Event]:
    """Every event of the room, oldest first (paged back to the room's creation)."""
    events: list[Event] = []
    token = ""
    while True:
        page = await client.room_messages(room_id, start=token, limit=500)
        assert isinstance(page, RoomMessagesResponse), page
        events.extend(page.chunk)
        if not page.chunk or not page.end:
            return list(reversed(events))
        token = page.end


async def flood(members: list[MemberClient], room_id: str, per_member: int) -> list[str]:
    """Each member sends `per_member` commands as fast as the homeserver takes them."""

    async def one(member: MemberClient, number: int) -> list[str]:
        return [
            await send_text(member, room_id, f"!frage Was ist das BZdI? ({number}-{i})")
            for i in range(per_member)
        ]

    sent = await asyncio.gather(*(one(m, n) for n, m in enumerate(members)))
    return [event_id for ids in sent for event_id in ids]


async def answered_in_order(
    reader: MemberClient, room_id: str, bot: BotProcess, commands: list[str], timeout: float
) -> float:
    """Wait until every command has a reply; assert exactly one each, in the commands' order.

    Returns the seconds from the call until the last reply was seen."""
    started = time.monotonic()
    wanted = set(commands)
    while True:
        history = await room_history(reader, room_id)
        replies = [
            reply_to
            for event in history
            if event.sender == bot.user_id and (reply_to := in_reply_to(event)) in wanted
        ]
        if set(replies) == wanted:
            break
        if time.monotonic() - started > timeout:
            missing = len(wanted - set(replies))
            pytest.fail(f"{missing} of {len(commands)} commands got no reply:\n{bot.log_tail()}")
        await asyncio.sleep(0.5)
    doubled = [event_id for event_id, count in Counter(replies).items() if count > 1]
    assert not doubled, f"{len(doubled)} commands were answered more than once"
    in_room_order = [event.event_id for event in history if event.event_id in wanted]
    assert replies == in_room_order, "replies are not in the order of the commands"
    return time.monotonic() - started


async def crowd(synapse: LocalSynapse, bot: BotProcess) -> tuple[list[MemberClient], str]:
    members = [await new_member(synapse, unique(f"member{n}")) for n in range(MEMBERS)]
    room = await invite_bot(members[0], bot, "Busy")
    for member in members[1:]:
        await members[0].room_invite(room, member.user_id)
        await join(member, room)
    return members, room


async def test_a_flood_of_commands_from_six_members_is_answered_once_each_in_order(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    bot = await new_bot(synapse, tmp_path, unique("bot"), e2ee="false")
    await bot.start()
    members, room = await crowd(synapse, bot)
    try:
        commands = await flood(members, room, PER_MEMBER)
        await answered_in_order(members[0], room, bot, commands, ANSWER_WAIT)
    finally:
        await bot.stop()
        for member in members:
            await member.close()


async def test_what_arrives_while_the_bot_is_busy_is_answered_after(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """The bot process is frozen (as by one slow message) while a flood arrives, with a
    small sync window, so every sync after it is limited and must be gap-filled."""
    bot = await new_bot(synapse, tmp_path, unique("bot"), e2ee="false", sync_timeline_limit="10")
    await bot.start()
    members, room = await crowd(synapse, bot)
    try:
        first = await flood(members[:1], room, 3)
        await answered_in_order(members[0], room, bot, first, ANSWER_WAIT)
        assert bot.process is not None
        os.kill(bot.process.pid, signal.SIGSTOP)
        try:
            backlog = await flood(members, room, 20)
        finally:
            os.kill(bot.process.pid, signal.SIGCONT)
        more = await flood(members[1:3], room, 10)
        await answered_in_order(members[0], room, bot, first + backlog + more, ANSWER_WAIT)
    finally:
        await bot.stop()
        for member in members:
            await member.close()


async def test_a_flooded_room_does_not_hold_up_another_room(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    bot = await new_bot(synapse, tmp_path, unique("bot"), e2ee="false")
    await bot.start()
    members, busy = await crowd(synapse, bot)
    calm_member = await new_member(synapse, unique("calm"))
    calm = await invite_bot(calm_member, bot, "Calm")
    try:
        flooding = asyncio.create_task(flood(members, busy, PER_MEMBER))
        await asyncio.sleep(0)  # let the flood start first
        for _ in range(5):
            await command(calm_member, calm, bot, "!hilfe", timeout=CALM_WAIT)
        commands = await flooding
        await answered_in_order(members[0], busy, bot, commands, ANSWER_WAIT)
    finally:
        await bot.stop()
        await calm_member.close()
        for member in members:
            await member.close()
