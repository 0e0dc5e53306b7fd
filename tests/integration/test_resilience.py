"""The homeserver goes away and comes back; questions by mention and in direct chats."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from bot.demo.homeserver import LocalSynapse

from .botproc import BotProcess, new_bot
from .synapse import create_room, new_member, send_text, wait_for_event
from .test_foundation import (
    REPLY_WAIT,
    command,
    invite_bot,
    membership_of,
    reply_from,
    unique,
)

pytestmark = pytest.mark.integration
NAME = "Konferenz-Assistent"


async def test_bot_reconnects_when_the_homeserver_returns(tmp_path: Path) -> None:
    async with LocalSynapse(tmp_path / "hs") as synapse:
        member = await new_member(synapse, "member")
        bot = await new_bot(synapse, tmp_path / "bot", "bot", e2ee="false")
        await bot.start()
        try:
            room = await invite_bot(member, bot, "Lobby")
            await command(member, room, bot, "!hilfe")
            await synapse.stop()
            deadline = time.monotonic() + 30
            while "sync failed" not in bot.log_tail(200):
                assert time.monotonic() < deadline, bot.log_tail()
                await asyncio.sleep(0.2)
            await synapse.start()
            _, reply = await command(member, room, bot, "!help", timeout=90)
            assert reply.body.startswith("Here is what I can do")
            assert bot.process is not None and bot.process.poll() is None
        finally:
            await bot.stop()
            await member.close()


async def test_questions_by_mention_and_in_a_direct_chat(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    member = await new_member(synapse, unique("asker"))
    other = await new_member(synapse, unique("other"))
    bot = await new_bot(synapse, tmp_path, unique("bot"), e2ee="false")
    await set_display_name(synapse, bot, NAME)  # a name made of words the bot knows
    await bot.start()
    try:
        room = await invite_bot(member, bot, "Gruppe")
        await member.room_invite(room, other.user_id)
        await other.join(room)  # three members: a group, not a direct chat
        chatter = await send_text(member, room, "Was ist das BZdI eigentlich?")
        content = {
            "msgtype": "m.text",
            "body": f"{bot.user_id}: Was ist das BZdI?",
            "m.mentions": {"user_ids": [bot.user_id]},
        }
        sent = await member.room_send(room, "m.room.message", content)
        reply = await wait_for_event(member, room, reply_from(bot, sent.event_id), REPLY_WAIT)
        assert "Bündnis Zukunft der Industrie" in reply.body
        # a pill in the middle of the sentence: the bot's name is no part of the question
        content = {
            "msgtype": "m.text",
            "body": f"Hallo {NAME}, wer hat die Servicestelle eigentlich beauftragt?",
            "m.mentions": {"user_ids": [bot.user_id]},
        }
        sent = await member.room_send(room, "m.room.message", content)
        reply = await wait_for_event(member, room, reply_from(bot, sent.event_id), REPLY_WAIT)
        assert "Bundesministerium" in reply.body, reply.body
        direct = await create_room(member, invite=[bot.user_id], name="DM", direct=True)
        await wait_for_event(member, direct, membership_of(bot.user_id, "join"), REPLY_WAIT)
        _, answer = await command(member, direct, bot, "Who commissioned the service centre?")
        assert "Ministry" in answer.body
        # the unaddressed group message got no answer
        assert not await _has_reply(member, room, bot, chatter)
    finally:
        await bot.stop()
        await member.close()
        await other.close()


async def set_display_name(synapse: LocalSynapse, bot: BotProcess, name: str) -> None:
    url = f"{synapse.url}/_matrix/client/v3/profile/{bot.user_id}/displayname"
    headers = {"Authorization": f"Bearer {bot.account.access_token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.put(url, json={"displayname": name}, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()


async def _has_reply(member, room: str, bot, event_id: str) -> bool:
    history = await member.room_messages(room, limit=50)
    return any(reply_from(bot, event_id)(e) for e in history.chunk)
