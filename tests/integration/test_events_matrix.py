"""Scheduled event posts against a real Synapse: each reminder exactly once in every room,
across a restart between two slots and a SIGKILL right after a send."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import pytest
from nio import Event, RoomGetStateEventResponse, RoomMemberEvent, RoomMessagesResponse
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.demo.homeserver import LocalSynapse
from storage.models import EventPost

from .botproc import BotProcess, new_bot
from .synapse import MemberClient, create_room, new_member, send_text, wait_for_event

pytestmark = pytest.mark.integration

BERLIN = ZoneInfo("Europe/Berlin")
LEAD = timedelta(seconds=60)  # the event starts this long after it is added
TITLE = "Wasserstoff-Netzwerk"


@dataclass
class Stage:
    bot: BotProcess
    coordinator: MemberClient
    member: MemberClient
    rooms: tuple[str, str]
    db: AsyncEngine


@pytest.fixture(scope="module")
async def stage(
    synapse: LocalSynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stage]:
    coordinator = await new_member(synapse, "coord")
    member = await new_member(synapse, "member")
    rooms = (
        await create_room(coordinator, invite=[member.user_id], name="Ankündigungen"),
        await create_room(coordinator, name="Netzwerk"),
    )
    await member.join(rooms[0])
    directory = tmp_path_factory.mktemp("events-bot")
    bot = await new_bot(
        synapse,
        directory,
        f"bot-{uuid.uuid4().hex[:8]}",
        coordinators=coordinator.user_id,
        announcement_rooms=",".join(rooms),
        announce_before="40s,20s",
        e2ee="false",
    )
    for room in rooms:
        await coordinator.room_invite(room, bot.user_id)
    await bot.start()
    db = create_async_engine(f"sqlite+aiosqlite:///{Path(directory) / 'bot.db'}")
    try:
        for room in rooms:
            await wait_for_event(coordinator, room, joined(bot.user_id), 20)
        yield Stage(bot, coordinator, member, rooms, db)
    finally:
        await db.dispose()
        if bot.process is not None and bot.process.poll() is None:
            assert await bot.stop() == 0, bot.log_tail()
        for client in (coordinator, member):
            await client.close()


def joined(user_id: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        return (
            isinstance(event, RoomMemberEvent)
            and event.state_key == user_id
            and event.membership == "join"
        )

    return matches


def reply_to(bot: BotProcess, event_id: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        relates = event.source.get("content", {}).get("m.relates_to") or {}
        return (
            event.sender == bot.user_id
            and (relates.get("m.in_reply_to") or {}).get("event_id") == event_id
        )

    return matches


def post(bot: BotProcess, prefix: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        body = event.source.get("content", {}).get("body", "")
        return event.sender == bot.user_id and body.startswith(prefix) and TITLE in body

    return matches


async def command(client: MemberClient, room: str, bot: BotProcess, body: str) -> str:
    event_id = await send_text(client, room, body)
    reply = await wait_for_event(client, room, reply_to(bot, event_id), 20)
    return str(reply.source["content"]["body"])


async def scheduled_posts(client: MemberClient, room: str, bot: BotProcess) -> list[Event]:
    """The bot's messages in `room` that are not replies to a command, oldest first."""
    history = await client.room_messages(room, limit=100)
    assert isinstance(history, RoomMessagesResponse), history
    return [
        event
        for event in reversed(history.chunk)
        if event.sender == bot.user_id
        and "content" in event.source
        and event.source["content"].get("msgtype") in ("m.notice", "m.file")
        and not (event.source["content"].get("m.relates_to") or {}).get("m.in_reply_to")
    ]


async def rows(db: AsyncEngine) -> list[EventPost]:
    async with db.connect() as conn:
        return list((await conn.execute(select(EventPost).order_by(EventPost.id))).all())


async def until(moment: datetime) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


async def test_member_may_not_add_events(stage: Stage) -> None:
    text = await command(
        stage.member, stage.rooms[0], stage.bot, "/webinar add 03.12.2030 14:00 | Heimlich"
    )
    assert text.startswith("Das dürfen nur Koordinatorinnen")
    assert await rows(stage.db) == []


async def test_every_reminder_exactly_once_across_restart_and_kill(stage: Stage) -> None:
    bot, watcher = stage.bot, stage.coordinator
    start = (datetime.now(UTC) + LEAD).replace(microsecond=0)
    local = start.astimezone(BERLIN)
    line = f"/webinar add {local:%d.%m.%Y %H:%M:%S} | {TITLE} | https://example.org/live"
    assert "ID 1" in await command(watcher, stage.rooms[0], bot, line)

    # The 40 s reminder arrives in both rooms; then the bot is stopped between two slots.
    for room in stage.rooms:
        await wait_for_event(watcher, room, post(bot, "Erinnerung"), 40)
    assert await bot.stop() == 0, bot.log_tail()
    await until(start - timedelta(seconds=18))  # the 20 s reminder falls into the downtime
    await bot.start()
    for room in stage.rooms:  # posted late, since the event has not started yet
        await wait_for_event(watcher, room, post(bot, "Erinnerung"), 15)

    # Killed right after the start post went out. To make it the worst case, the start posts
    # are marked unconfirmed, as if the kill came between the send and the database write.
    for room in stage.rooms:
        await wait_for_event(watcher, room, post(bot, "Jetzt geht es los"), 30)
    await bot.kill()
    async with stage.db.begin() as conn:
        await conn.execute(
            update(EventPost)
            .where(EventPost.kind == "start")
            .values(state="sending", matrix_event_id=None)
        )
    await bot.start()
    deadline = time.monotonic() + 20
    while {r.state for r in await rows(stage.db) if r.kind == "start"} != {"sent"}:
        assert time.monotonic() < deadline, bot.log_tail()
        await asyncio.sleep(0.2)

    assert bot.log_tail(400).count("resending unconfirmed start") == 2  # same txn ids
    recorded = await rows(stage.db)
    assert sorted((r.kind, r.state) for r in recorded) == sorted(
        [("reminder", "sent"), ("reminder", "sent"), ("start", "sent")] * 2
    )
    for room in stage.rooms:
        posts = await scheduled_posts(watcher, room, bot)
        kinds = [p.source["content"]["msgtype"] for p in posts]
        assert kinds == ["m.file", "m.notice", "m.notice", "m.notice"], bot.log_tail()
        assert posts[0].source["content"]["body"] == "termin-1.ics"
        assert [p.event_id for p in posts[1:]] == [
            r.matrix_event_id for r in recorded if r.room_id == room
        ]
        bodies = [p.source["content"]["body"] for p in posts[1:]]
        assert bodies[0].startswith(f"Erinnerung: Webinar „{TITLE}“ beginnt")
        assert "https://example.org/live" in bodies[0]
        assert bodies[2].startswith(f"Jetzt geht es los: Webinar „{TITLE}“")


async def test_calendar_feed_parses(stage: Stage) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stage.bot.http_url}/webinars.ics") as response,
    ):
        assert response.status == 200
        assert response.content_type == "text/calendar"
        calendar = icalendar.Calendar.from_ical(await response.read())
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == TITLE
    assert str(event["UID"]) == "event-1@localhost"
    assert str(event["STATUS"]) == "CONFIRMED"


async def test_a_room_ping_notifies_everyone_only_where_the_bot_may(stage: Stage) -> None:
    bot, watcher = stage.bot, stage.coordinator
    news, network = stage.rooms
    state = await watcher.room_get_state_event(news, "m.room.power_levels")
    assert isinstance(state, RoomGetStateEventResponse), state
    levels = dict(state.content)
    levels["users"] = {**levels.get("users", {}), bot.user_id: 50}  # "room" notifications: 50
    await watcher.room_put_state(news, "m.room.power_levels", levels)
    start = (datetime.now(UTC) + LEAD).replace(microsecond=0)  # first reminder in 20 s
    line = f"/webinar add {start.astimezone(BERLIN):%d.%m.%Y %H:%M:%S} | {TITLE} Zwei"
    added = await command(watcher, news, bot, line)
    event_id = added.split("ID ", 1)[1].split()[0].rstrip(":,.")

    deadline = time.monotonic() + 15  # until the bot has synced its new power level
    while "Ankündigungen" in (
        answer := await command(watcher, news, bot, f"/webinar edit {event_id} alle=ja")
    ):
        assert time.monotonic() < deadline, answer
    assert "darf ich nicht alle benachrichtigen" in answer and "Netzwerk" in answer

    def reminder(event: Event) -> bool:
        body = event.source.get("content", {}).get("body", "")
        return event.sender == bot.user_id and f"„{TITLE} Zwei“" in body and "Erinnerung" in body

    pinged = await wait_for_event(watcher, news, reminder, 30)
    assert pinged.source["content"]["m.mentions"] == {"user_ids": [], "room": True}
    assert pinged.source["content"]["body"].startswith("@room Erinnerung:")
    plain = await wait_for_event(watcher, network, reminder, 30)
    assert plain.source["content"]["m.mentions"] == {"user_ids": []}
    assert plain.source["content"]["body"].startswith("Erinnerung:")
