"""Event feedback: rating rules, comments, reports, the CSV export and retention."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.app import build_dispatcher
from bot.cli import main
from bot.core.dispatcher import Dispatcher
from bot.core.i18n import decimal
from bot.core.messages import EventId, Reaction, Redaction, Reply, RoomId, UserId
from bot.feedback.export import ExportRow, export_csv, export_rows, feedback_csv
from bot.feedback.rules import (
    FeedbackProblem,
    keycap_stars,
    lone_stars,
    parse_feedback,
    summarize,
)
from bot.services import Services, build_services
from config.settings import Settings
from handlers.feedback import purge_expired
from storage.models import (
    CalendarEvent,
    EventPost,
    FeedbackComment,
    FeedbackRating,
)
from tests.fakes import COORDINATOR, MEMBER, Conversation, RecordingTransport

ROOM = RoomId("!news:localhost")
PROMPT = EventId("$prompt-1")
OTHER = UserId("@other:localhost")
THIRD = UserId("@third:localhost")
BOT = UserId("@bot:localhost")
DATE_FORMATS = ("%d.%m.%Y", "%-d %b %Y")  # German, English (as Babel writes them)


async def add_event(
    services: Services,
    *,
    ended: timedelta = timedelta(hours=1),
    minutes: int = 60,
    status: str = "scheduled",
    title: str = "Förderprogramme im Überblick",
    prompt: str | None = PROMPT,
) -> int:
    """An event that ended `ended` ago (negative: still to come), with its feedback prompt."""
    now = datetime.now(UTC)
    start = now - ended - timedelta(minutes=minutes)
    async with services.db.transaction() as session:
        event = CalendarEvent(
            title=title, starts_at=start, minutes=minutes, status=status, created_by=COORDINATOR
        )
        session.add(event)
        await session.flush()
        if prompt:
            session.add(
                EventPost(
                    event_id=event.id,
                    slot=f"feedback-t{int(start.timestamp())}",
                    kind="feedback",
                    room_id=ROOM,
                    txn_id=f"txn-{event.id}",
                    state="sent",
                    matrix_event_id=prompt,
                    due_at=start + timedelta(minutes=minutes),
                )
            )
        return event.id


async def ratings(services: Services) -> list[tuple[int, int]]:
    async with services.db.read() as session:
        rows = await session.execute(
            select(FeedbackRating.event_id, FeedbackRating.stars).order_by(FeedbackRating.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def comments(services: Services) -> list[str]:
    async with services.db.read() as session:
        return list(await session.scalars(select(FeedbackComment.text)))


def react(
    user: UserId,
    key: str,
    event_id: str,
    *,
    to: str = PROMPT,
    at: datetime | None = None,
) -> Reaction:
    return Reaction(ROOM, user, EventId(event_id), EventId(to), key, at or datetime.now(UTC))


def redact(user: UserId, reaction_id: str) -> Redaction:
    return Redaction(ROOM, user, EventId(f"$redact-{reaction_id}"), EventId(reaction_id))


# -- plain rules ------------------------------------------------------------------------------


def test_keycaps_with_and_without_variation_selector() -> None:
    assert [keycap_stars(k) for k in ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")] == [1, 2, 3, 4, 5]
    assert keycap_stars("4\u20e3") == 4
    assert [keycap_stars(k) for k in ("0️⃣", "6️⃣", "👍", "5", "")] == [None] * 5


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("12 0", "bad_stars"),
        ("12 6", "bad_stars"),
        ("12 fünf", "bad_stars"),
        ("5", "missing"),
        ("12 ²", "bad_stars"),
        ("12 ٣", "bad_stars"),
        ("12 05", "bad_stars"),
        ("² 5", "bad_id"),
        ("٣ 5", "bad_id"),
        ("1234567890 5", "bad_id"),
        ("99999999999999999999 5", "bad_id"),
    ],
)
def test_bad_input_is_named(text: str, key: str) -> None:
    with pytest.raises(FeedbackProblem) as caught:
        parse_feedback(text)
    assert caught.value.key == key


def test_parse_accepts_hash_keycap_and_comment() -> None:
    given = parse_feedback("#12 4️⃣ sehr  praxisnah")
    assert (given.event_id, given.stars, given.comment) == (12, 4, "sehr  praxisnah")


def test_summary_and_decimal_comma() -> None:
    summary = summarize([5, 4, 4])
    assert summary.count == 3
    assert summary.per_star == {1: 0, 2: 0, 3: 0, 4: 2, 5: 1}
    assert summary.average is not None
    assert decimal(summary.average, "de") == "4,3"
    assert decimal(summary.average, "en") == "4.3"
    assert summarize([]).average is None


def test_a_lone_digit_is_a_rating() -> None:
    assert [lone_stars(t) for t in ("4", " 5 ", "0", "6", "4 Sterne", "")] == [4, 5] + [None] * 4


def test_export_rows_join_a_members_rating_and_comments() -> None:
    day = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 3 March in Berlin
    ratings = [FeedbackRating(pseudonym="a", stars=4, updated_at=day)]
    comments = [
        FeedbackComment(pseudonym="a", text="gut", created_at=day),
        FeedbackComment(pseudonym="b", text="=kurz", created_at=day - timedelta(days=1)),
        FeedbackComment(pseudonym="a", text="danke", created_at=day + timedelta(minutes=5)),
    ]
    rows = export_rows(ratings, comments, ZoneInfo("Europe/Berlin"))
    assert rows == [
        ExportRow(None, "=kurz", "2026-03-02"),
        ExportRow(4, "gut | danke", "2026-03-03"),
    ]
    lines = export_csv(rows).splitlines()
    assert lines[1:] == ["1,,'=kurz,2026-03-02", "2,4,gut | danke,2026-03-03"]


# -- the command -------------------------------------------------------------------------------


async def test_command_rates_and_a_newer_rating_replaces(
    chat: Conversation, services: Services
) -> None:
    event = await add_event(services)
    [first] = await chat(f"!feedback {event} 4 Sehr praxisnah")
    assert "4 von 5" in first and "Kommentar" in first
    [second] = await chat(f"!feedback {event} 5", direct=True, room=RoomId("!dm:localhost"))
    assert "jetzt 5 von 5" in second
    assert await ratings(services) == [(event, 5)]
    assert await comments(services) == ["Sehr praxisnah"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("{id} 0", "„0“ kann ich nicht als Bewertung nehmen"),
        ("{id} 6", "„6“ kann ich nicht als Bewertung nehmen"),
        ("{id} fünf", "„fünf“ kann ich nicht als Bewertung nehmen"),
        ("4", "zuerst die ID der Veranstaltung"),
        ("gut 4", "„gut“ ist keine ID"),
        ("999 4", "Eine Veranstaltung mit der ID 999 gibt es nicht"),
        ("² 5", "„²“ ist keine ID"),
        ("99999999999999999999 5", "„99999999999999999999“ ist keine ID"),
        ("{id} ²", "„²“ kann ich nicht als Bewertung nehmen"),
        ("{id} ٣", "„٣“ kann ich nicht als Bewertung nehmen"),
    ],
)
async def test_bad_ratings_get_a_precise_answer_and_store_nothing(
    chat: Conversation, services: Services, args: str, expected: str
) -> None:
    event = await add_event(services)
    [answer] = await chat("!feedback " + args.format(id=event))
    assert expected in answer
    assert await ratings(services) == []


async def test_cancelled_upcoming_and_closed_events_are_refused_politely(
    chat: Conversation, services: Services
) -> None:
    cancelled = await add_event(services, status="cancelled", prompt=None)
    upcoming = await add_event(services, ended=-timedelta(days=2), prompt=None)
    closed = await add_event(services, ended=timedelta(days=15), prompt=None)
    [answer] = await chat(f"!feedback {cancelled} 4")
    assert "wurde abgesagt" in answer
    [answer] = await chat(f"!feedback {upcoming} 4")
    assert "noch nicht vorbei" in answer and "Bewerten können Sie ab" in answer
    [answer] = await chat(f"!feedback {closed} 4")
    assert "geschlossen" in answer and "Danke" in answer
    [answer] = await chat(f"!feedback {closed} 4", user=OTHER, room=ROOM, direct=False)
    assert "geschlossen" in answer
    assert await ratings(services) == []


async def test_english_answers_for_english_alias_users(
    chat: Conversation, services: Services
) -> None:
    event = await add_event(services)
    await chat("!language en")
    [answer] = await chat(f"!feedback {event} 3")
    assert "3 out of 5" in answer


# -- reactions ---------------------------------------------------------------------------------


async def test_reactions_replace_and_redaction_removes(
    dispatcher: Dispatcher, services: Services
) -> None:
    event = await add_event(services)
    await dispatcher.handle_reaction(react(MEMBER, "3️⃣", "$r1"))
    await dispatcher.handle_reaction(react(MEMBER, "5\u20e3", "$r2"))  # no variation selector
    await dispatcher.handle_reaction(react(OTHER, "2️⃣", "$r3"))
    assert sorted(await ratings(services)) == [(event, 2), (event, 5)]
    await dispatcher.handle_redaction(redact(MEMBER, "$r1"))  # the replaced one: no change
    assert sorted(await ratings(services)) == [(event, 2), (event, 5)]
    await dispatcher.handle_redaction(redact(MEMBER, "$r2"))
    assert await ratings(services) == [(event, 2)]


async def test_own_other_and_late_reactions_are_ignored(
    dispatcher: Dispatcher, services: Services
) -> None:
    await add_event(services)
    closed = await add_event(services, ended=timedelta(days=15), prompt="$old-prompt")
    await dispatcher.handle_reaction(react(BOT, "1️⃣", "$r1"))
    await dispatcher.handle_reaction(react(MEMBER, "4️⃣", "$r2", to="$some-other-message"))
    await dispatcher.handle_reaction(react(MEMBER, "👍", "$r3"))
    await dispatcher.handle_reaction(react(MEMBER, "4️⃣", "$r4", to="$old-prompt"))
    assert await ratings(services) == []
    # a reaction given inside the window counts even when the bot sees it late
    at = datetime.now(UTC) - timedelta(days=1, hours=1)
    await dispatcher.handle_reaction(react(OTHER, "4️⃣", "$r5", to="$old-prompt", at=at))
    assert await ratings(services) == [(closed, 4)]


async def test_the_rating_handled_last_wins_whatever_timestamp_it_claims(
    dispatcher: Dispatcher, services: Services
) -> None:
    """Newer is decided by the bot's clock: a sender's timestamp from the future would
    otherwise lock a rating against every later change."""
    event = await add_event(services)
    future = datetime.now(UTC) + timedelta(days=365)
    await dispatcher.handle_reaction(react(MEMBER, "5️⃣", "$future", at=future))
    await dispatcher.handle_reaction(react(MEMBER, "2️⃣", "$now"))
    assert await ratings(services) == [(event, 2)]
    earlier = datetime.now(UTC) - timedelta(minutes=5)  # given earlier, seen later: it counts
    await dispatcher.handle_reaction(react(MEMBER, "4️⃣", "$earlier", at=earlier))
    assert await ratings(services) == [(event, 4)]
    async with services.db.read() as session:
        stored = await session.scalar(select(FeedbackRating.updated_at))
    assert stored is not None and stored <= datetime.now(UTC)


async def test_a_future_timestamp_does_not_open_the_window_early(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await add_event(services, ended=-timedelta(hours=2))  # ends in two hours
    future = datetime.now(UTC) + timedelta(hours=3)
    await dispatcher.handle_reaction(react(MEMBER, "5️⃣", "$early", at=future))
    [refused] = await chat(f"!feedback {event} 5", sent_at=future)
    assert await ratings(services) == []
    assert "noch nicht vorbei" in refused


async def test_only_the_rater_s_redaction_removes_a_rating_or_comment(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await add_event(services)
    await dispatcher.handle_reaction(react(MEMBER, "4️⃣", "$mine"))
    await chat("Sehr gut erklärt", room=ROOM, direct=False, reply_to=PROMPT)
    async with services.db.read() as session:
        comment_id = await session.scalar(select(FeedbackComment.matrix_event_id))
    assert comment_id
    moderator = UserId("@moderator:localhost")
    for target in ("$mine", comment_id):
        by_moderator = Redaction(ROOM, moderator, EventId(f"$mod-{target}"), EventId(target))
        await dispatcher.handle_redaction(by_moderator)
    assert await ratings(services) == [(event, 4)]
    assert await comments(services) == ["Sehr gut erklärt"]
    await dispatcher.handle_redaction(redact(MEMBER, "$mine"))
    await dispatcher.handle_redaction(redact(MEMBER, comment_id))
    assert await ratings(services) == [] and await comments(services) == []


# -- comments ----------------------------------------------------------------------------------


async def test_replies_to_the_prompt_are_comments(chat: Conversation, services: Services) -> None:
    await add_event(services)
    [thanks] = await chat("Die Beispiele waren hilfreich", room=ROOM, direct=False, reply_to=PROMPT)
    assert thanks == "Danke für Ihren Kommentar!"
    [thanks] = await chat(
        "Gern mehr dazu", room=ROOM, direct=False, thread_root=PROMPT, reply_to=EventId("$x")
    )
    assert "Die Beispiele" not in thanks
    assert await chat("Off topic", room=ROOM, direct=False, reply_to=EventId("$other")) == []
    assert sorted(await comments(services)) == ["Die Beispiele waren hilfreich", "Gern mehr dazu"]


async def test_a_redacted_reply_takes_its_comment_along(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await add_event(services)
    await chat("Bitte die Folien schicken", room=ROOM, direct=False, reply_to=PROMPT)
    await chat(f"!feedback {event} 4 Gute Referenten", user=OTHER)
    async with services.db.read() as session:
        reply_id = await session.scalar(
            select(FeedbackComment.matrix_event_id).where(
                FeedbackComment.text == "Bitte die Folien schicken"
            )
        )
    assert reply_id
    await dispatcher.handle_redaction(redact(MEMBER, reply_id))
    assert await comments(services) == ["Gute Referenten"]


async def test_a_reply_with_a_lone_digit_is_a_rating(
    chat: Conversation, services: Services
) -> None:
    event = await add_event(services)
    [thanks] = await chat(" 4 ", room=ROOM, direct=False, reply_to=PROMPT)
    assert "4 von 5" in thanks
    assert await ratings(services) == [(event, 4)]


# -- reports -----------------------------------------------------------------------------------


async def rated(dispatcher: Dispatcher, services: Services) -> int:
    """An event rated 5, 4, 4 with two comments."""
    event = await add_event(services)
    for number, (user, key) in enumerate(((MEMBER, "5️⃣"), (OTHER, "4️⃣"), (THIRD, "4️⃣"))):
        await dispatcher.handle_reaction(react(user, key, f"$r{number}"))
    now = datetime.now(UTC)
    async with services.db.transaction() as session:
        session.add(FeedbackComment(event_id=event, pseudonym="a", text="Erster", created_at=now))
        later = now + timedelta(seconds=1)
        session.add(
            FeedbackComment(event_id=event, pseudonym="b", text="=Zweiter", created_at=later)
        )
    return event


async def test_report_in_german_and_english(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await rated(dispatcher, services)
    [report] = await chat(f"/feedback report {event}", user=COORDINATOR)
    assert "Bewertungen: 3 · Durchschnitt: 4,3 von 5" in report
    for line in ("5 ★: 1", "4 ★: 2", "3 ★: 0", "2 ★: 0", "1 ★: 0"):
        assert line in report
    assert report.index("=Zweiter") < report.index("Erster")  # latest first
    assert "@" not in report and "Rücklauf" not in report  # no names; the shell knows no rooms
    await chat("!language en", user=COORDINATOR)
    [report] = await chat(f"/feedback report {event}", user=COORDINATOR)
    assert "Ratings: 3 · average: 4.3 out of 5" in report


async def test_report_shows_the_response_rate_when_known(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await rated(dispatcher, services)
    chat.transport = RecordingTransport(members=12)
    [report] = await chat(f"/feedback report {event}", user=COORDINATOR)
    assert "Rücklauf: 3 von 12 Mitgliedern der Ankündigungsräume (25\xa0%)" in report


async def test_a_report_asked_in_the_announcement_room_goes_to_a_direct_chat(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await rated(dispatcher, services)
    chat.transport = transport = RecordingTransport()
    await chat(f"/feedback report {event}", user=COORDINATOR, room=ROOM, direct=False)
    [note] = transport.texts(ROOM)
    assert "Direktnachricht" in note and "4,3" not in note
    [report] = transport.texts(transport.direct_rooms[COORDINATOR])
    assert "Durchschnitt: 4,3 von 5" in report
    # a member is refused in the room itself, and nothing is sent privately
    [refused] = await chat(f"/feedback report {event}", room=ROOM, direct=False)
    assert "nur Koordinatorinnen" in refused and MEMBER not in transport.direct_rooms


async def test_members_may_not_see_reports(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await rated(dispatcher, services)
    for command in (f"/feedback report {event}", f"!feedback export {event}", "/feedback report"):
        [answer] = await chat(command)
        assert "Das dürfen nur Koordinatorinnen und Koordinatoren" in answer


async def test_overview_of_recent_events(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await rated(dispatcher, services)
    quiet = await add_event(services, ended=timedelta(days=3), title="Netzwerktreffen", prompt=None)
    await add_event(services, ended=-timedelta(days=1), title="Noch nicht", prompt=None)
    [overview] = await chat("/feedback report", user=COORDINATOR)
    assert f"ID {event}, " in overview and "3 Bewertungen, Durchschnitt 4,3" in overview
    assert f"ID {quiet}, " in overview and "Netzwerktreffen“: keine Bewertungen" in overview
    assert "Noch nicht" not in overview
    assert overview.index(f"ID {event},") < overview.index(f"ID {quiet},")  # latest first
    assert "Zusammen: 3 Bewertungen, Durchschnitt 4,3 von 5" in overview
    day = datetime.now(UTC) - timedelta(days=3, minutes=60)  # the quiet event's start
    german, english = (day.astimezone(services.settings.tz).strftime(f) for f in DATE_FORMATS)
    assert f"ID {quiet}, {german}, „Netzwerktreffen“" in overview
    await chat("!language en", user=COORDINATOR)
    [overview] = await chat("/feedback report", user=COORDINATOR)
    assert f'ID {quiet}, {english}, "Netzwerktreffen": no ratings' in overview


async def test_report_ids_beyond_nine_digits_get_the_usage(chat: Conversation) -> None:
    for command in ("/feedback report 9999999999999999999", "!feedback export ²"):
        [answer] = await chat(command, user=COORDINATOR)
        assert answer.startswith("Aufruf: !feedback")


def rows_of(data: bytes | str) -> list[dict[str, str]]:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return list(csv.DictReader(io.StringIO(text)))


async def test_export_uploads_a_csv_without_names(
    chat: Conversation, dispatcher: Dispatcher, services: Services
) -> None:
    event = await rated(dispatcher, services)
    chat.transport = RecordingTransport()
    [reply, note] = await chat.send(
        f"/feedback export {event}", user=COORDINATOR, room=ROOM, direct=False
    )
    assert chat.transport.texts(ROOM) == [note.text]  # the group sees only the note
    assert note.text == "Ich habe Ihnen die Antwort per Direktnachricht geschickt."
    [private] = chat.transport.sent[:1]
    assert private.room_id == chat.transport.direct_rooms[COORDINATOR] and private.to is None
    assert isinstance(reply, Reply) and reply.attachments
    assert reply.attachments[0].mimetype == "text/csv"
    assert reply.attachments[0].filename == f"feedback-{event}.csv"
    rows = rows_of(reply.attachments[0].data)
    assert list(rows[0]) == ["row", "stars", "comment", "date"]
    assert [r["row"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert sorted(r["stars"] for r in rows) == ["", "", "4", "4", "5"]
    assert {"Erster", "'=Zweiter"} <= {r["comment"] for r in rows}  # no spreadsheet formulas
    text = reply.attachments[0].data.decode()
    assert "@" not in text and "localhost" not in text
    async with services.db.read() as session:
        pseudonyms = set(await session.scalars(select(FeedbackRating.pseudonym)))
    assert not any(p in text for p in pseudonyms)


def test_cli_writes_the_same_csv(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def prepare() -> tuple[int, str]:
        services = await build_services(settings)
        try:
            event = await add_event(services)
            await build_dispatcher(services, flood=False).handle_reaction(react(MEMBER, "4️⃣", "$r"))
            return event, await feedback_csv(services, event) or ""
        finally:
            await services.db.dispose()

    event, expected = asyncio.run(prepare())
    monkeypatch.setenv("BOT_DATABASE_URL", settings.database_url)
    target = tmp_path / "out.csv"
    assert main(["feedback", "export", str(event), str(target)]) == 0
    assert target.read_text(encoding="utf-8") == expected
    assert main(["feedback", "export", "999"]) == 1


# -- retention ---------------------------------------------------------------------------------


async def test_retention_deletes_old_comments_only(services: Services) -> None:
    event = await add_event(services)
    now = datetime.now(UTC)
    async with services.db.transaction() as session:
        for days, text in ((400, "alt"), (10, "neu")):
            when = now - timedelta(days=days)
            session.add(FeedbackComment(event_id=event, pseudonym="p", text=text, created_at=when))
    assert await purge_expired(services) == 1
    assert await comments(services) == ["neu"]
    async with services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(FeedbackComment)) == 1


async def test_simultaneous_first_ratings_of_one_member_count_once(
    dispatcher: Dispatcher, services: Services
) -> None:
    """Two rooms' sync tasks may deliver one member's reactions at the same moment."""
    event = await add_event(services)
    start = datetime.now(UTC)
    keys = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"] * 2
    await asyncio.gather(
        *(
            dispatcher.handle_reaction(
                react(MEMBER, key, f"$c{n}", at=start + timedelta(seconds=n))
            )
            for n, key in enumerate(keys)
        )
    )
    assert await ratings(services) == [(event, 5)]  # the newest reaction wins, stored once
