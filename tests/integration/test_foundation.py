"""The bot as operators run it, against a real Synapse, talked to by real Matrix clients."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nio import (
    Event,
    RoomGetStateEventResponse,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomSendResponse,
)

import config
from bot.app import routers
from bot.core.commands import CommandTable
from bot.core.context import Role
from bot.core.i18n import Texts, load_texts
from bot.demo.homeserver import LocalSynapse

from .botproc import BotProcess, new_bot
from .synapse import MemberClient, create_room, new_member, send_text, sync_once, wait_for_event

pytestmark = pytest.mark.integration

COORDINATOR_SECTION = "Für Koordinatorinnen und Koordinatoren:"
REPLY_WAIT = 20.0


# -- helpers ----------------------------------------------------------------------------


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def in_reply_to(event: Event) -> str | None:
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


def reply_from(bot: BotProcess, command_id: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        return event.sender == bot.user_id and in_reply_to(event) == command_id

    return matches


def membership_of(user_id: str, membership: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        return (
            isinstance(event, RoomMemberEvent)
            and event.state_key == user_id
            and event.membership == membership
        )

    return matches


async def command(
    member: MemberClient, room_id: str, bot: BotProcess, body: str, timeout: float = REPLY_WAIT
) -> tuple[str, Event]:
    """Send `body` as `member` and return its event id and the bot's reply to it."""
    event_id = await send_text(member, room_id, body)
    reply = await wait_for_event(member, room_id, reply_from(bot, event_id), timeout)
    return event_id, reply


async def replies_to(member: MemberClient, room_id: str, bot: BotProcess, event_id: str) -> int:
    """How many replies of the bot to `event_id` the room's latest 100 events hold."""
    await sync_once(member, timeout_ms=0)
    history = await member.room_messages(room_id, limit=100)
    assert isinstance(history, RoomMessagesResponse), history
    return sum(1 for event in history.chunk if reply_from(bot, event_id)(event))


async def wait_for_replies(
    member: MemberClient, room_id: str, bot: BotProcess, command_ids: list[str], timeout: float
) -> list[str]:
    """Wait until the bot replied to all commands; the commands answered, in reply order.

    Reads the room's history rather than the sync stream: a burst of events makes an
    incremental sync's timeline `limited`, and the events it leaves out would be missed.
    """
    deadline = time.monotonic() + timeout
    while True:
        history = await member.room_messages(room_id, limit=100)
        assert isinstance(history, RoomMessagesResponse), history
        answered = [
            reply_id
            for event in reversed(history.chunk)
            if event.sender == bot.user_id and (reply_id := in_reply_to(event)) in command_ids
        ]
        if set(answered) >= set(command_ids):
            return answered
        if time.monotonic() > deadline:
            missing = len(set(command_ids) - set(answered))
            pytest.fail(f"{missing} of {len(command_ids)} got no reply:\n{bot.log_tail()}")
        await sync_once(member)  # returns as soon as something new happens


async def invite_bot(member: MemberClient, bot: BotProcess, name: str) -> str:
    """A new room of `member` that the bot has joined."""
    room_id = await create_room(member, invite=[bot.user_id], name=name)
    await wait_for_event(member, room_id, membership_of(bot.user_id, "join"), REPLY_WAIT)
    return room_id


async def join(member: MemberClient, room_id: str) -> None:
    joined = await member.join(room_id)
    assert getattr(joined, "room_id", None) == room_id, joined


async def grant_power(owner: MemberClient, room_id: str, user_id: str, level: int) -> None:
    current = await owner.room_get_state_event(room_id, "m.room.power_levels")
    assert isinstance(current, RoomGetStateEventResponse), current
    content = dict(current.content)
    content["users"] = {**content.get("users", {}), user_id: level}
    await owner.room_put_state(room_id, "m.room.power_levels", content)


async def admin_client(synapse: LocalSynapse) -> MemberClient:
    account = await synapse.register(unique("root"), uuid.uuid4().hex, admin=True)
    return MemberClient(synapse.url, account.user_id, account.device_id, account.access_token, "")


async def exempt_from_rate_limits(admin: MemberClient, user_id: str) -> None:
    """Lift Synapse's message limits for `user_id` alone (an admin API)."""
    url = f"{admin.homeserver}/_synapse/admin/v1/users/{user_id}/override_ratelimit"
    headers = {"Authorization": f"Bearer {admin.access_token}"}
    body: dict[str, Any] = {"messages_per_second": 0, "burst_count": 0}
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


def texts() -> Texts:
    table, problems = load_texts(Path(config.__file__).parent / "texts.yaml")
    assert not problems
    return table


def coordinator_command_registered() -> bool:
    return any(c.role == Role.COORDINATOR for r in routers() for c in r.commands)


def registered_coordinator_command() -> str | None:
    """`/faq unanswered` or `/webinar list`, whichever the bot has at this moment."""
    table = CommandTable(routers())
    for name, rest in (("faq", "unanswered"), ("webinar", "list")):
        resolved = table.resolve(name, rest)
        if resolved is not None and resolved[0].role == Role.COORDINATOR:
            return f"/{name} {rest}"
    return None


def require_coordinator_command() -> str:
    body = registered_coordinator_command()
    if body is None:
        pytest.skip("neither /faq unanswered nor /webinar list is registered yet")
    return body


# -- one bot for the tests whose state does not interfere --------------------------------


@dataclass
class World:
    bot: BotProcess
    alice: MemberClient  # in the invite allowlist; owns the announcement room
    bob: MemberClient  # in the invite allowlist; an ordinary member
    carol: MemberClient  # listed in BOT_COORDINATORS
    dave: MemberClient  # power level 50 in the announcement room
    eve: MemberClient  # outside the invite allowlist
    announcements: str
    lobby: str  # alice's room with the bot


@pytest.fixture(scope="module")
async def world(
    synapse: LocalSynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    names = ("alice", "bob", "carol", "dave", "eve")
    alice, bob, carol, dave, eve = [await new_member(synapse, name) for name in names]
    announcements = await create_room(alice, invite=[carol.user_id, dave.user_id], name="Info")
    for member in (carol, dave):
        await join(member, announcements)
    await grant_power(alice, announcements, dave.user_id, 50)
    bot = await new_bot(
        synapse,
        tmp_path_factory.mktemp("shared-bot"),
        unique("bot"),
        invite_allowlist=f"{alice.user_id},{bob.user_id}",
        coordinators=carol.user_id,
        announcement_rooms=announcements,
    )
    await alice.room_invite(announcements, bot.user_id)
    await bot.start()
    try:
        await wait_for_event(alice, announcements, membership_of(bot.user_id, "join"), REPLY_WAIT)
        lobby = await invite_bot(alice, bot, "Lobby")
        yield World(bot, alice, bob, carol, dave, eve, announcements, lobby)
    finally:
        assert await bot.stop() == 0, bot.log_tail()
        for member in (alice, bob, carol, dave, eve):
            await member.close()


# -- the shared bot ---------------------------------------------------------------------


async def test_invited_bot_joins_and_answers_help_once_as_rich_notice(world: World) -> None:
    alice, bot = world.alice, world.bot
    room_id = await invite_bot(alice, bot, "Neu")

    help_id, reply = await command(alice, room_id, bot, "!hilfe")
    english_id, english = await command(alice, room_id, bot, "!help")

    content = reply.source["content"]
    assert content["msgtype"] == "m.notice"
    assert content["body"].startswith(texts().plain("help.title", "de"))
    assert "!sprache" in content["body"]
    assert content["format"] == "org.matrix.custom.html"
    assert "<li><code>!frage TEXT</code>" in content["formatted_body"]  # a list, no table
    assert "<table" not in content["formatted_body"]
    assert content["m.relates_to"]["m.in_reply_to"]["event_id"] == help_id
    assert alice.user_id in content["m.mentions"]["user_ids"]
    assert english.source["content"]["body"].startswith(texts().plain("help.title", "en"))
    assert await replies_to(alice, room_id, bot, help_id) == 1
    assert await replies_to(alice, room_id, bot, english_id) == 1


async def test_invite_from_outside_the_allowlist_is_refused(world: World) -> None:
    eve, bot = world.eve, world.bot
    room_id = await create_room(eve, invite=[bot.user_id], name="Fremd")

    await wait_for_event(eve, room_id, membership_of(bot.user_id, "leave"), REPLY_WAIT)
    members = await eve.joined_members(room_id)
    assert bot.user_id not in {m.user_id for m in getattr(members, "members", [])}


async def test_reply_in_a_thread_stays_in_the_thread(world: World) -> None:
    alice, bot, room_id = world.alice, world.bot, world.lobby
    root_id = await send_text(alice, room_id, "Frage zur Gründung einer Initiative")
    sent = await alice.room_send(
        room_id,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "!hilfe",
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": root_id,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": root_id},
            },
        },
    )
    assert isinstance(sent, RoomSendResponse), sent

    reply = await wait_for_event(alice, room_id, reply_from(bot, sent.event_id), REPLY_WAIT)
    relates = reply.source["content"]["m.relates_to"]
    assert relates["rel_type"] == "m.thread"
    assert relates["event_id"] == root_id
    assert relates["m.in_reply_to"]["event_id"] == sent.event_id


async def test_health_and_metrics(world: World) -> None:
    await command(world.alice, world.lobby, world.bot, "!hilfe")

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.bot.http_url}/healthz") as resp:
            assert resp.status == 200
            health = await resp.json()
        async with http.get(f"{world.bot.http_url}/metrics") as resp:
            assert resp.status == 200
            metrics = await resp.text()

    assert health["status"] == "ok"
    hilfe = [
        line
        for line in metrics.splitlines()
        if line.startswith("bot_commands_total{") and 'command="hilfe"' in line
    ]
    assert hilfe, metrics
    assert float(hilfe[0].rsplit(" ", 1)[1]) >= 1


async def test_notices_from_others_are_ignored(world: World) -> None:
    alice, bot, room_id = world.alice, world.bot, world.lobby
    sent = await alice.room_send(
        room_id, "m.room.message", {"msgtype": "m.notice", "body": "!hilfe"}
    )
    assert isinstance(sent, RoomSendResponse), sent

    await command(alice, room_id, bot, "!hilfe")  # handled after the notice
    assert await replies_to(alice, room_id, bot, sent.event_id) == 0


async def test_member_is_refused_coordinator_commands_even_with_power_in_own_room(
    world: World,
) -> None:
    body = require_coordinator_command()
    bob, bot = world.bob, world.bot
    refusal = texts().plain("error.coordinator_only", "de")
    await world.alice.room_invite(world.lobby, bob.user_id)
    await join(bob, world.lobby)
    own_room = await invite_bot(bob, bot, "Bobs Raum")  # bob holds power level 100 here

    for room_id in (world.lobby, own_room):
        _, reply = await command(bob, room_id, bot, body)
        assert reply.source["content"]["body"] == refusal
    _, help_reply = await command(bob, own_room, bot, "!hilfe")
    assert COORDINATOR_SECTION not in help_reply.source["content"]["body"]


async def test_listed_and_powerful_coordinators_are_accepted(world: World) -> None:
    if not coordinator_command_registered():
        pytest.skip("no coordinator command is registered yet")
    refusal = texts().plain("error.coordinator_only", "de")
    body = registered_coordinator_command()
    for coordinator in (world.carol, world.dave):
        _, help_reply = await command(coordinator, world.announcements, world.bot, "!hilfe")
        assert COORDINATOR_SECTION in help_reply.source["content"]["body"]
        if body is not None:
            _, reply = await command(coordinator, world.announcements, world.bot, body)
            assert reply.source["content"]["body"] != refusal


# -- bots of their own ------------------------------------------------------------------


async def test_command_sent_while_down_is_answered_once_across_restarts(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    alice = await new_member(synapse, "alice")
    bot = await new_bot(synapse, tmp_path, unique("bot"))
    try:
        await bot.start()
        room_id = await invite_bot(alice, bot, "Neustart")
        await command(alice, room_id, bot, "!hilfe")
        assert await bot.stop() == 0

        while_down = await send_text(alice, room_id, "!hilfe")
        await bot.start()
        await wait_for_event(alice, room_id, reply_from(bot, while_down), REPLY_WAIT)
        assert await bot.stop() == 0

        await bot.start()
        later, _ = await command(alice, room_id, bot, "!hilfe")
        assert await replies_to(alice, room_id, bot, while_down) == 1
        assert await replies_to(alice, room_id, bot, later) == 1
        assert bot.log_tail(400).count("logged in as") == 1  # the device is reused
    finally:
        await bot.stop()
        await alice.close()


async def test_the_same_member_is_accepted_once_listed_as_coordinator(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    body = require_coordinator_command()
    refusal = texts().plain("error.coordinator_only", "de")
    bob = await new_member(synapse, "bob")
    bot = await new_bot(synapse, tmp_path, unique("bot"))
    try:
        await bot.start()
        own_room = await invite_bot(bob, bot, "Bobs Raum")  # bob holds power level 100 here
        _, refused = await command(bob, own_room, bot, body)
        assert refused.source["content"]["body"] == refusal
        assert await bot.stop() == 0

        bot.env["BOT_COORDINATORS"] = bob.user_id
        await bot.start()
        _, accepted = await command(bob, own_room, bot, body)
        _, help_reply = await command(bob, own_room, bot, "!hilfe")
        assert accepted.source["content"]["body"] != refusal
        assert COORDINATOR_SECTION in help_reply.source["content"]["body"]
    finally:
        await bot.stop()
        await bob.close()


async def test_first_start_answers_no_history(synapse: LocalSynapse, tmp_path: Path) -> None:
    alice = await new_member(synapse, "alice")
    bot = await new_bot(synapse, tmp_path, unique("bot"))
    # As if the account had joined a room with another client before the bot ever ran.
    earlier = MemberClient(
        synapse.url, bot.user_id, bot.account.device_id, bot.account.access_token, "-"
    )
    try:
        joined_room = await create_room(alice, invite=[bot.user_id], name="Schon drin")
        await join(earlier, joined_room)
        invited_room = await create_room(alice, invite=[bot.user_id], name="Eingeladen")
        old = [await send_text(alice, room, "!hilfe") for room in (joined_room, invited_room)]

        await bot.start()
        await wait_for_event(alice, invited_room, membership_of(bot.user_id, "join"), REPLY_WAIT)
        for room_id, old_id in zip((joined_room, invited_room), old, strict=True):
            await command(alice, room_id, bot, "!hilfe")
            assert await replies_to(alice, room_id, bot, old_id) == 0
    finally:
        await bot.stop()
        await earlier.close()
        await alice.close()


async def test_rate_limited_replies_are_delayed_not_dropped(tmp_path: Path) -> None:
    """Default Synapse limits allow about ten quick messages, then one per five seconds."""
    async with LocalSynapse(tmp_path / "synapse", relaxed_limits=False) as strict:
        root = await admin_client(strict)
        member = await new_member(strict, "member")
        await exempt_from_rate_limits(root, member.user_id)  # only the bot meets the limits
        # A flood limit of its own would answer some commands with a warning instead.
        bot = await new_bot(strict, tmp_path / "bot", unique("bot"), flood_burst="50")
        try:
            await bot.start()
            room_id = await invite_bot(member, bot, "Viel los")
            sent = [await send_text(member, room_id, "!hilfe") for _ in range(15)]

            answered = await wait_for_replies(member, room_id, bot, sent, timeout=60)
            assert answered == sent  # all of them, in order
            assert "rate limited" in bot.log_tail(400)
        finally:
            await bot.stop()
            for client in (root, member):
                await client.close()
