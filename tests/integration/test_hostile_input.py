"""Hostile messages in a real room: the bot keeps answering everyone else at once."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from bot.demo.homeserver import LocalSynapse

from .botproc import new_bot
from .synapse import create_room, new_member, send_text, wait_for_event
from .test_foundation import command, invite_bot, join, membership_of, reply_from, unique

pytestmark = pytest.mark.integration

SIZE = 60_000  # bytes of body: a whole event may hold 65,536
HELP_WAIT = 5.0  # seconds an ordinary command may take meanwhile


def hostile_messages() -> list[str]:
    rng = random.Random(3)
    soup = "".join(chr(rng.randint(0x100, 0x2FFF)) for _ in range(SIZE // 3))
    return [
        "!frage " + "zu " * (SIZE // 3),
        "> " + "\n> " * 16_000 + "\nhallo",
        "!frage " + "Wasserstoffindustrieinitiative" * (SIZE // 30),
        "!frage " + soup,
        "@bot " * (SIZE // 5),
        "!passend " + "Fachkräfte Digitalisierung " * (SIZE // 28),
        "!frage " + "Wir sind neu. Wer hilft? " * (SIZE // 26),
    ]


async def test_hostile_messages_do_not_delay_anyone_else(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    bot = await new_bot(synapse, tmp_path, unique("bot"), e2ee="false")
    await bot.start()
    member = await new_member(synapse, unique("member"))
    attacker = await new_member(synapse, unique("attacker"))
    try:
        room = await invite_bot(member, bot, "Lobby")
        await member.room_invite(room, attacker.user_id)
        await join(attacker, room)

        async def attack() -> None:
            for _ in range(3):
                for body in hostile_messages():
                    await send_text(attacker, room, body)

        attacking = asyncio.create_task(attack())
        while not attacking.done():
            await command(member, room, bot, "!hilfe", timeout=HELP_WAIT)
        await attacking
        _, reply = await command(member, room, bot, "!hilfe", timeout=HELP_WAIT)
        assert reply.body.startswith("Das kann ich für Sie tun")
        assert bot.process is not None and bot.process.poll() is None
    finally:
        await bot.stop()
        await member.close()
        await attacker.close()


async def test_a_reply_larger_than_one_event_arrives_whole_in_parts(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """Twenty long open questions make a listing larger than a Matrix event may be."""
    coordinator = await new_member(synapse, unique("coordinator"))
    member = await new_member(synapse, unique("member"))
    bot = await new_bot(
        synapse, tmp_path, unique("bot"), e2ee="false", coordinators=coordinator.user_id
    )
    await bot.start()
    rng = random.Random(11)
    questions = [
        " ".join(
            "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(4))
            for _ in range(220)
        )[:1_900]
        + f" Frage {n}?"
        for n in range(20)
    ]
    try:
        room = await invite_bot(member, bot, "Fragen")
        for text in questions:
            await command(member, room, bot, f"!frage {text}")
        direct = await create_room(coordinator, invite=[bot.user_id], direct=True)
        await wait_for_event(coordinator, direct, membership_of(bot.user_id, "join"), HELP_WAIT)
        asked = await send_text(coordinator, direct, "!faq unbeantwortet")
        parts = []
        while not all(text[-12:] in "".join(parts) for text in questions):
            part = await wait_for_event(coordinator, direct, reply_from(bot, asked), 20)
            parts.append(part.source["content"]["body"])
        assert len(parts) > 1
        assert "\n".join(parts).count("Frage ") >= 20
    finally:
        await bot.stop()
        await member.close()
        await coordinator.close()
