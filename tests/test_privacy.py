"""Pseudonymised feedback, !meine-daten and !daten-loeschen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from bot.app import build_services
from bot.context import Services
from bot.dispatcher import Dispatcher
from bot.pseudonym import SECRET_KEY, pseudonymise
from bot.types import RoomId
from config.settings import Settings
from storage.models import DirectRoom, FeedbackComment, FeedbackRating, Initiative

from .conftest import MEMBER, Conversation
from .test_feedback import OTHER, PROMPT, ROOM, add_event, ratings, react


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
    async with services.db.sessions() as session:
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
    async with services.db.session() as session:
        session.add(DirectRoom(room_id="!dm:localhost", user_id=MEMBER))
        session.add(
            Initiative(
                name="Industrieinitiative Nordhessen",
                name_key="industrieinitiative nordhessen",
                region="Kassel",
                topics="Vernetzung",
                contact=MEMBER,
            )
        )
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
    assert f"4 out of 5 ({today:%Y-%m-%d})" in english


async def test_my_data_is_not_shown_in_a_group_room(chat: Conversation, services: Services) -> None:
    event = await add_event(services)
    await chat(f"!feedback {event} 2")
    [answer] = await chat("!meine-daten", room=ROOM, direct=False)
    assert "nur im Direktchat" in answer and "2 von 5" not in answer


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
    async with services.db.sessions() as session:
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
    async with services.db.session() as session:
        session.add(
            Initiative(
                name="Industrieinitiative Nordhessen",
                name_key="industrieinitiative nordhessen",
                region="Kassel",
                topics="Vernetzung",
                contact=MEMBER,
            )
        )
    [ask] = await chat("!daten-loeschen")
    assert "Nicht gelöscht wird Ihr Eintrag als Kontakt" in ask
    assert "(Industrieinitiative Nordhessen)" in ask and "Koordination" in ask
    [done] = await chat("!daten-loeschen bestätigen")
    assert done.startswith("Erledigt") and "Nicht gelöscht wird Ihr Eintrag" in done
    assert await ratings(services) == []
    async with services.db.sessions() as session:
        assert await session.scalar(select(Initiative.contact)) == MEMBER
    await chat("!sprache en")
    [ask] = await chat("!forget-me")
    assert "(Industrieinitiative Nordhessen) is not deleted" in ask


async def test_nothing_to_forget(chat: Conversation) -> None:
    assert await chat("!daten-loeschen") == ["Über Sie habe ich nichts gespeichert."]
