"""Encrypted rooms and direct messages against a real Synapse, with members whose clients
encrypt (each with its own crypto store) and the bot as a subprocess."""

from __future__ import annotations

import asyncio
import json
import shutil
import stat
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from nio import (
    DownloadError,
    Event,
    MegolmEvent,
    RoomMemberEvent,
    RoomMessagesResponse,
)
from nio.crypto.attachments import decrypt_attachment
from signedjson.key import decode_verify_key_base64
from signedjson.sign import verify_signed_json
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.demo.homeserver import LocalSynapse
from storage.models import CalendarEvent, DirectRoom

from .botproc import BotProcess, new_bot
from .synapse import MemberClient, create_room, new_member, send_text, sync_once, wait_for_event

pytestmark = pytest.mark.integration

WAIT = 20.0
HELP_TITLE = "Das kann ich für Sie tun:"
EXPLANATION = "Ich kann diese verschlüsselte Nachricht nicht lesen."


# -- helpers ----------------------------------------------------------------------------


def in_reply_to(event: Event) -> str | None:
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


def readable_reply(bot: BotProcess, event_ids: set[str]) -> Callable[[Event], bool]:
    """A reply of the bot to one of `event_ids` that the member could decrypt."""

    def matches(event: Event) -> bool:
        return (
            event.sender == bot.user_id
            and in_reply_to(event) in event_ids
            and not isinstance(event, MegolmEvent)
        )

    return matches


def joined(user_id: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        return (
            isinstance(event, RoomMemberEvent)
            and event.state_key == user_id
            and event.membership == "join"
        )

    return matches


async def ask(member: MemberClient, room_id: str, bot: BotProcess, body: str) -> str:
    """Send `body` (encrypted) and return the decrypted body of the bot's reply."""
    event_id = await send_text(member, room_id, body)
    try:
        reply = await wait_for_event(member, room_id, readable_reply(bot, {event_id}), WAIT)
    except TimeoutError:
        pytest.fail(f"no readable reply to {body!r}:\n{bot.log_tail()}")
    assert reply.decrypted, "the reply was not encrypted"
    return str(reply.source["content"]["body"])


async def encrypted_room(
    member: MemberClient, bot: BotProcess, name: str, *, direct: bool = False
) -> str:
    room_id = await create_room(
        member, invite=[bot.user_id], name=name, direct=direct, encrypted=True
    )
    await wait_for_event(member, room_id, joined(bot.user_id), WAIT)
    await sync_once(member, timeout_ms=0)  # learn the bot's device keys
    return room_id


async def query_keys(member: MemberClient, user_id: str) -> dict[str, Any]:
    url = f"{member.homeserver}/_matrix/client/v3/keys/query"
    headers = {"Authorization": f"Bearer {member.access_token}"}
    body = {"device_keys": {user_id: []}}
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())


async def cross_signed_device(member: MemberClient, bot: BotProcess, device_id: str) -> None:
    """The bot's identity is published and its self-signing key signs `device_id`."""
    deadline = time.monotonic() + WAIT
    while True:
        keys = await query_keys(member, bot.user_id)
        device = keys["device_keys"].get(bot.user_id, {}).get(device_id, {})
        master = keys.get("master_keys", {}).get(bot.user_id)
        self_signing = keys.get("self_signing_keys", {}).get(bot.user_id)
        if master and self_signing and len(device.get("signatures", {}).get(bot.user_id, {})) > 1:
            break
        assert time.monotonic() < deadline, f"not cross-signed: {keys}\n{bot.log_tail()}"
        await asyncio.sleep(0.2)
    [(ssk_id, ssk_b64)] = self_signing["keys"].items()
    ssk = decode_verify_key_base64("ed25519", ssk_id.split(":", 1)[1], ssk_b64)
    verify_signed_json(device, bot.user_id, ssk)  # raises when the signature is wrong
    [(msk_id, msk_b64)] = master["keys"].items()
    msk = decode_verify_key_base64("ed25519", msk_id.split(":", 1)[1], msk_b64)
    verify_signed_json(self_signing, bot.user_id, msk)


async def new_room_key(member: MemberClient, room_id: str) -> None:
    """Learn the bot's current devices and start a room key that is shared with them.

    nio, as a member's client, shares a room key only once, so a device that appears later
    (the bot after a lost store) gets the key of the next session only.
    """
    await sync_once(member, timeout_ms=0)
    assert member.olm is not None
    member.olm.outbound_group_sessions.pop(room_id, None)


def device_of(bot: BotProcess) -> str:
    [store] = [p for p in (bot.directory / "store").glob("*.db")]
    return store.stem.rsplit("_", 1)[1]


async def bot_messages(member: MemberClient, room_id: str, bot: BotProcess) -> list[Event]:
    history = await member.room_messages(room_id, limit=100)
    assert isinstance(history, RoomMessagesResponse), history
    return [event for event in reversed(history.chunk) if event.sender == bot.user_id]


# -- one bot with an encrypted announcement room -----------------------------------------


@dataclass
class Stage:
    bot: BotProcess
    coordinator: MemberClient
    member: MemberClient
    announcements: str


@pytest.fixture(scope="module")
async def stage(
    synapse: LocalSynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stage]:
    stores = tmp_path_factory.mktemp("member-stores")
    coordinator = await new_member(synapse, "coord", store_path=stores / "coord")
    member = await new_member(synapse, "member", store_path=stores / "member")
    announcements = await create_room(
        coordinator, invite=[member.user_id], name="Ankündigungen", encrypted=True
    )
    await member.join(announcements)
    bot = await new_bot(
        synapse,
        tmp_path_factory.mktemp("e2ee-bot"),
        f"bot-{uuid.uuid4().hex[:8]}",
        coordinators=coordinator.user_id,
        announcement_rooms=announcements,
        announce_before="6s",
    )
    await coordinator.room_invite(announcements, bot.user_id)
    await bot.start()
    try:
        await wait_for_event(coordinator, announcements, joined(bot.user_id), WAIT)
        yield Stage(bot, coordinator, member, announcements)
    finally:
        assert await bot.stop() == 0, bot.log_tail()
        for client in (coordinator, member):
            await client.close()


async def test_help_in_an_encrypted_room_and_questions_in_an_encrypted_dm(stage: Stage) -> None:
    bot, member = stage.bot, stage.member
    room_id = await encrypted_room(member, bot, "Verschlüsselt")
    dm = await encrypted_room(member, bot, "", direct=True)

    assert (await ask(member, room_id, bot, "!hilfe")).startswith(HELP_TITLE)
    assert (await ask(member, dm, bot, "!hilfe")).startswith(HELP_TITLE)
    assert "BZdI" in await ask(member, dm, bot, "Was ist das BZdI?")  # no command needed
    engine = create_async_engine(f"sqlite+aiosqlite:///{bot.directory / 'bot.db'}")
    async with engine.connect() as conn:
        direct = (await conn.execute(select(DirectRoom.room_id, DirectRoom.user_id))).all()
    await engine.dispose()
    assert (dm, member.user_id) in direct
    assert room_id not in {row[0] for row in direct}


async def test_scheduled_post_and_its_calendar_file_are_encrypted(stage: Stage) -> None:
    bot, coordinator, member, room_id = (
        stage.bot,
        stage.coordinator,
        stage.member,
        stage.announcements,
    )
    start = (datetime.now(UTC) + timedelta(seconds=12)).replace(microsecond=0)
    local = start.astimezone(ZoneInfo("Europe/Berlin"))
    confirmation = await ask(
        coordinator, room_id, bot, f"/webinar add {local:%d.%m.%Y %H:%M:%S} | Geheimtreffen"
    )
    assert "ID " in confirmation

    def post(event: Event) -> bool:
        body = str(event.source.get("content", {}).get("body", ""))
        return (
            event.sender == bot.user_id
            and body.startswith("Erinnerung")
            and "Geheimtreffen" in body
        )

    reminder = await wait_for_event(member, room_id, post, WAIT)
    assert reminder.decrypted
    files = [
        e
        for e in await bot_messages(member, room_id, bot)
        if e.source["content"].get("msgtype") == "m.file"
    ]
    assert files, bot.log_tail()
    content = files[-1].source["content"]
    assert files[-1].decrypted and "url" not in content  # only the encrypted upload's address
    download = await member.download(content["file"]["url"])
    assert not isinstance(download, DownloadError), download
    plain = decrypt_attachment(
        download.body,
        content["file"]["key"]["k"],
        content["file"]["hashes"]["sha256"],
        content["file"]["iv"],
    )
    assert b"BEGIN:VCALENDAR" in plain and b"Geheimtreffen" in plain
    assert b"BEGIN:VCALENDAR" not in download.body


async def test_feedback_in_a_dm_stays_in_the_dm(stage: Stage) -> None:
    bot, member = stage.bot, stage.member
    engine = create_async_engine(f"sqlite+aiosqlite:///{bot.directory / 'bot.db'}")
    async with engine.begin() as conn:  # an event that ended an hour ago
        result = await conn.execute(
            CalendarEvent.__table__.insert().values(
                kind="webinar",
                title="Rückblick",
                description="",
                starts_at=datetime.now(UTC) - timedelta(hours=2),
                minutes=60,
                status="scheduled",
                sequence=0,
                created_by=stage.coordinator.user_id,
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )
        event_id = result.inserted_primary_key[0]
    await engine.dispose()
    dm = await encrypted_room(member, bot, "", direct=True)

    secret = f"nur für das Team {uuid.uuid4().hex[:6]}"
    answer = await ask(member, dm, bot, f"!feedback {event_id} 4 {secret}")
    assert answer.startswith("Danke!") and "Rückblick" in answer
    await sync_once(member, timeout_ms=0)
    public = await bot_messages(member, stage.announcements, bot)
    assert not [e for e in public if secret in str(e.source.get("content", {}).get("body", ""))]
    assert not [e for e in public if member.user_id in str(e.source.get("content", {}))]


async def test_undecryptable_messages_get_one_explanation(stage: Stage) -> None:
    bot, member = stage.bot, stage.member
    room_id = await encrypted_room(member, bot, "Ohne Schlüssel")
    for device in member.device_store.active_user_devices(bot.user_id):
        member.blacklist_device(device)  # the member's client keeps the room key from the bot

    sent = {await send_text(member, room_id, "!hilfe") for _ in range(3)}
    explanation = await wait_for_event(member, room_id, readable_reply(bot, sent), WAIT)
    assert explanation.source["content"]["body"].startswith(EXPLANATION)

    for device in member.device_store.active_user_devices(bot.user_id):
        member.unblacklist_device(device)
    await new_room_key(member, room_id)
    # every one of the three messages was given up on (and could have been explained)
    await bot.wait_for_log(*(f"cannot decrypt {event_id}" for event_id in sent), timeout=WAIT)
    assert (await ask(member, room_id, bot, "!hilfe")).startswith(HELP_TITLE)
    explanations = [
        e
        for e in await bot_messages(member, room_id, bot)
        if str(e.source.get("content", {}).get("body", "")).startswith(EXPLANATION)
    ]
    assert len(explanations) == 1, bot.log_tail()


async def test_a_room_key_that_comes_late_still_gets_the_answer(stage: Stage) -> None:
    bot, member = stage.bot, stage.member
    room_id = await encrypted_room(member, bot, "Späte Schlüssel")
    assert member.olm is not None
    # The member's client prepares the room key for the bot but holds the to-device message
    # back, as a slow homeserver or a client that sends it later would.
    member.olm.create_outbound_group_session(room_id)
    if missing := member.get_missing_sessions(room_id):
        await member.keys_claim(missing)
    held_back = list(
        member.olm.share_group_session_parallel(
            room_id, list(member.rooms[room_id].users), ignore_unverified_devices=True
        )
    )
    member.olm.outbound_group_sessions[room_id].shared = True
    event_id = await send_text(member, room_id, "!hilfe")
    await asyncio.sleep(1)  # the delay itself: the bot has the message, not the key

    for _, to_device in held_back:
        resp = await member.send(
            "PUT",
            f"/_matrix/client/v3/sendToDevice/m.room.encrypted/{uuid.uuid4().hex}",
            json.dumps(to_device),
            {"Authorization": f"Bearer {member.access_token}"},
        )
        assert resp.status == 200, await resp.text()

    reply = await wait_for_event(member, room_id, readable_reply(bot, {event_id}), WAIT)
    assert reply.source["content"]["body"].startswith(HELP_TITLE)


# -- the device lifecycle, with a bot of its own ------------------------------------------


async def test_restart_keeps_the_device_and_a_lost_or_damaged_store_gets_a_new_one(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    member = await new_member(synapse, "member", store_path=tmp_path / "member-store")
    bot = await new_bot(synapse, tmp_path / "bot", f"bot-{uuid.uuid4().hex[:8]}")
    store = bot.directory / "store"
    try:
        await bot.start()
        room_id = await encrypted_room(member, bot, "Lebenslauf")
        first = device_of(bot)
        assert (await ask(member, room_id, bot, "!hilfe")).startswith(HELP_TITLE)
        await cross_signed_device(member, bot, first)
        assert stat.S_IMODE(store.stat().st_mode) == 0o700
        assert {stat.S_IMODE(p.stat().st_mode) for p in store.iterdir()} == {0o600}
        assert (store / "cross-signing.json").is_file()
        assert bot.log_tail(400).count("BOT_RECOVERY_KEY is not set") == 1  # what is at stake

        assert await bot.stop() == 0
        await bot.start()
        assert device_of(bot) == first
        assert (await ask(member, room_id, bot, "!hilfe")).startswith(HELP_TITLE)
        assert bot.log_tail(400).count("logged in as") == 1
        assert f"reusing device {first}" in bot.log_tail(400)
        assert bot.log_tail(400).count("signed by the bot's self-signing key") == 1  # once

        assert await bot.stop() == 0
        shutil.rmtree(store)
        await bot.start()
        second = device_of(bot)
        assert second != first
        assert f"crypto store for device {first} is missing" in bot.log_tail(400)
        await cross_signed_device(member, bot, second)
        await bot.wait_for_log(f"deleted stale devices of the bot: {first}", timeout=WAIT)
        status, listed = await bot.api("GET", "/devices")
        assert status == 200 and first not in {d["device_id"] for d in listed["devices"]}
        await new_room_key(member, room_id)  # as Element does for a device that appears
        assert (await ask(member, room_id, bot, "!hilfe")).startswith(HELP_TITLE)

        assert await bot.stop() == 0
        (store / f"{bot.user_id}_{second}.db").write_bytes(b"not a database")
        await bot.start()
        third = device_of(bot)
        assert third not in (first, second)
        assert f"crypto store for device {second} is unusable" in bot.log_tail(400)
        await cross_signed_device(member, bot, third)
        await bot.wait_for_log(f"deleted stale devices of the bot: {second}", timeout=WAIT)
        await new_room_key(member, room_id)
        assert (await ask(member, room_id, bot, "!hilfe")).startswith(HELP_TITLE)
    finally:
        await bot.stop()
        await member.close()
