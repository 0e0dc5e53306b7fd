"""Handoff over a real Synapse: a coordinator and two askers (one in a room's thread, one in
a direct chat). The question the bot cannot answer is posted once into the coordination room,
the coordinator's rich reply comes back to both, ✅ saves it; an answer given while the bot is
stopped is relayed exactly once after it starts again."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from nio import Event, MegolmEvent, RoomMessagesResponse, RoomSendError

from bot.demo.homeserver import LocalSynapse

from .botproc import BotProcess, new_bot
from .synapse import MemberClient, create_room, new_member, send_text, sync_once, wait_for_event
from .test_foundation import REPLY_WAIT, in_reply_to, membership_of

pytestmark = pytest.mark.integration

QUESTION = "!frage Gibt es einen Newsletter der Servicestelle?"
SIMILAR = "Gibt es einen Newsletter?"
ANSWER = "Ja, monatlich per E-Mail: https://example.org/newsletter"
RESTART_QUESTION = "!frage Wo parke ich beim Netzwerktreffen?"
RESTART_ANSWER = "Parkplätze gibt es am Bahnhof."


@dataclass
class Stage:
    bot: BotProcess
    coordinator: MemberClient
    room_asker: MemberClient
    dm_asker: MemberClient
    coordination: str
    lobby: str
    direct: str


@pytest.fixture(scope="module")
async def stage(
    synapse: LocalSynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stage]:
    coordinator = await new_member(synapse, "coord")
    room_asker = await new_member(synapse, "asker")
    dm_asker = await new_member(synapse, "dm-asker")
    bot = await new_bot(
        synapse,
        tmp_path_factory.mktemp("handoff-bot"),
        f"bot-{uuid.uuid4().hex[:8]}",
        coordinators=coordinator.user_id,
        coordination_room="",  # set below, once the room exists
        e2ee="false",
    )
    coordination = await create_room(coordinator, invite=[bot.user_id], name="Koordination")
    bot.env["BOT_COORDINATION_ROOM"] = coordination
    await bot.start()
    clients = (coordinator, room_asker, dm_asker)
    try:
        await wait_for_event(coordinator, coordination, membership_of(bot.user_id, "join"), 20)
        lobby = await create_room(
            room_asker, invite=[bot.user_id, coordinator.user_id], name="Lobby Nord"
        )
        await wait_for_event(room_asker, lobby, membership_of(bot.user_id, "join"), 20)
        await coordinator.join(lobby)  # a group room: plain talk there is not for the bot
        direct = await create_room(dm_asker, invite=[bot.user_id], name=None, direct=True)
        await wait_for_event(dm_asker, direct, membership_of(bot.user_id, "join"), 20)
        yield Stage(bot, coordinator, room_asker, dm_asker, coordination, lobby, direct)
    finally:
        if bot.process is not None and bot.process.poll() is None:
            assert await bot.stop() == 0, bot.log_tail()
        for client in clients:
            await client.close()


def content(event: Event) -> dict[str, Any]:
    found: dict[str, Any] = event.source.get("content", {})
    return found


def from_bot(bot: BotProcess, starts: str, reply_to: str | None = None) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        body = str(content(event).get("body", ""))
        return (
            event.sender == bot.user_id
            and body.startswith(starts)
            and (reply_to is None or in_reply_to(event) == reply_to)
        )

    return matches


def edit_of(bot: BotProcess, event_id: str, needle: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        relates = content(event).get("m.relates_to") or {}
        new = content(event).get("m.new_content") or {}
        return (
            event.sender == bot.user_id
            and relates.get("rel_type") == "m.replace"
            and relates.get("event_id") == event_id
            and needle in str(new.get("body", ""))
        )

    return matches


async def send(client: MemberClient, room: str, body: str, relates: dict[str, Any]) -> str:
    resp = await client.room_send(
        room,
        "m.room.message",
        {"msgtype": "m.text", "body": body, "m.relates_to": relates},
        ignore_unverified_devices=True,
    )
    assert not isinstance(resp, RoomSendError), resp
    return str(resp.event_id)


def in_thread(root: str) -> dict[str, Any]:
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }


async def bot_replies(client: MemberClient, room: str, bot: BotProcess, event_id: str) -> int:
    history = await client.room_messages(room, limit=100)
    assert isinstance(history, RoomMessagesResponse), history
    return sum(1 for e in history.chunk if e.sender == bot.user_id and in_reply_to(e) == event_id)


async def test_question_goes_to_coordinators_and_the_answer_comes_back(stage: Stage) -> None:
    bot, coordinator = stage.bot, stage.coordinator
    root = await send_text(stage.room_asker, stage.lobby, "Eine Frage zum Newsletter:")
    asked = await send(stage.room_asker, stage.lobby, QUESTION, in_thread(root))
    told = await wait_for_event(
        stage.room_asker, stage.lobby, from_bot(bot, "Das weiß ich", asked), REPLY_WAIT
    )
    assert "Koordinationsteam" in content(told)["body"]
    assert (content(told)["m.relates_to"] or {}).get("rel_type") == "m.thread"

    post = await wait_for_event(coordinator, stage.coordination, from_bot(bot, "Frage #"), 20)
    body = content(post)["body"]
    assert "Newsletter der Servicestelle" in body and "Lobby Nord" in body
    assert stage.room_asker.user_id not in body and content(post)["msgtype"] == "m.notice"

    dm_asked = await send_text(stage.dm_asker, stage.direct, SIMILAR)
    await wait_for_event(
        stage.dm_asker, stage.direct, from_bot(bot, "Das weiß ich", dm_asked), REPLY_WAIT
    )
    await wait_for_event(coordinator, stage.coordination, edit_of(bot, post.event_id, "2×"), 20)

    answer = await send(
        coordinator, stage.coordination, ANSWER, {"m.in_reply_to": {"event_id": post.event_id}}
    )
    answered = await coordinator.room_get_event(stage.coordination, answer)
    head = "Antwort des Koordinationsteams"
    relays = [
        await wait_for_event(stage.room_asker, stage.lobby, from_bot(bot, head, asked), 20),
        await wait_for_event(stage.dm_asker, stage.direct, from_bot(bot, head, dm_asked), 20),
    ]
    assert all(ANSWER in content(r)["body"] for r in relays)
    assert (content(relays[0])["m.relates_to"] or {}).get("event_id") == root  # in the thread
    seconds = [(r.server_timestamp - answered.event.server_timestamp) / 1000 for r in relays]
    print(f"\nanswer → relay: median {statistics.median(seconds) * 1000:.0f} ms, {seconds}")
    confirm = await wait_for_event(coordinator, stage.coordination, from_bot(bot, "An 2"), 20)
    assert in_reply_to(confirm) == answer

    reaction = await coordinator.room_send(
        stage.coordination,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": post.event_id, "key": "✅"}},
    )
    assert not isinstance(reaction, RoomSendError), reaction
    await wait_for_event(coordinator, stage.coordination, from_bot(bot, "Gespeichert"), 20)

    again = await send_text(
        stage.dm_asker, stage.direct, "Gibt es einen Newsletter der Servicestelle?"
    )
    direct = await wait_for_event(
        stage.dm_asker,
        stage.direct,
        lambda e: e.sender == bot.user_id and in_reply_to(e) == again,
        20,
    )
    assert "monatlich per E-Mail" in content(direct)["body"]


async def test_answer_given_while_the_bot_is_stopped_is_relayed_once(stage: Stage) -> None:
    bot, coordinator = stage.bot, stage.coordinator
    asked = await send_text(stage.room_asker, stage.lobby, RESTART_QUESTION)
    await wait_for_event(
        stage.room_asker, stage.lobby, from_bot(bot, "Das weiß ich", asked), REPLY_WAIT
    )
    post = await wait_for_event(coordinator, stage.coordination, from_bot(bot, "Frage #"), 20)
    assert "Netzwerktreffen" in content(post)["body"]
    assert await bot.stop() == 0
    answer = await send(coordinator, stage.coordination, RESTART_ANSWER, in_thread(post.event_id))
    await bot.start()
    relay = await wait_for_event(
        stage.room_asker, stage.lobby, from_bot(bot, "Antwort des Koordinationsteams", asked), 30
    )
    assert RESTART_ANSWER in content(relay)["body"]
    confirm = await wait_for_event(coordinator, stage.coordination, from_bot(bot, "An 1"), 20)
    assert in_reply_to(confirm) == answer
    assert await bot_replies(stage.room_asker, stage.lobby, bot, asked) == 2  # told + answer
    posts = await coordinator.room_messages(stage.coordination, limit=100)
    assert isinstance(posts, RoomMessagesResponse)
    numbered = [e for e in posts.chunk if from_bot(bot, "Frage #")(e)]
    assert len(numbered) == 2  # one post per item, none twice across the restart


# -- encrypted: the coordination room and the direct chat ---------------------------------


@dataclass
class SecretStage:
    bot: BotProcess
    coordinator: MemberClient
    asker: MemberClient
    coordination: str
    direct: str


@pytest.fixture(scope="module")
async def secret_stage(
    synapse: LocalSynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SecretStage]:
    stores = tmp_path_factory.mktemp("handoff-stores")
    coordinator = await new_member(synapse, "coord", store_path=stores / "coord")
    asker = await new_member(synapse, "asker", store_path=stores / "asker")
    bot = await new_bot(
        synapse,
        tmp_path_factory.mktemp("handoff-e2ee-bot"),
        f"bot-{uuid.uuid4().hex[:8]}",
        coordinators=coordinator.user_id,
    )
    coordination = await create_room(
        coordinator, invite=[bot.user_id], name="Koordination", encrypted=True
    )
    bot.env["BOT_COORDINATION_ROOM"] = coordination
    await bot.start()
    try:
        await wait_for_event(coordinator, coordination, membership_of(bot.user_id, "join"), 20)
        await sync_once(coordinator, timeout_ms=0)  # learn the bot's device keys
        direct = await create_room(asker, invite=[bot.user_id], direct=True, encrypted=True)
        await wait_for_event(asker, direct, membership_of(bot.user_id, "join"), 20)
        await sync_once(asker, timeout_ms=0)
        yield SecretStage(bot, coordinator, asker, coordination, direct)
    finally:
        if bot.process is not None and bot.process.poll() is None:
            assert await bot.stop() == 0, bot.log_tail()
        for client in (coordinator, asker):
            await client.close()


def readable(matches: Callable[[Event], bool]) -> Callable[[Event], bool]:
    return lambda event: not isinstance(event, MegolmEvent) and matches(event)


async def test_handoff_in_encrypted_rooms(secret_stage: SecretStage) -> None:
    stage, bot = secret_stage, secret_stage.bot
    asked = await send_text(stage.asker, stage.direct, SIMILAR)
    told = await wait_for_event(
        stage.asker, stage.direct, readable(from_bot(bot, "Das weiß ich", asked)), REPLY_WAIT
    )
    assert told.decrypted
    post = await wait_for_event(
        stage.coordinator, stage.coordination, readable(from_bot(bot, "Frage #")), 20
    )
    assert post.decrypted and "Direktnachricht" in content(post)["body"]
    await sync_once(stage.coordinator, timeout_ms=0)
    await send(
        stage.coordinator,
        stage.coordination,
        ANSWER,
        {"m.in_reply_to": {"event_id": post.event_id}},
    )
    relay = await wait_for_event(
        stage.asker,
        stage.direct,
        readable(from_bot(bot, "Antwort des Koordinationsteams", asked)),
        20,
    )
    assert relay.decrypted and ANSWER in content(relay)["body"]
    reaction = await stage.coordinator.room_send(
        stage.coordination,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": post.event_id, "key": "✅"}},
        ignore_unverified_devices=True,
    )
    assert not isinstance(reaction, RoomSendError), reaction
    await wait_for_event(
        stage.coordinator, stage.coordination, readable(from_bot(bot, "Gespeichert")), 20
    )
