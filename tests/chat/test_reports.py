"""The funder report: figures put in through the real handlers, read back from the PDF;
the "< 3" rule, the chat command, the CLI and the monthly post (once per period)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from bot.app import build_dispatcher
from bot.cli import main
from bot.core.dispatcher import Dispatcher
from bot.core.messages import Reply, RoomId, UserId
from bot.reports.monthly import post_due
from bot.services import Services, build_services
from config.settings import Settings
from storage.models import CalendarEvent, Initiative, ReportPost
from tests.fakes import COORDINATOR, Clock, Conversation, RecordingTransport

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=30)  # when the events are planned
FIRST = START + timedelta(days=2)  # the first event (4 ratings), then the second (2 ratings)
SECOND = START + timedelta(days=9)
PERIOD = f"{(START - timedelta(days=1)):%d.%m.%Y}-{(NOW + timedelta(days=1)):%d.%m.%Y}"
MEMBERS = [UserId(f"@m{n}:localhost") for n in range(1, 6)]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
async def services(settings: Settings, clock: Clock) -> AsyncIterator[Services]:
    built = await build_services(settings, clock=clock)
    yield built
    await built.db.dispose()


async def say(chat: Conversation, clock: Clock, text: str, user: UserId = COORDINATOR) -> str:
    return "\n".join(await chat(text, user=user, sent_at=clock.now))


async def world(chat: Conversation, clock: Clock) -> None:
    """Three events (one cancelled), six ratings and a comment, questions in three languages,
    three initiatives and a !passend request: all through the handlers."""
    for moment, title in ((FIRST, "Wasserstoff in der Region"), (SECOND, "Fachkräfte finden")):
        added = await say(chat, clock, f"!webinar add {moment:%d.%m.%Y} {moment:%H}:00 | {title}")
        assert "ID" in added, added
    await say(chat, clock, f"!webinar add {SECOND:%d.%m.%Y} 18:00 | Ausgefallene Runde")
    assert "Abgesagt" in await say(chat, clock, "!webinar cancel 3")
    clock.now = FIRST + timedelta(hours=2)
    for user, stars in zip(MEMBERS, (5, 4, 4, 3), strict=False):
        await say(chat, clock, f"!feedback 1 {stars}", user)
    await say(chat, clock, "!feedback 1 5 Sehr hilfreich, danke", MEMBERS[4])  # 5 ratings
    clock.now = SECOND + timedelta(hours=2)
    await say(chat, clock, "!feedback 2 2", MEMBERS[0])
    await say(chat, clock, "!feedback 2 4", MEMBERS[1])
    clock.now = NOW - timedelta(days=2)
    for user in MEMBERS[:3]:
        await say(chat, clock, "!frage Wer hat die Servicestelle beauftragt?", user)
    await say(chat, clock, "!frage Wann fährt der nächste Zug nach Hamburg?", MEMBERS[0])
    await say(chat, clock, "!frage Wann fährt der nächste Bus nach Hamburg?", MEMBERS[1])
    await say(chat, clock, "!frage Wann fährt der letzte Zug nach Hamburg?", MEMBERS[2])
    await say(chat, clock, "!ask Who commissioned the service centre?", MEMBERS[3])
    await say(chat, clock, "!sprache einfach", MEMBERS[4])
    await say(chat, clock, "!frage Wer hat die Servicestelle beauftragt?", MEMBERS[4])
    for name, region in (
        ("Wasserstoff Lausitz", "Cottbus"),
        ("H2 Potsdam", "Potsdam"),
        ("Fachkräfte Sachsen", "Leipzig"),
    ):
        added = await say(
            chat, clock, f"/initiative add {name} | {region} | Wasserstoff; Energie | Netzwerk"
        )
        assert name in added, added
    assert "Lausitz" in await say(chat, clock, "!passend Wasserstoff", MEMBERS[0])
    clock.now = NOW


async def test_report_shows_what_was_put_in(chat: Conversation, clock: Clock) -> None:
    await world(chat, clock)
    replies = await chat.send(
        f"!bericht {PERIOD}", user=COORDINATOR, room=RoomId("!r"), direct=False
    )
    [reply] = replies
    assert "Veranstaltungen: 2 (abgesagt: 1)" in reply.text
    assert "Bewertungen: 7, Durchschnitt 3,9" in reply.text  # (5+4+4+3+5+2+4)/7
    [image, pdf] = reply.attachments
    assert image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    assert "Wasserstoff in der" in (image.description or "")
    assert "4,2" in (image.description or "") and "< 3" in (image.description or "")
    assert pdf.mimetype == "application/pdf" and pdf.filename.endswith(".pdf")
    text = pdf_text(pdf.data)
    assert "Wasserstoff in der Region" in text and "Fachkräfte finden" in text
    assert "Ausgefallene Runde" in text  # among the cancelled ones
    assert "Durchgeführt: 2 · abgesagt: 1" in text
    assert "Webinar: 2" in text
    assert "Bewertungen 7" in text and "(1–5 Sterne) 3,9" in text
    assert "5 Sterne < 3" in text and "4 Sterne 3" in text and "1 Stern 0" in text
    assert "Kommentare (Texte nur im Export je Veranstaltung) < 3" in text
    assert "Sehr hilfreich" not in text  # comment texts stay in the per-event export
    assert "Rücklaufquote" in text and "unbekannt" in text  # no room members counted
    assert "Gestellte Fragen 8" in text
    assert "Direkt beantwortet 5" in text
    assert "Anteil auf Englisch < 3" in text
    assert "Zug nach Hamburg" in text  # the open theme, asked three times
    assert "Initiativen im Verzeichnis 3" in text and "Davon neu im Zeitraum 3" in text
    assert "(!passend) < 3" in text
    assert "Brandenburg" not in text or "Initiativen nach Bundesland" not in text  # a chart
    for person in (*MEMBERS, COORDINATOR, "@bot:localhost"):
        assert person not in text and person not in reply.text


async def test_english_report_and_a_bad_period(chat: Conversation, clock: Clock) -> None:
    await world(chat, clock)
    await say(chat, clock, "!sprache en")
    [reply] = await chat.send(
        f"!report {PERIOD}", user=COORDINATOR, room=RoomId("!r"), direct=False
    )
    assert "ratings: 7, average 3.9" in reply.text
    text = pdf_text(reply.attachments[1].data)
    assert "Average (1–5 stars) 3.9" in text and "Questions asked 8" in text
    [bad] = await chat("!report 2026-13", user=COORDINATOR)
    assert "2026-13" in bad and "2026-Q4" in bad and "Usage: !report [PERIOD]" in bad
    await say(chat, clock, "!sprache de")
    [schlecht] = await chat("!bericht letzten Sommer", user=COORDINATOR)
    assert "kein Zeitraum" in schlecht and "Aufruf: !bericht [ZEITRAUM]" in schlecht


async def test_members_may_not_ask_for_the_report(chat: Conversation) -> None:
    [refused] = await chat("!bericht 2026-11", user=MEMBERS[0])
    assert "nur Koordinator" in refused


async def test_response_rate_uses_the_members_counted_at_the_prompt(
    chat: Conversation, clock: Clock, services: Services
) -> None:
    await world(chat, clock)
    async with services.db.transaction() as session:
        from storage.models import EventPost

        for event_id, members in ((1, 20), (2, 10)):
            session.add(
                EventPost(
                    event_id=event_id,
                    slot=f"feedback-{event_id}",
                    kind="feedback",
                    room_id="!news",
                    txn_id=f"t{event_id}",
                    state="sent",
                    due_at=NOW,
                    members=members,
                )
            )
    [reply] = await chat.send(
        f"!bericht {PERIOD}", user=COORDINATOR, room=RoomId("!r"), direct=False
    )
    assert "23,3 %" in pdf_text(reply.attachments[1].data)  # 7 ratings of 30 members


def test_cli_writes_the_pdf_and_refuses_a_bad_date(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def prepare() -> None:
        clock = Clock(START)
        services = await build_services(settings, clock=clock)
        try:
            await world(Conversation(build_dispatcher(services, flood=False)), clock)
        finally:
            await services.db.dispose()

    asyncio.run(prepare())
    monkeypatch.setenv("BOT_DATABASE_URL", settings.database_url)
    out = tmp_path / "bericht.pdf"
    first, last = (START - timedelta(days=1)).date(), (NOW + timedelta(days=1)).date()
    code = main(
        ["report", "--from", f"{first:%d.%m.%Y}", "--to", last.isoformat(), "--out", str(out)]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Veranstaltungen: 2 (abgesagt: 1)" in printed.out and str(out) in printed.out
    assert "Gestellte Fragen 8" in pdf_text(out.read_bytes())
    assert main(["report", "--from", "31.02.2026", "--lang", "en"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ['"31.02.2026" is not a date. Please write it like 2026-10-01 or 01.10.2026.']
    assert main(["report", "--from", "2026-12-01", "--to", "2026-11-01"]) == 2
    assert "endet vor seinem Beginn" in capsys.readouterr().err


async def test_fewer_than_three_people_show_as_few(chat: Conversation, clock: Clock) -> None:
    await say(chat, clock, f"!webinar add {FIRST:%d.%m.%Y} {FIRST:%H}:00 | Kleine Runde")
    clock.now = FIRST + timedelta(hours=2)
    await say(chat, clock, "!feedback 1 1", MEMBERS[0])
    await say(chat, clock, "!feedback 1 2", MEMBERS[1])
    clock.now = NOW
    [reply] = await chat.send(
        f"!bericht {PERIOD}", user=COORDINATOR, room=RoomId("!r"), direct=False
    )
    text = pdf_text(reply.attachments[1].data)
    assert "Bewertungen < 3" in text and "(1–5 Sterne) < 3" in text
    assert "1,5" not in text and "weniger als 3 Bewertungen" in text


async def test_monthly_report_is_posted_once_over_a_restart(
    settings: Settings, tmp_path: Path
) -> None:
    due = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 08:00 in Berlin, the first of the month
    clock = Clock(due - timedelta(minutes=1))
    homeserver = RecordingTransport()
    first = await build_services(settings, clock=clock)
    assert await post_due(first, homeserver) == 0  # not due yet
    clock.now = due + timedelta(minutes=5)
    assert await post_due(first, homeserver) == 1  # to the one coordinator's direct chat
    await first.db.dispose()
    again = await build_services(settings, clock=clock)  # a restart: the job runs again
    assert await post_due(again, homeserver) == 0
    assert await post_due(again, homeserver) == 0
    [post] = homeserver.sent
    assert post.room_id == homeserver.direct_rooms[COORDINATOR]
    assert "Monatsbericht" in post.reply.text and "November 2026" in post.reply.text
    assert [a.mimetype for a in post.reply.attachments] == ["image/png", "application/pdf"]
    async with again.db.read() as session:
        [row] = list(await session.scalars(select(ReportPost)))
    assert (row.period, row.state) == ("2026-11", "sent")
    await again.db.dispose()


async def test_a_post_lost_in_a_crash_is_resent_with_the_same_transaction_id(
    settings: Settings,
) -> None:
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    room = "!coordination:localhost"
    homeserver = RecordingTransport()
    services = await build_services(
        settings.model_copy(update={"coordination_room": room}), clock=clock
    )
    homeserver.down = True  # sent, but never confirmed
    assert await post_due(services, homeserver) == 0
    homeserver.down = False
    assert await post_due(services, homeserver) == 1
    assert await post_due(services, homeserver) == 0
    assert [s.room_id for s in homeserver.sent] == [room]
    assert len(set(homeserver.attempts)) == 1  # one transaction id for the period
    clock.now += timedelta(days=8)  # a new month is not due yet; this one is done
    assert await post_due(services, homeserver) == 0
    await services.db.dispose()


async def test_shell_names_the_files_and_where_it_wrote_them(
    dispatcher: Dispatcher, tmp_path: Path
) -> None:
    from bot.adapters.shell import ShellFiles, run_shell

    stdin, stdout = io.StringIO(f"!bericht {date.today():%Y-%m}\n"), io.StringIO()
    await run_shell(
        dispatcher,
        COORDINATOR,
        coordinator=True,
        as_json=True,
        stdin=stdin,
        stdout=stdout,
        files=ShellFiles(tmp_path / "files"),
    )
    import json

    [body] = json.loads(stdout.getvalue())["replies"]
    assert f"{tmp_path / 'files'}" in body and ".pdf (application/pdf)" in body
    assert ".png (image/png)" in body
    assert sorted(p.suffix for p in (tmp_path / "files").iterdir()) == [".pdf", ".png"]
    assert isinstance(Reply(body), Reply)
    assert CalendarEvent and Initiative  # models the world above fills
