"""Webinar commands over the shell transport, and the announcer with an injected clock."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, update

from bot.adapters.shell import ShellTransport
from bot.app import build_dispatcher
from bot.core.dispatcher import Dispatcher
from bot.core.messages import EventId, Incoming, RoomId, UserId
from bot.core.transport import Transport
from bot.events.announcer import RETRY_UNCONFIRMED, Announcer, job_id
from bot.events.edit import apply_edit, parse_change
from bot.services import Services, build_services
from config.settings import Settings
from handlers.events import REBUILD, calendar_feed
from storage.models import CalendarEvent, EventPost
from tests.fakes import Clock, RecordingTransport

COORDINATOR = UserId("@coord:localhost")
MEMBER = UserId("@member:localhost")
ROOMS = [RoomId("!news:localhost"), RoomId("!lobby:localhost")]
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def services(tmp_path: Path, clock: Clock) -> AsyncIterator[Services]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        store_path=tmp_path / "store",
        coordinators=[COORDINATOR],
        user_id="@bot:localhost",
        announce_before=[timedelta(days=1), timedelta(hours=1)],
        feedback_delay=timedelta(minutes=10),
        http_port=8099,
    )
    built = await build_services(settings, clock=clock)
    yield built
    await built.db.dispose()


@pytest.fixture
def dispatcher(services: Services) -> Dispatcher:
    return build_dispatcher(services, flood=False)


@pytest.fixture
def homeserver() -> RecordingTransport:
    return RecordingTransport(rooms=list(ROOMS))


@pytest.fixture
def announcer(services: Services) -> Announcer:
    return services.announcer


_ids = itertools.count(1)


async def say(
    dispatcher: Dispatcher,
    body: str,
    user: UserId = COORDINATOR,
    transport: Transport | None = None,
) -> str:
    msg = Incoming(
        RoomId("!shell"), user, EventId(f"$in-{next(_ids)}"), body, dispatcher.services.clock()
    )
    replies = await dispatcher.handle(msg, transport or ShellTransport(coordinator=False))
    return "\n".join(r.text for r in replies)


async def count_events(services: Services) -> int:
    async with services.db.read() as session:
        return await session.scalar(select(func.count()).select_from(CalendarEvent)) or 0


async def posts(services: Services) -> list[EventPost]:
    async with services.db.read() as session:
        return list(await session.scalars(select(EventPost).order_by(EventPost.id)))


# -- commands --------------------------------------------------------------------------------


async def test_coordinator_adds_and_lists_an_event(dispatcher: Dispatcher) -> None:
    text = await say(dispatcher, "/webinar add 03.12.2026 14:00 | Wasserstoff | https://ex.org/w")
    assert "ID 1" in text and "Do., 03.12.2026, 14:00 Uhr" in text and "60 Minuten" in text
    assert "Erinnerungen" not in text  # no announcement rooms: nobody would be reminded
    listing = await say(dispatcher, "!webinar list")
    assert "ID 1 · Webinar „Wasserstoff“ · Do., 03.12.2026, 14:00 Uhr · 60 Min." in listing


async def test_reminders_are_promised_only_with_announcement_rooms(
    dispatcher: Dispatcher, services: Services
) -> None:
    services.settings.announcement_rooms = list(ROOMS)
    text = await say(dispatcher, "/webinar add 03.12.2026 14:00 | Wasserstoff")
    assert text.endswith("Die Ankündigungsräume bekommen Erinnerungen.")


async def test_member_may_not_add_and_nothing_is_stored(
    dispatcher: Dispatcher, services: Services
) -> None:
    text = await say(dispatcher, "/webinar add 03.12.2026 14:00 | Heimlich", user=MEMBER)
    assert text.startswith("Das dürfen nur Koordinatorinnen")
    assert await count_events(services) == 0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/webinar add 24.11.2026 14:00 | Gestern", "in der Vergangenheit"),
        ("/webinar add 31.11.2026 14:00 | Kein Tag", "Den 31.11.2026 gibt es im Kalender nicht"),
        ("/webinar add 03.12.2026 14:00 |  ", "Bitte geben Sie nach dem „|“ einen Titel an"),
        ("/webinar add 03.12.2026 14:00 | T | ftp://x.de", "„ftp://x.de“ ist kein gültiger Link"),
        ("/webinar add 03.12.2026 25:00 | T", "Die Uhrzeit 25:00 gibt es nicht"),
        ("/webinar add 28.03.2027 02:15 | T", "wegen der Umstellung auf Sommerzeit"),
        ("/webinar add", "Aufruf: !webinar add DATUM ZEIT | TITEL"),
    ],
)
async def test_bad_input_gets_a_precise_error_and_stores_nothing(
    dispatcher: Dispatcher, services: Services, line: str, expected: str
) -> None:
    text = await say(dispatcher, line)
    assert expected in text
    assert "Aufruf: !webinar add" in text
    assert await count_events(services) == 0


async def test_errors_follow_the_users_language(dispatcher: Dispatcher) -> None:
    await say(dispatcher, "!language en")
    text = await say(dispatcher, "/webinar add 2026-12-03 14:00 | T | not a link")
    assert text.startswith('"not a link" is not a valid link.')


async def test_series_is_stored_as_single_occurrences(
    dispatcher: Dispatcher, services: Services
) -> None:
    text = await say(dispatcher, "/webinar add 2026-12-03 14:00 | Reihe | alle 2 Wochen x3")
    assert "3 Termine" in text and "ID 1 bis ID 3" in text
    members = await say(dispatcher, "!webinare", user=MEMBER)
    assert members.count("Reihe") == 3
    assert "Do., 17.12.2026, 14:00 Uhr" in members
    cancelled = await say(dispatcher, "/webinar cancel 2 serie")
    assert "2 Termine der Serie" in cancelled
    assert (await say(dispatcher, "!webinare", user=MEMBER)).count("Reihe") == 1


async def test_members_see_upcoming_events_with_link_and_calendar(
    dispatcher: Dispatcher,
) -> None:
    assert "keine Webinare" in await say(dispatcher, "!webinare", user=MEMBER)
    await say(dispatcher, "/webinar add 03.12.2026 14:00 | Wasserstoff | https://ex.org/w | 90")
    await say(dispatcher, "/webinar add 01.12.2026 09:30 | Netzwerktreffen | Treffen")
    text = await say(dispatcher, "!webinars", user=MEMBER)
    assert text.splitlines()[:2] == [
        "Upcoming events:",
        '• Meeting "Netzwerktreffen" – Tue 1 Dec 2026, 09:30 (60 minutes)',
    ]
    assert "Join: https://ex.org/w" in text
    assert "http://127.0.0.1:8099/webinars.ics" in text


async def test_calendar_link_uses_the_public_url(
    dispatcher: Dispatcher, services: Services
) -> None:
    await say(dispatcher, "/webinar add 03.12.2026 14:00 | Wasserstoff")
    services.settings.public_url = "https://bot.example.org"
    text = await say(dispatcher, "!webinare", user=MEMBER)
    assert "Alle Termine für Ihren Kalender: https://bot.example.org/webinars.ics" in text
    assert "127.0.0.1" not in text
    services.settings.public_url, services.settings.http_port = None, 0
    assert "Kalender" not in await say(dispatcher, "!webinare", user=MEMBER)


def test_public_url_must_be_http_and_loses_its_trailing_slash() -> None:
    def public(value: str) -> str | None:
        return Settings(_env_file=None, public_url=value).public_url  # type: ignore[call-arg]

    assert public("https://bot.example.org/") == "https://bot.example.org"
    assert public("http://bot.example.org:8443/cal/") == "http://bot.example.org:8443/cal"
    assert public("") is None
    for bad in ("bot.example.org", "ftp://bot.example.org", "https://bot example.org"):
        with pytest.raises(ValidationError):
            public(bad)


async def test_ids_beyond_nine_digits_get_the_usage(dispatcher: Dispatcher) -> None:
    for line in ("/webinar cancel 99999999999999999999", "/webinar edit ٣ title=x"):
        assert (await say(dispatcher, line)).startswith("Aufruf: !webinar")


async def test_edit_changes_fields_and_refuses_bad_values(
    dispatcher: Dispatcher, services: Services
) -> None:
    await say(dispatcher, "/webinar add 03.12.2026 14:00 | Alt")
    renamed = await say(dispatcher, "/webinar edit 1 titel=Neu und besser")
    assert renamed.startswith("Geändert: ID 1 „Neu und besser“ – Titel: Neu und besser.")
    moved = await say(dispatcher, "/webinar edit 1 time=15:30")
    assert "– Beginn: Do., 03.12.2026, 15:30 Uhr." in moved
    assert "kenne ich nicht als Art" in await say(dispatcher, "/webinar edit 1 kind=Party")
    assert "in der Vergangenheit" in await say(dispatcher, "/webinar edit 1 date=01.01.2020")
    assert "Felder: title" in await say(dispatcher, "/webinar edit 1 farbe=blau")
    assert "ID 7 gibt es nicht" in await say(dispatcher, "/webinar edit 7 title=x")
    async with services.db.read() as session:
        event = await session.get(CalendarEvent, 1)
    assert event is not None
    assert (event.title, event.kind, event.sequence) == ("Neu und besser", "webinar", 2)
    assert event.starts_at == datetime(2026, 12, 3, 14, 30, tzinfo=UTC)


async def test_a_coordinator_has_the_posts_notify_everyone_where_the_bot_may(
    dispatcher: Dispatcher,
    services: Services,
    announcer: Announcer,
    homeserver: RecordingTransport,
    clock: Clock,
) -> None:
    news, lobby = ROOMS
    homeserver.may_ping = {news}
    homeserver.names = {lobby: "Lobby"}

    async def edit(change: str) -> str:  # where the bot knows the announcement rooms
        return await say(dispatcher, change, transport=homeserver)

    await say(dispatcher, "/webinar add 27.11.2026 14:00 | Wasserstoff")
    assert "ja“ oder „nein" in await edit("/webinar edit 1 alle=vielleicht")
    switched = await edit("/webinar edit 1 alle=ja")
    assert "@room (alle im Raum benachrichtigen): an." in switched
    assert "darf ich nicht alle benachrichtigen" in switched and "Lobby" in switched
    assert "· @room" in await say(dispatcher, "!webinar list")
    assert "aus." in await edit("/webinar edit 1 everyone=no")
    await edit("/webinar edit 1 room=an")

    start = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    for moment in (start - timedelta(hours=1), start + timedelta(minutes=70)):
        clock.now = moment
        await announcer.rebuild(homeserver)
    by_room = {room: [s.reply for s in homeserver.sent if s.room_id == room] for room in ROOMS}
    reminder, prompt = by_room[news]
    assert reminder.mention_room and reminder.text.startswith("@room Erinnerung:")
    assert not prompt.mention_room  # the feedback prompt notifies nobody
    assert not any(reply.mention_room or "@room" in reply.text for reply in by_room[lobby])
    async with services.db.read() as session:
        event = await session.get(CalendarEvent, 1)
    assert event is not None and event.sequence == 0  # no calendar holds the switch


# -- scheduled posts ---------------------------------------------------------------------------


async def test_each_slot_is_posted_once_per_room_at_its_time(
    dispatcher: Dispatcher,
    services: Services,
    announcer: Announcer,
    homeserver: RecordingTransport,
    clock: Clock,
) -> None:
    await say(dispatcher, "/webinar add 27.11.2026 14:00 | Wasserstoff | https://ex.org/w")
    start = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    await announcer.rebuild(homeserver)
    assert homeserver.sent == []
    assert services.jobs.due("event-1") == start - timedelta(days=1)

    for moment in (start - timedelta(days=1), start - timedelta(hours=1), start):
        clock.now = moment
        await announcer.wake(1, homeserver)
        await announcer.wake(1, homeserver)  # a second wake-up at the same time posts nothing
    clock.now = start + timedelta(minutes=70)
    await announcer.wake(1, homeserver)
    await announcer.rebuild(homeserver)

    for room in ROOMS:
        texts = homeserver.texts(room)
        assert len(texts) == 4
        assert texts[0].startswith("Erinnerung: Webinar „Wasserstoff“ beginnt morgen")
        assert texts[1].startswith("Erinnerung: Webinar „Wasserstoff“ beginnt in 1 Stunde")
        assert texts[2].startswith("Jetzt geht es los")
        assert texts[3].startswith("Wie war Webinar „Wasserstoff“ (ID 1)?")
    attachments = [a for s in homeserver.sent for a in s.reply.attachments]
    assert len(attachments) == 2  # only the first announcement in each room
    calendar = icalendar.Calendar.from_ical(attachments[0].data)
    assert str(calendar.walk("VEVENT")[0]["SUMMARY"]) == "Wasserstoff"
    assert len(homeserver.attempts) == len(homeserver.sent) == 8
    prompts = [p for p in await posts(services) if p.kind == "feedback"]
    assert {p.matrix_event_id for p in prompts} == {eid for _, eid, _ in homeserver.reactions}
    assert [key for _, _, key in homeserver.reactions[:5]] == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]


async def test_missed_reminders_only_latest_and_only_before_the_start(
    dispatcher: Dispatcher, announcer: Announcer, homeserver: RecordingTransport, clock: Clock
) -> None:
    await say(dispatcher, "/webinar add 27.11.2026 14:00 | Eins")
    await say(dispatcher, "/webinar add 26.11.2026 10:30 | Zwei")
    clock.now = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)  # down until 30 min before "Eins"
    await announcer.rebuild(homeserver)
    first, second = homeserver.texts(ROOMS[0])
    assert first.startswith("Wie war Webinar „Zwei“")  # its reminders and start are stale
    assert second.startswith("Erinnerung: Webinar „Eins“ beginnt in 30 Minuten")


async def test_restart_resends_only_unconfirmed_posts_with_the_same_txn_id(
    dispatcher: Dispatcher,
    services: Services,
    announcer: Announcer,
    homeserver: RecordingTransport,
    clock: Clock,
) -> None:
    await say(dispatcher, "/webinar add 27.11.2026 14:00 | Wasserstoff")
    clock.now = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    await announcer.rebuild(homeserver)
    assert len(homeserver.sent) == 2
    first, second = await posts(services)
    # Crash after the first post reached the homeserver but before it was confirmed;
    # the second room's post never left the bot.
    async with services.db.transaction() as session:
        await session.execute(
            update(EventPost).where(EventPost.id == first.id).values(state="sending")
        )
        await session.execute(
            update(EventPost)
            .where(EventPost.id == second.id)
            .values(state="sending", matrix_event_id=None)
        )
    homeserver.lose_last()
    homeserver.attempts.clear()

    clock.now += timedelta(minutes=5)
    restarted = Announcer(services)
    await restarted.rebuild(homeserver)
    await restarted.rebuild(homeserver)

    assert homeserver.attempts == [first.txn_id, second.txn_id]  # confirmed ones never again
    assert len(homeserver.sent) == 2  # the first was deduplicated, the second posted once
    again = await posts(services)
    assert [p.state for p in again] == ["sent", "sent"]
    assert again[0].matrix_event_id == first.matrix_event_id


async def test_a_refused_post_is_tried_again_soon_and_posted_once(
    dispatcher: Dispatcher,
    services: Services,
    announcer: Announcer,
    homeserver: RecordingTransport,
    clock: Clock,
) -> None:
    await say(dispatcher, "/webinar add 27.11.2026 14:00 | Wasserstoff")
    clock.now = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    homeserver.down = True
    await announcer.rebuild(homeserver)
    assert homeserver.sent == [] and len(homeserver.attempts) == len(ROOMS)
    event_id = (await posts(services))[0].event_id
    assert services.jobs.due(job_id(event_id)) == clock.now + RETRY_UNCONFIRMED

    homeserver.down = False
    clock.now += RETRY_UNCONFIRMED
    await announcer.wake(event_id, homeserver)  # what the job does when it fires
    await announcer.wake(event_id, homeserver)
    assert len(homeserver.sent) == len(ROOMS)
    assert {p.state for p in await posts(services)} == {"sent"}


async def test_unconfirmed_reminder_is_not_resent_after_the_start(
    dispatcher: Dispatcher,
    services: Services,
    announcer: Announcer,
    homeserver: RecordingTransport,
    clock: Clock,
) -> None:
    await say(dispatcher, "/webinar add 27.11.2026 14:00 | Wasserstoff")
    clock.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    await announcer.rebuild(homeserver)
    async with services.db.transaction() as session:
        await session.execute(update(EventPost).values(state="sending"))
    homeserver.attempts.clear()
    clock.now = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
    await Announcer(services).rebuild(homeserver)
    assert all("Jetzt geht es los" in homeserver.texts()[-1] for _ in ROOMS)
    reminders = [p for p in await posts(services) if p.kind == "reminder"]
    assert {p.state for p in reminders} == {"skipped"}


async def test_cancel_and_move_tell_only_the_rooms_that_saw_the_event(
    dispatcher: Dispatcher,
    services: Services,
    announcer: Announcer,
    homeserver: RecordingTransport,
    clock: Clock,
) -> None:
    await say(dispatcher, "/webinar add 27.11.2026 14:00 | Eins")
    await say(dispatcher, "/webinar add 30.11.2026 14:00 | Zwei")
    homeserver.rooms = ROOMS[:1]
    clock.now = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    await announcer.rebuild(homeserver)
    homeserver.rooms = list(ROOMS)
    assert "Räume, in denen der Termin angekündigt war" in await say(
        dispatcher, "/webinar edit 1 time=16:00"
    )
    assert "angekündigt war" not in await say(dispatcher, "/webinar cancel 2")
    await announcer.rebuild(homeserver)
    assert homeserver.texts(ROOMS[0])[1] == (
        "Neuer Termin: Webinar „Eins“ findet jetzt am Fr., 27.11.2026, 16:00 Uhr statt."
    )
    await say(dispatcher, "/webinar cancel 1")
    await announcer.rebuild(homeserver)
    assert homeserver.texts(ROOMS[0])[2:] == [
        "Abgesagt: Webinar „Eins“ am Fr., 27.11.2026, 16:00 Uhr findet nicht statt."
    ]
    assert homeserver.texts(ROOMS[1]) == []  # it was never announced there
    clock.now = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    before = len(homeserver.sent)
    await announcer.rebuild(homeserver)
    assert len(homeserver.sent) == before
    assert services.jobs.ids("event-") == set()


async def test_a_stored_change_asks_for_a_rebuild_of_the_schedule(
    dispatcher: Dispatcher, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(services.jobs, "run_soon", asked.append)
    await say(dispatcher, "/webinar add 27.11.2026 14:00 | Eins")
    assert asked == [REBUILD]
    await say(dispatcher, "/webinar add 27.11.2026 14:00 | T | kaputt")  # refused: nothing stored
    assert asked == [REBUILD]
    await say(dispatcher, "/webinar cancel 1")
    assert asked == [REBUILD, REBUILD]


async def test_calendar_feed_has_stable_uids_sequence_and_cancellations(
    dispatcher: Dispatcher, services: Services
) -> None:
    await say(dispatcher, "/webinar add 03.12.2026 14:00 | Eins | https://ex.org/1")
    await say(dispatcher, "/webinar add 04.12.2026 14:00 | Zwei | https://ex.org/geheim")
    await say(dispatcher, "/webinar edit 1 minutes=90")
    await say(dispatcher, "/webinar cancel 2")
    page = await calendar_feed(services)
    assert page.content_type.startswith("text/calendar")
    events = icalendar.Calendar.from_ical(page.body).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == ["event-1@localhost", "event-2@localhost"]
    assert [int(e["SEQUENCE"]) for e in events] == [1, 1]
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    assert events[0]["DTEND"].dt - events[0]["DTSTART"].dt == timedelta(minutes=90)
    assert str(events[0]["URL"]) == "https://ex.org/1"
    # a cancelled event stays listed, but its room link is no longer handed out
    assert "URL" not in events[1] and "LOCATION" not in events[1]
    assert b"ex.org/geheim" not in page.body


# -- the edit rules as plain functions ---------------------------------------------------------


def test_an_edit_names_a_field_by_any_of_its_names() -> None:
    assert parse_change(" Uhrzeit = 15:30 ") == ("time", "15:30")
    assert parse_change("dauer=90") == ("minutes", "90")
    assert parse_change("link=") == ("link", "")
    assert parse_change("farbe=rot") is None
    assert parse_change("titel Neu") is None


def test_an_edit_counts_a_new_version_and_says_whether_the_start_moved() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # 14:00 in Berlin
    event = CalendarEvent(title="Eins", starts_at=start, minutes=60, sequence=0)
    assert apply_edit(event, "time", "14:00", T0, berlin) is False
    assert apply_edit(event, "time", "15:30", T0, berlin) is True
    assert event.starts_at == datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    assert apply_edit(event, "title", "Zwei", T0, berlin) is False
    assert (event.title, event.sequence, event.updated_at) == ("Zwei", 3, T0)
