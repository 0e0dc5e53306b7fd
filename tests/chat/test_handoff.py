"""Handoff through the dispatcher: a question the bot cannot answer goes to the coordination
room once, a coordinator's reply there comes back to every asker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import build_dispatcher
from bot.core.dispatcher import Dispatcher
from bot.core.messages import EventId, Reaction, RoomId, UserId
from bot.knowledge import handoff as rules
from bot.services import Services, build_services
from config.settings import Settings
from storage import handoff as records
from storage.models import HandoffLink
from tests.fakes import COORDINATOR, MEMBER, ROOM, Clock, Conversation, RecordingTransport, Sent

COORD = RoomId("!coordination:localhost")
DM = RoomId("!dm-other:localhost")
OTHER = UserId("@other:localhost")
THIRD = UserId("@third:localhost")
ROOT = EventId("$thread-root")
QUESTION = "!frage Gibt es einen Newsletter der Servicestelle?"
SIMILAR = "Gibt es einen Newsletter?"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings, with a coordination room."""
    return settings.model_copy(update={"coordination_room": COORD})


class Desk:
    """The bot with a coordination room: members ask, coordinators answer, all recorded."""

    def __init__(self, services: Services, transport: RecordingTransport) -> None:
        self.services = services
        self.transport = transport
        self.dispatcher: Dispatcher = build_dispatcher(services, flood=False)
        self.chat = Conversation(self.dispatcher)
        self.chat.transport = transport
        services.handoff.attach(services, transport)
        self._reactions = 0

    async def say(self, body: str, **extra: Any) -> list[str]:
        replies = await self.chat(body, **extra)
        await self.settle()
        return replies

    async def settle(self) -> None:
        await self.services.handoff.settled()
        await self.services.handoff.deliver(self.services, self.transport)

    def posts(self) -> list[Sent]:
        return [s for s in self.transport.sent if s.room_id == COORD and s.to is None]

    def post(self) -> Sent:
        [post] = self.posts()
        return post

    def relays(self) -> list[Sent]:
        """What reached the askers from the coordination team (answers, corrections)."""
        heads = ("Antwort des Koordinationsteams", "Korrektur:", "The coordination team")
        return [s for s in self.transport.sent if s.reply.text.startswith(heads)]

    async def answer(
        self, text: str, *, user: UserId = COORDINATOR, thread: bool = False
    ) -> list[str]:
        post = self.post().event_id
        where = {"thread_root": post} if thread else {"reply_to": post}
        return await self.say(text, user=user, room=COORD, direct=False, **where)

    async def react(self, key: str = "✅", *, user: UserId = COORDINATOR) -> None:
        self._reactions += 1
        reaction = Reaction(
            COORD,
            user,
            EventId(f"$reaction-{self._reactions}"),
            self.post().event_id,
            key,
            datetime.now(UTC),
        )
        await self.dispatcher.handle_reaction(reaction)
        await self.settle()

    async def ask_both(self) -> None:
        """One member asks in a room's thread, another in a direct chat."""
        await self.say(QUESTION, room=ROOM, direct=False, thread_root=ROOT)
        await self.say(SIMILAR, user=OTHER, room=DM, direct=True)


@pytest.fixture
async def desk(services: Services) -> AsyncIterator[Desk]:
    transport = RecordingTransport(coordination=COORD, names={ROOM: "Lobby Nord"})
    yield Desk(services, transport)
    await services.handoff.settled()


async def test_question_is_posted_once_and_the_asker_told(desk: Desk) -> None:
    [told] = await desk.say(QUESTION, room=ROOM, direct=False, thread_root=ROOT)
    assert "Koordinationsteam" in told and "hier" in told
    post = desk.post().reply.text
    assert "Frage #" in post and "Newsletter der Servicestelle" in post and "Lobby Nord" in post
    assert MEMBER not in post and "member" not in post
    await desk.settle()
    await desk.settle()
    assert len(desk.posts()) == 1


async def test_similar_question_joins_the_item_and_edits_the_count(desk: Desk) -> None:
    await desk.ask_both()
    post = desk.post()  # still one post
    shown = desk.transport.shown(post.event_id)
    assert "2× gefragt" in shown and "Direktnachricht" in shown and "Lobby Nord" in shown
    assert OTHER not in shown


async def test_coordinator_answer_reaches_every_asker_in_place(desk: Desk) -> None:
    await desk.ask_both()
    await desk.answer("Ja, monatlich per E-Mail.")
    relays = desk.relays()
    assert {r.room_id for r in relays} == {ROOM, DM}
    in_room = next(r for r in relays if r.room_id == ROOM)
    assert in_room.to is not None and in_room.to.thread_root == ROOT  # in the asker's thread
    assert in_room.to.sender == MEMBER  # a reply to the question, mentioning the asker
    for relay in relays:
        assert "Koordinationsteam" in relay.reply.text
        assert "monatlich per E-Mail" in relay.reply.text
    [confirm] = [s for s in desk.transport.sent if s.room_id == COORD and s.to is not None]
    assert "An 2 Fragende weitergeleitet" in confirm.reply.text
    assert "Beantwortet" in desk.transport.shown(desk.post().event_id)


async def test_answer_in_the_thread_counts_too_and_second_answer_is_a_correction(
    desk: Desk,
) -> None:
    await desk.ask_both()
    await desk.answer("Ja, monatlich.", thread=True)
    await desk.answer("Korrigiert: alle zwei Monate.", thread=True)
    relays = desk.relays()
    assert len(relays) == 4
    corrections = [r for r in relays if "Korrektur" in r.reply.text]
    assert len(corrections) == 2 and all("alle zwei Monate" in r.reply.text for r in corrections)


async def test_links_and_english_pass_through_escaped(desk: Desk) -> None:
    await desk.say("!ask Is there a newsletter of the service centre?", room=ROOM, direct=False)
    await desk.answer("Yes: see https://example.org/news <b>monthly</b>")
    [relay] = desk.relays()
    assert "https://example.org/news <b>monthly</b>" in relay.reply.text
    assert relay.reply.html is not None
    assert '<a href="https://example.org/news">' in relay.reply.html
    assert "&lt;b&gt;monthly" in relay.reply.html
    assert relay.reply.text.startswith("The coordination team")  # the asker's language


async def test_check_mark_saves_the_answer_and_next_question_is_answered_directly(
    desk: Desk,
) -> None:
    await desk.ask_both()
    await desk.answer("Ja, monatlich per E-Mail.")
    await desk.react("✅")
    saved = [s for s in desk.transport.sent if s.room_id == COORD and "Gespeichert" in s.reply.text]
    assert len(saved) == 1 and saved[0].to is not None
    assert saved[0].to.thread_root == desk.post().event_id
    assert "gespeichert" in desk.transport.shown(desk.post().event_id)
    [direct] = await desk.say("!frage Gibt es einen Newsletter der Servicestelle?", user=THIRD)
    assert "monatlich per E-Mail" in direct
    [listing] = await desk.say("!faq unbeantwortet", user=COORDINATOR)
    assert "Newsletter" not in listing


async def test_open_items_are_listed_with_their_number(desk: Desk) -> None:
    await desk.ask_both()
    number = desk.post().reply.text.split("#")[1].split()[0]
    [listing] = await desk.say("!faq unbeantwortet", user=COORDINATOR)
    assert f"#{number} (2×)" in listing


async def test_faq_answer_command_also_reaches_the_askers(desk: Desk) -> None:
    await desk.ask_both()
    number = desk.post().reply.text.split("#")[1].split()[0]
    [saved] = await desk.say(f"!faq antwort {number} Ja, monatlich.", user=COORDINATOR)
    assert "beantwortet" in saved
    assert len(desk.relays()) == 2


async def test_close_tells_the_askers_politely(desk: Desk) -> None:
    await desk.ask_both()
    number = desk.post().reply.text.split("#")[1].split()[0]
    await desk.say(f"!faq schließen {number}", user=COORDINATOR)
    told = [s for s in desk.transport.sent if "leider nicht beantworten" in s.reply.text]
    assert {s.room_id for s in told} == {ROOM, DM}
    assert "Geschlossen" in desk.transport.shown(desk.post().event_id)


async def test_members_in_the_coordination_room_are_ignored(desk: Desk, services: Services) -> None:
    await desk.ask_both()
    before = len(desk.transport.sent)
    replies = await desk.answer("Ich glaube, nein.", user=THIRD)
    assert replies == [] and len(desk.transport.sent) == before
    await desk.react("✅", user=THIRD)
    [listing] = await desk.say("!faq unbeantwortet", user=COORDINATOR)
    assert "Newsletter" in listing  # nothing was saved
    assert desk.relays() == []


async def test_asker_who_left_is_skipped_and_counted(desk: Desk) -> None:
    await desk.ask_both()
    desk.transport.left.add((ROOM, MEMBER))
    await desk.answer("Ja.")
    assert {r.room_id for r in desk.relays()} == {DM}
    [confirm] = [s for s in desk.transport.sent if s.room_id == COORD and s.to is not None]
    assert (
        "An 1 Fragende" in confirm.reply.text and "1 habe ich nicht erreicht" in confirm.reply.text
    )


async def test_links_are_kept_until_answered_plus_30_days(settings: Settings) -> None:
    clock = Clock(datetime.now(UTC))
    services = await build_services(settings, clock)
    try:
        desk = Desk(services, RecordingTransport(coordination=COORD))
        await desk.ask_both()
        await rules.forget_links(services)
        assert await _links(services) == 2  # open: kept
        await desk.answer("Ja.")
        clock.now += timedelta(days=29)
        await rules.forget_links(services)
        assert await _links(services) == 2
        clock.now += timedelta(days=2)
        await rules.forget_links(services)
        assert await _links(services) == 0
    finally:
        await services.handoff.settled()
        await services.db.dispose()


async def _links(services: Services) -> int:
    async with services.db.read() as session:
        return (await session.scalar(select(func.count()).select_from(HandoffLink))) or 0


async def test_restart_neither_posts_twice_nor_loses_an_answer(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = RecordingTransport(coordination=COORD)  # the homeserver, across restarts
    first = await build_services(settings)
    desk = Desk(first, transport)
    real = records.mark_posted

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed after the post went out")

    monkeypatch.setattr(records, "mark_posted", crash)
    await desk.chat(QUESTION, room=ROOM, direct=False)
    await first.handoff.settled()
    assert len(desk.posts()) == 1
    await first.db.dispose()

    monkeypatch.setattr(records, "mark_posted", real)
    second = await build_services(settings)
    desk = Desk(second, transport)
    await desk.settle()  # the start-up delivery resends with the same transaction id
    assert len(desk.posts()) == 1
    transport.down = True  # the answer arrives, the relay does not get out
    await desk.answer("Ja, monatlich.")
    transport.down = False
    await second.handoff.settled()
    await second.db.dispose()

    third = await build_services(settings)
    try:
        desk = Desk(third, transport)
        await desk.settle()
        await desk.settle()
        assert len(desk.relays()) == 1
        assert len(desk.posts()) == 1
    finally:
        await third.handoff.settled()
        await third.db.dispose()


async def test_without_coordination_room_nothing_changes(chat) -> None:
    [text] = await chat(QUESTION)
    assert "Koordination der Servicestelle" in text and "Koordinationsteam" not in text
    assert chat.transport.sent and all(s.room_id != COORD for s in chat.transport.sent)


async def test_check_mark_after_a_correction_updates_the_saved_entry(desk: Desk) -> None:
    await desk.ask_both()
    await desk.answer("Ja, monatlich.")
    await desk.react("✅")
    await desk.answer("Korrigiert: alle zwei Monate.")
    await desk.react("✅")
    saved = [s for s in desk.transport.sent if s.room_id == COORD and "Gespeichert" in s.reply.text]
    assert len(saved) == 2
    [direct] = await desk.say("!frage Gibt es einen Newsletter der Servicestelle?", user=THIRD)
    assert "alle zwei Monate" in direct


async def test_forget_me_also_removes_the_link_to_the_question(
    desk: Desk, services: Services
) -> None:
    await desk.ask_both()
    await desk.say("!daten-loeschen", user=OTHER, room=DM)
    await desk.say("!daten-loeschen bestätigen", user=OTHER, room=DM)
    assert await _links(services) == 1
    await desk.answer("Ja.")
    assert {r.room_id for r in desk.relays()} == {ROOM}
