"""Feedback against a real Synapse: the prompt, reactions as ratings, reports, no loss on crash."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nio import (
    Event,
    ReactionEvent,
    RoomMemberEvent,
    RoomMessageNotice,
    RoomRedactResponse,
    RoomSendResponse,
)
from sqlalchemy import func, select

from bot.demo.homeserver import LocalSynapse
from storage.db import Database
from storage.models import CalendarEvent, FeedbackRating
from storage.pseudonyms import SECRET_KEY, pseudonymise

from .botproc import BotProcess, new_bot
from .synapse import MemberClient, create_room, new_member, send_text, wait_for_event

pytestmark = pytest.mark.integration

KEYS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
WAIT = 30.0
BURST_USERS = 4
BURST_OPS = 50  # per user: 200 reactions and redactions in all


@dataclass
class World:
    bot: BotProcess
    db: Database  # the bot's own SQLite file, read by the test
    room: str
    carol: MemberClient  # coordinator
    members: dict[str, MemberClient]
    talk: int  # event rated by hand
    burst: int  # event for the crash test
    prompts: dict[int, str]
    coordination: str  # carol's direct chat with the bot, where private reports arrive


async def seed(url: str) -> tuple[int, int]:
    """Two events that ended a minute ago: their prompts are due as soon as the bot starts."""
    db = Database(url)
    await db.upgrade()
    start = datetime.now(UTC) - timedelta(minutes=31)
    async with db.transaction() as session:
        events = [
            CalendarEvent(title=title, starts_at=start, minutes=30, created_by="@coord:localhost")
            for title in ("Fördermittel kompakt", "Lastspitzen im Netz")
        ]
        session.add_all(events)
    await db.dispose()
    return events[0].id, events[1].id


def notice_from(bot: BotProcess, needle: str) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        return (
            isinstance(event, RoomMessageNotice)
            and event.sender == bot.user_id
            and needle in event.body
        )

    return matches


def joined(bot: BotProcess) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        return (
            isinstance(event, RoomMemberEvent)
            and event.state_key == bot.user_id
            and event.membership == "join"
        )

    return matches


async def ask(member: MemberClient, world: World, body: str, room: str | None = None) -> str:
    """Send a command (in the announcement room unless `room` is given) and return the text
    of the bot's reply to it."""
    room = room or world.room
    event_id = await send_text(member, room, body)

    def reply(event: Event) -> bool:
        relates = event.source.get("content", {}).get("m.relates_to") or {}
        in_reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
        return event.sender == world.bot.user_id and in_reply_to == event_id

    answer = await wait_for_event(member, room, reply, WAIT)
    return answer.body  # type: ignore[attr-defined,no-any-return]


async def react(member: MemberClient, room: str, prompt: str, key: str) -> str:
    content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": prompt, "key": key}}
    resp = await member.room_send(room, "m.reaction", content)
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


async def unreact(member: MemberClient, room: str, reaction: str) -> None:
    resp = await member.room_redact(room, reaction)
    assert isinstance(resp, RoomRedactResponse), resp


@pytest.fixture(scope="module")
async def world(
    synapse: LocalSynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    names = ["alice", "carol", "bob", "dave", "erin"] + [f"b{n}" for n in range(BURST_USERS)]
    clients = {name: await new_member(synapse, name) for name in names}
    alice, carol = clients["alice"], clients["carol"]
    others = [c.user_id for n, c in clients.items() if n != "alice"]
    room = await create_room(alice, invite=others, name="Ankündigungen")
    for name, client in clients.items():
        if name != "alice":
            await client.join(room)
    directory: Path = tmp_path_factory.mktemp("feedback-bot")
    bot = await new_bot(
        synapse,
        directory,
        f"fbbot-{uuid.uuid4().hex[:8]}",
        invite_allowlist=f"{alice.user_id},{carol.user_id}",
        coordinators=carol.user_id,
        announcement_rooms=room,
        announce_before="1d",
        feedback_delay="0m",
        e2ee="false",
    )
    url = bot.env["BOT_DATABASE_URL"]
    talk, burst = await seed(url)
    await alice.room_invite(room, bot.user_id)
    await bot.start()
    db = Database(url)
    try:
        prompts = {}
        for event_id in (talk, burst):
            prompt = await wait_for_event(alice, room, notice_from(bot, f"(ID {event_id})"), WAIT)
            prompts[event_id] = prompt.event_id
        members = {n: c for n, c in clients.items() if n not in ("alice", "carol")}
        direct = await create_room(carol, invite=[bot.user_id], direct=True)
        await wait_for_event(carol, direct, joined(bot), WAIT)
        yield World(bot, db, room, carol, members, talk, burst, prompts, direct)
    finally:
        await db.dispose()
        if bot.process and bot.process.poll() is None:
            await bot.stop()
        for client in clients.values():
            await client.close()


async def test_prompt_comes_with_the_five_keycaps(world: World) -> None:
    observer = world.members["erin"]
    prompt = world.prompts[world.talk]
    seen: set[str] = set()
    deadline = time.monotonic() + WAIT
    while seen != set(KEYS):
        assert time.monotonic() < deadline, f"bot reactions seen: {seen}"
        event = await wait_for_event(
            observer,
            world.room,
            lambda e: (
                isinstance(e, ReactionEvent)
                and e.sender == world.bot.user_id
                and e.reacts_to == prompt
            ),
            WAIT,
        )
        seen.add(event.key)  # type: ignore[attr-defined]


async def test_members_rate_change_and_remove_and_the_report_adds_up(world: World) -> None:
    bob, dave, erin = (world.members[n] for n in ("bob", "dave", "erin"))
    prompt = world.prompts[world.talk]
    await react(bob, world.room, prompt, "4️⃣")
    await react(bob, world.room, prompt, "5️⃣")  # changes his mind: the newer one counts
    await react(dave, world.room, prompt, "2️⃣")
    removed = await react(erin, world.room, prompt, "3️⃣")
    await unreact(erin, world.room, removed)
    await send_text(dave, world.room, "Bitte mehr Praxisbeispiele")  # not a reply: no comment
    thanks = await ask_reply(dave, world, prompt, "Die Folien vorab wären hilfreich")
    assert "Danke für Ihren Kommentar" in thanks and "Folien" not in thanks

    report = await ask(world.carol, world, f"/feedback report {world.talk}", world.coordination)
    assert "Bewertungen: 2 · Durchschnitt: 3,5 von 5" in report, report
    for line in ("5 ★: 1", "4 ★: 0", "3 ★: 0", "2 ★: 1", "1 ★: 0"):
        assert line in report
    assert "Die Folien vorab wären hilfreich" in report
    assert "Bitte mehr Praxisbeispiele" not in report
    assert "Rücklauf: 2 von " in report
    for member in (bob, dave, erin):
        assert member.user_id not in report

    refused = await ask(bob, world, f"/feedback report {world.talk}")
    assert "Das dürfen nur Koordinatorinnen und Koordinatoren" in refused


async def ask_reply(member: MemberClient, world: World, prompt: str, body: str) -> str:
    """Reply to the prompt (a rich reply, as Element sends it) and return the bot's answer."""
    resp = await member.room_send(
        world.room,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": body,
            "m.relates_to": {"m.in_reply_to": {"event_id": prompt}},
        },
    )
    assert isinstance(resp, RoomSendResponse), resp

    def reply(event: Event) -> bool:
        relates = event.source.get("content", {}).get("m.relates_to") or {}
        return (relates.get("m.in_reply_to") or {}).get("event_id") == resp.event_id

    answer = await wait_for_event(member, world.room, reply, WAIT)
    return answer.body  # type: ignore[attr-defined,no-any-return]


async def test_ratings_given_while_the_bot_is_stopped_count(world: World) -> None:
    assert await world.bot.stop() == 0, world.bot.log_tail()
    await react(world.members["erin"], world.room, world.prompts[world.talk], "1️⃣")
    await world.bot.start()
    report = await ask(world.carol, world, f"/feedback report {world.talk}", world.coordination)
    assert "Bewertungen: 3 · Durchschnitt: 2,7 von 5" in report, report
    assert "1 ★: 1" in report


async def test_a_burst_survives_sigkill_with_every_rating_once(world: World) -> None:
    prompt = world.prompts[world.burst]
    users = [world.members[f"b{n}"] for n in range(BURST_USERS)]
    expected: dict[str, tuple[int, str] | None] = {}
    sent = 0
    killed = asyncio.Event()

    async def rate_many(index: int, member: MemberClient) -> None:
        """24 react-and-remove pairs, then two reactions (the last counts) – or, for the last
        user, a final removal, so that user ends with no rating."""
        nonlocal sent
        for n in range(BURST_OPS // 2 - 1):
            reaction = await react(member, world.room, prompt, KEYS[(n + index) % 5])
            await unreact(member, world.room, reaction)
            sent += 2
        first = await react(member, world.room, prompt, KEYS[index % 5])
        final_key = KEYS[(index + 2) % 5]
        if index == BURST_USERS - 1:
            await unreact(member, world.room, first)
            expected[member.user_id] = None
        else:
            last = await react(member, world.room, prompt, final_key)
            expected[member.user_id] = (KEYS.index(final_key) + 1, last)
        sent += 2

    async def kill_midway() -> None:
        while sent < BURST_USERS * BURST_OPS // 2:
            await asyncio.sleep(0.01)
        await world.bot.kill()
        killed.set()

    started = time.monotonic()
    killer = asyncio.create_task(kill_midway())
    await asyncio.gather(*(rate_many(i, m) for i, m in enumerate(users)))
    await asyncio.wait_for(killed.wait(), WAIT)
    await killer
    send_seconds = time.monotonic() - started
    restarted = time.monotonic()
    await world.bot.start()

    secret = bytes.fromhex(await world.db.get_state(SECRET_KEY) or "")
    wanted = {
        pseudonymise(secret, user): value for user, value in expected.items() if value is not None
    }
    deadline = time.monotonic() + WAIT
    while True:
        async with world.db.read() as session:
            rows = list(
                await session.scalars(
                    select(FeedbackRating).where(FeedbackRating.event_id == world.burst)
                )
            )
        got = {r.pseudonym: (r.stars, r.reaction_event_id) for r in rows}
        if got == wanted and len(rows) == len(wanted):
            break
        assert time.monotonic() < deadline, f"ratings {got} never became {wanted}"
        await asyncio.sleep(0.2)
    converged = time.monotonic() - restarted
    async with world.db.read() as session:
        duplicates = await session.scalar(
            select(func.count()).select_from(
                select(FeedbackRating.pseudonym)
                .where(FeedbackRating.event_id == world.burst)
                .group_by(FeedbackRating.pseudonym)
                .having(func.count() > 1)
                .subquery()
            )
        )
    assert duplicates == 0
    report = await ask(world.carol, world, f"/feedback report {world.burst}", world.coordination)
    assert f"Bewertungen: {len(wanted)} ·" in report, report
    print(
        f"\nburst: {sent} reactions/redactions from {BURST_USERS} users in {send_seconds:.1f}s, "
        f"bot SIGKILLed after {BURST_USERS * BURST_OPS // 2}; converged {converged:.1f}s after "
        f"restart; ratings stored {len(rows)} (expected {len(wanted)}), duplicates {duplicates}"
    )
