"""Pseudonymised feedback, !meine-daten and !daten-loeschen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from bot.core.dispatcher import Dispatcher
from bot.core.messages import RoomId
from bot.services import Services, build_services
from config.settings import Settings
from storage.models import (
    CalendarEvent,
    DirectRoom,
    FeedbackComment,
    FeedbackRating,
    Initiative,
    KnowledgeEntry,
)
from storage.pseudonyms import SECRET_KEY, pseudonymise
from tests.chat.test_feedback import OTHER, PROMPT, ROOM, add_event, ratings, react
from tests.fakes import COORDINATOR, MEMBER, Conversation, RecordingTransport


def nordhessen() -> Initiative:
    """An initiative whose contact is MEMBER."""
    return Initiative(
        name="Industrieinitiative Nordhessen",
        name_key="industrieinitiative nordhessen",
        region="Kassel",
        topics="Vernetzung",
        contact=MEMBER,
    )


def test_pseudonyms_are_stable_keyed_and_distinct() -> None:
    key = bytes(32)
    assert pseudonymise(key, MEMBER) == pseudonymise(key, MEMBER)
    assert pseudonymise(key, MEMBER) != pseudonymise(key, OTHER)
    assert pseudonymise(key, MEMBER) != pseudonymise(bytes([1]) * 32, MEMBER)
    assert len(pseudonymise(key, MEMBER)) == 64 and MEMBER not in pseudonymise(key, MEMBER)


async def test_secret_is_made_once_and_kept(settings: Settings, services: Services) -> None:
    first = await services.db.get_state(SECRET_KEY)
    assert first and len(bytes.fromhex(first)) == 32
    again = await build_services(settings)
    try:
        assert await again.db.get_state(SECRET_KEY) == first
    finally:
        await again.db.dispose()


async def test_stored_feedback_never_holds_the_matrix_id(
    chat: Conversation, dispatcher: Dispatcher, services: Services, settings: Settings
) -> None:
    event = await add_event(services)
    await dispatcher.handle_reaction(react(MEMBER, "4️⃣", "$r1"))
    await chat(f"!feedback {event} 5 Klasse", user=OTHER)
    await chat("Noch ein Gedanke", room=ROOM, direct=False, reply_to=PROMPT)
    secret = bytes.fromhex(await services.db.get_state(SECRET_KEY) or "")
    async with services.db.read() as session:
        stored = set(await session.scalars(select(FeedbackRating.pseudonym)))
        stored |= set(await session.scalars(select(FeedbackComment.pseudonym)))
        dump = [
            str(row)
            for table in ("feedback_ratings", "feedback_comments")
            for row in await session.execute(text(f"SELECT * FROM {table}"))
        ]
    assert stored == {pseudonymise(secret, MEMBER), pseudonymise(secret, OTHER)}
    assert not any("localhost" in row for row in dump)


async def test_my_data_lists_what_is_stored(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    assert await chat("!meine-daten") == ["Über Sie habe ich nichts gespeichert."]
    event = await add_event(services, title="KI in der Produktion")
    await chat("!sprache de")
    await chat(f"!feedback {event} 4 Gute Beispiele")
    async with services.db.transaction() as session:
        session.add(DirectRoom(room_id="!dm:localhost", user_id=MEMBER))
        session.add(nordhessen())
    [answer] = await chat("!meine-daten")
    assert "Ihre Antwortsprache: de" in answer
    assert "Direktchats mit mir: 1" in answer
    assert "Bewertung für „KI in der Produktion“: 4 von 5" in answer
    assert "Kommentar zu „KI in der Produktion“" in answer and "Gute Beispiele" in answer
    assert "Industrieinitiative Nordhessen" in answer
    [other] = await chat("!my-data", user=OTHER)
    assert other == "I have nothing stored about you."


async def test_my_data_dates_follow_the_language(chat: Conversation, services: Services) -> None:
    event = await add_event(services)
    await chat(f"!feedback {event} 4")
    today = datetime.now(UTC).astimezone(services.settings.tz)
    [german] = await chat("!meine-daten")
    assert f"4 von 5 ({today:%d.%m.%Y})" in german
    await chat("!language en")
    [english] = await chat("!my-data")
    assert f"4 out of 5 ({today.day} {today:%b %Y})" in english


NOTE = "Ich habe Ihnen die Antwort per Direktnachricht geschickt."


async def test_my_data_asked_in_a_group_goes_to_a_direct_chat(
    chat: Conversation, services: Services
) -> None:
    event = await add_event(services)
    await chat(f"!feedback {event} 2")
    chat.transport = transport = RecordingTransport()
    await chat("!meine-daten", room=ROOM, direct=False)
    [note] = transport.sent[1:]
    assert (note.room_id, note.reply.text) == (ROOM, NOTE) and note.to is not None
    assert note.to.body == "!meine-daten"  # a rich reply to the command
    direct = transport.direct_rooms[MEMBER]
    [data] = transport.texts(direct)
    assert "2 von 5" in data and transport.sent[0].to is None  # not a reply across rooms
    # mentioning the bot in a group does not make the group private; the same chat is reused
    await chat("!meine-daten", room=ROOM, direct=True, direct_chat=False)
    assert transport.texts(ROOM) == [NOTE, NOTE]
    assert len(transport.texts(direct)) == 2 and transport.direct_rooms == {MEMBER: direct}
    # asked in the direct chat itself: answered there, no note
    await chat("!my-data", room=direct, direct=True, direct_chat=False)
    assert len(transport.texts(direct)) == 3 and transport.texts(ROOM) == [NOTE, NOTE]


async def test_without_a_direct_chat_nothing_private_is_posted(
    chat: Conversation, services: Services
) -> None:
    event = await add_event(services)
    await chat(f"!feedback {event} 2")
    chat.transport = transport = RecordingTransport(opens_direct=False)
    await chat("!meine-daten", room=ROOM, direct=False)
    [note] = transport.texts()
    assert "keine Direktnachricht schicken" in note and "2 von 5" not in note
    transport.opens_direct = True
    transport.refuses.add(RoomId("!direct-1"))  # the room exists but takes no message
    await chat("!meine-daten", room=ROOM, direct=False)
    assert transport.texts() == [note, note] and transport.sent[-1].room_id == ROOM


async def test_forget_me_from_a_group_is_confirmed_in_the_direct_chat(
    chat: Conversation, services: Services
) -> None:
    event = await add_event(services)
    await chat(f"!feedback {event} 3")
    chat.transport = transport = RecordingTransport()
    await chat("!daten-loeschen", room=ROOM, direct=False)
    direct = transport.direct_rooms[MEMBER]
    [ask] = transport.texts(direct)
    assert "!daten-loeschen bestätigen" in ask and transport.texts(ROOM) == [NOTE]
    await chat("!daten-loeschen bestätigen", room=direct)
    assert transport.texts(direct)[-1].startswith("Erledigt")
    assert await ratings(services) == [] and transport.texts(ROOM) == [NOTE]


async def test_my_data_lists_what_a_coordinator_created_and_erasure_keeps_it(
    chat: Conversation, services: Services
) -> None:
    await add_event(services, title="Wasserstoff-Forum")  # created by COORDINATOR
    async with services.db.transaction() as session:
        session.add(
            KnowledgeEntry(
                id="faq-1",
                question="Gibt es Geld für Messen?",
                answer="Ja.",
                created_by=COORDINATOR,
            )
        )
    [data] = await chat("!meine-daten", user=COORDINATOR)
    assert "Als Koordination angelegte Veranstaltungen (1): ID 1 „Wasserstoff-Forum“" in data
    assert "Wissenseinträge (1): „Gibt es Geld für Messen?“" in data
    assert await chat("!meine-daten") == ["Über Sie habe ich nichts gespeichert."]
    [ask] = await chat("!daten-loeschen", user=COORDINATOR)
    assert "Nicht gelöscht werden die öffentlichen Einträge" in ask and "(1 Veranstaltungen" in ask
    [done] = await chat("!daten-loeschen bestätigen", user=COORDINATOR)
    assert done.startswith("Erledigt") and "1 Wissenseinträge" in done
    async with services.db.read() as session:
        assert await session.scalar(select(CalendarEvent.created_by)) == COORDINATOR
        assert await session.scalar(select(KnowledgeEntry.id)) == "faq-1"
    await chat("!language en", user=COORDINATOR)
    [english] = await chat("!my-data", user=COORDINATOR)
    assert 'Events you created as a coordinator (1): ID 1 "Wasserstoff-Forum"' in english


async def test_long_lists_of_created_records_are_cut(
    chat: Conversation, services: Services
) -> None:
    for number in range(12):
        await add_event(services, title=f"Sprechstunde {number}", prompt=None)
    [data] = await chat("!meine-daten", user=COORDINATOR)
    assert "(12): ID 1 „Sprechstunde 0“" in data and "und 2 weitere" in data
    assert "Sprechstunde 11" not in data


async def test_open_questions_go_to_the_coordinator_s_direct_chat(chat: Conversation) -> None:
    await chat("Wie viele Kühe gibt es auf dem Mond?")
    chat.transport = transport = RecordingTransport()
    await chat("!faq unbeantwortet", user=COORDINATOR, room=ROOM, direct=False)
    assert transport.texts(ROOM) == [NOTE]
    [listing] = transport.texts(transport.direct_rooms[COORDINATOR])
    assert "Mond" in listing


async def test_forget_me_needs_confirmation_and_deletes_only_the_asker(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await add_event(services)
    await chat("!sprache en")
    await dispatcher.handle_reaction(react(MEMBER, "5️⃣", "$r1"))
    await chat("Zu schnell", room=ROOM, direct=False, reply_to=PROMPT)
    await dispatcher.handle_reaction(react(OTHER, "3️⃣", "$r2"))
    [ask] = await chat("!forget-me")
    assert "!forget-me confirm" in ask
    assert sorted(await ratings(services)) == [(event, 3), (event, 5)]  # nothing gone yet
    [done] = await chat("!forget-me confirm")
    assert done.startswith("Done")
    assert await ratings(services) == [(event, 3)]
    async with services.db.read() as session:
        assert list(await session.scalars(select(FeedbackComment.text))) == []
    assert await chat("!meine-daten") == ["Über Sie habe ich nichts gespeichert."]
    [again] = await chat("!daten-loeschen bestätigen")
    assert "nichts zu bestätigen" in again


async def test_forget_me_confirmation_expires(chat: Conversation, services: Services) -> None:
    event = await add_event(services)
    await chat(f"!feedback {event} 4", room=RoomId("!dm:localhost"))
    await chat("!daten-löschen")
    services.clock = lambda: datetime.now(UTC) + timedelta(minutes=6)
    [late] = await chat("!daten-loeschen bestaetigen")
    assert "nichts zu bestätigen" in late
    assert await ratings(services) == [(event, 4)]
    [wrong] = await chat("!daten-loeschen vielleicht")
    assert "!daten-loeschen [bestätigen]" in wrong


async def test_forget_me_says_the_directory_entry_stays(
    chat: Conversation, services: Services
) -> None:
    event = await add_event(services)
    await chat(f"!feedback {event} 4")
    async with services.db.transaction() as session:
        session.add(nordhessen())
    [ask] = await chat("!daten-loeschen")
    assert "Nicht gelöscht wird Ihr Eintrag als Kontakt" in ask
    assert "(Industrieinitiative Nordhessen)" in ask and "Koordination" in ask
    [done] = await chat("!daten-loeschen bestätigen")
    assert done.startswith("Erledigt") and "Nicht gelöscht wird Ihr Eintrag" in done
    assert await ratings(services) == []
    async with services.db.read() as session:
        assert await session.scalar(select(Initiative.contact)) == MEMBER
    await chat("!sprache en")
    [ask] = await chat("!forget-me")
    assert "(Industrieinitiative Nordhessen) is not deleted" in ask


async def test_nothing_to_forget(chat: Conversation) -> None:
    assert await chat("!daten-loeschen") == ["Über Sie habe ich nichts gespeichert."]


async def test_unconfirmed_deletion_requests_are_purged_daily(
    chat: Conversation, services: Services
) -> None:
    from handlers.privacy import purge_requests
    from storage.models import BotState

    async def requests() -> int:
        async with services.db.read() as session:
            keys = await session.scalars(select(BotState.key).where(BotState.key.like("forget-%")))
            return len(list(keys))

    event = await add_event(services)
    await chat(f"!feedback {event} 4")
    await chat(f"!feedback {event} 3", user=OTHER)
    await chat("!daten-loeschen")
    await purge_requests(services, RecordingTransport())
    assert await requests() == 1  # still waiting for its confirmation
    services.clock = lambda: datetime.now(UTC) + timedelta(minutes=6)
    await chat("!daten-loeschen", user=OTHER)
    await purge_requests(services, RecordingTransport())
    assert await requests() == 1  # the member's went, the other's is fresh
    [late] = await chat("!daten-loeschen bestätigen")
    assert "nichts zu bestätigen" in late
    [done] = await chat("!daten-loeschen bestätigen", user=OTHER)
    assert done.startswith("Erledigt")
    assert await ratings(services) == [(event, 4)]
