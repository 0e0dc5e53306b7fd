"""The initiatives directory through chat and the CLI functions."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.messages import UserId
from bot.initiatives.csv_import import export_csv, import_csv
from config import CONFIG_DIR
from config.settings import Settings
from handlers.initiatives import watch_directory
from tests.fakes import COORDINATOR, MEMBER, RecordingTransport

DEMO = CONFIG_DIR / "demo" / "initiatives.csv"
HEADER = "name,region,topics,description,contact,website\n"


@pytest.fixture
async def demo(services):
    result = await import_csv(services, DEMO.read_bytes(), skip_invalid=False)
    assert not result.errors and result.created >= 30
    return result


async def test_demo_data_covers_all_laender(demo, services) -> None:
    text = await export_csv(services)
    from bot.initiatives.csv_io import parse_initiatives_csv

    rows, errors = parse_initiatives_csv(text.encode())
    assert not errors
    laender = {services.directory.bundesland_of(row.region) for _, row in rows}
    assert len(laender - {None}) == 16


async def test_import_is_all_or_nothing_with_line_numbers(services) -> None:
    data = (
        HEADER
        + "Gut,Chemnitz,Wasserstoff,ok,,\n"
        + ",Dresden,H2,kein Name,,\n"
        + "Schlecht,Leipzig,H2,x,not-a-matrix-id,\n"
        + "gut,Berlin,H2,doppelt,,\n"
    ).encode()
    result = await import_csv(services, data, skip_invalid=False)
    assert [e.line for e in result.errors] == [3, 4, 5]
    assert result.created == 0
    assert await export_csv(services) == HEADER
    skipped = await import_csv(services, data, skip_invalid=True)
    assert (skipped.created, len(skipped.errors)) == (1, 3)


async def test_import_upserts_by_name_case_insensitively(services) -> None:
    await import_csv(
        services, (HEADER + "Netz Ost,Cottbus,Energie,a,,\n").encode(), skip_invalid=False
    )
    again = await import_csv(
        services,
        (HEADER + "NETZ OST,Cottbus,Energie;Wasserstoff,b,,\n").encode(),
        skip_invalid=False,
    )
    assert (again.created, again.updated) == (0, 1)
    assert "Energie;Wasserstoff" in await export_csv(services)


async def test_bad_encoding_is_rejected(services) -> None:
    data = (HEADER + "Köln-Initiative,Köln,Chemie,x,,\n").encode("latin-1")
    result = await import_csv(services, data, skip_invalid=False)
    assert result.errors and result.created == 0


async def test_search_by_topic_region_and_name(demo, chat) -> None:
    [by_land] = await chat("!initiativen Sachsen")
    assert "Silicon Saxony" in by_land or "Chemnitz" in by_land or "Dresden" in by_land
    [by_topic] = await chat("!initiativen hydrogen")
    assert "Hydrogen Hub Aachen" in by_topic
    [profile] = await chat("!initiative hydrogen hub aachn")
    assert profile.splitlines()[0] == "Hydrogen Hub Aachen"


async def test_match_lists_up_to_five_with_reasons(demo, chat) -> None:
    [text] = await chat("!passend Hydrogen Hub Aachen")
    lines = text.splitlines()[1:]
    assert 1 <= len(lines) <= 5
    assert all("Hydrogen Hub Aachen (" not in line for line in lines)
    assert "Wasserstoff" in lines[0]
    [english] = await chat("!match hydrogen")
    assert "Hydrogen" in english


async def test_coordinator_adds_and_removes_member_is_refused(chat) -> None:
    spec = "Neue Runde | Jena, Thüringen | Optik; Fachkräfte | Betriebe aus Jena | @neu:localhost"
    [refused] = await chat(f"/initiative add {spec}", user=MEMBER)
    assert "nur Koordinator" in refused
    [added] = await chat(f"/initiative add {spec}", user=COORDINATOR)
    assert "angelegt" in added
    [profile] = await chat("!initiative Neue Runde")
    assert "Thüringen" in profile and "@neu:localhost" in profile
    [removed] = await chat("/initiative remove neue runde", user=COORDINATOR)
    assert "entfernt" in removed
    [gone] = await chat("!initiative Neue Runde")
    assert "kenne ich nicht" in gone


async def test_add_rejects_bad_input_and_stores_nothing(chat) -> None:
    [bad_contact] = await chat("/initiative add A | Jena | Optik | d | kontakt", user=COORDINATOR)
    assert "Matrix-ID" in bad_contact and "nichts gespeichert" in bad_contact
    [usage] = await chat("/initiative add nur ein Name", user=COORDINATOR)
    assert usage.startswith("Aufruf: !initiative anlegen")
    [gone] = await chat("!initiative A")
    assert "kenne ich nicht" in gone


async def test_every_problem_is_listed_in_the_member_s_language(chat) -> None:
    await chat("!sprache einfach", user=COORDINATOR)
    [text] = await chat(
        "!initiative anlegen A | Jena | Optik | d | kontakt | www.a.de", user=COORDINATOR
    )
    assert text.startswith("Das kann ich so nicht speichern:")
    assert "Der Kontakt „kontakt“ ist falsch." in text
    assert "Die Web-Seite „www.a.de“ ist falsch." in text
    assert text.endswith("Ich habe nichts gespeichert.")
    await chat("!sprache en", user=COORDINATOR)
    [text] = await chat("!initiative add A | Jena | Optik | d | kontakt", user=COORDINATOR)
    assert 'The contact "kontakt" is not a Matrix ID' in text


async def test_contact_edits_own_initiative_only(demo, chat) -> None:
    owner = "@hydrogen-hub:localhost"
    [done] = await chat(
        "!initiative bearbeiten Hydrogen Hub Aachen | themen=Wasserstoff; Brennstoffzellen",
        user=owner,
    )
    assert "aktualisiert" in done
    [profile] = await chat("!initiative Hydrogen Hub Aachen")
    assert "Brennstoffzellen" in profile
    [refused] = await chat("!initiative edit Hydrogen Hub Aachen | topics=Kohle", user=MEMBER)
    assert "Only the listed contact" in refused or "Nur der eingetragene Kontakt" in refused


async def test_introductions_pair_strong_overlaps_once(demo, services) -> None:
    from bot.core.messages import RoomId
    from bot.initiatives.intros import introduction_round

    transport = RecordingTransport(rooms=[RoomId("!news"), RoomId("!lobby")])
    first = await introduction_round(services, services.directory, transport)
    assert 1 <= first <= 2
    posts = [sent.reply for sent in transport.sent]
    assert len(posts) == first * 2
    assert all(len(p.mentions) == 2 and all(m in p.text for m in p.mentions) for p in posts)
    seen = {p.text for p in posts}
    await introduction_round(services, services.directory, transport)
    later = [sent.reply.text for sent in transport.sent[len(posts) :]]
    assert not seen & set(later)  # a pair is never introduced twice


async def test_no_rooms_uses_up_no_introductions(demo, services) -> None:
    from sqlalchemy import func, select

    from bot.core.messages import RoomId
    from bot.initiatives.intros import introduction_round
    from storage.models import Introduction

    transport = RecordingTransport()
    assert await introduction_round(services, services.directory, transport) == 0
    assert transport.sent == []
    async with services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Introduction)) == 0
    transport.rooms = [RoomId("!news")]
    assert await introduction_round(services, services.directory, transport) >= 1


async def test_contact_opts_out_of_introductions(demo, chat, services) -> None:
    from bot.core.messages import RoomId
    from bot.initiatives.intros import introduction_round

    owner = "@hydrogen-hub:localhost"
    [off] = await chat("!vorstellen aus", user=owner)
    assert "Hydrogen Hub Aachen" in off
    transport = RecordingTransport(rooms=[RoomId("!news")])
    for _ in range(10):
        await introduction_round(services, services.directory, transport)
    assert all(owner not in sent.reply.mentions for sent in transport.sent)
    [nothing] = await chat("!intros on", user=MEMBER)
    assert "not listed" in nothing or "keiner Initiative" in nothing


async def test_a_running_bot_sees_initiatives_imported_by_another_process(
    services, settings, chat
) -> None:
    from bot.services import build_services

    assert "kenne ich nicht" in (await chat("!initiative Hydrogen Hub Aachen"))[0]
    cli = await build_services(settings)  # `initiative-bot initiatives import`, elsewhere
    try:
        await import_csv(cli, DEMO.read_bytes(), skip_invalid=False)
    finally:
        await cli.db.dispose()
    [profile] = await chat("!initiative Hydrogen Hub Aachen")
    assert profile.splitlines()[0] == "Hydrogen Hub Aachen"


async def test_the_directory_picks_up_another_process_s_import_by_itself(
    services, settings
) -> None:
    from bot.services import build_services

    services.jobs.every("watch", timedelta(seconds=0.05), lambda: watch_directory(services, None))
    services.jobs.start()
    try:
        cli = await build_services(settings)
        try:
            await import_csv(cli, DEMO.read_bytes(), skip_invalid=False)
        finally:
            await cli.db.dispose()
        deadline = time.monotonic() + 10
        while services.directory.matcher.find("Hydrogen Hub Aachen") is None:
            assert time.monotonic() < deadline, "the import was not picked up"
            await asyncio.sleep(0.05)
    finally:
        await services.jobs.stop()


async def test_edit_needs_the_exact_name(demo, chat) -> None:
    [text] = await chat("!initiative edit Hydrogen Hub | topics=Kohle", user=COORDINATOR)
    assert "genau dem Namen" in text


async def test_chat_add_needs_a_topic(chat) -> None:
    [text] = await chat("/initiative add Leer | Jena |  | Beschreibung", user=COORDINATOR)
    assert "Thema" in text and "nichts gespeichert" in text


HUB = "Hydrogen Hub Aachen"
OWNER = UserId("@hydrogen-hub:localhost")
NEW = UserId("@neu:localhost")


async def test_a_new_contact_confirms_the_hand_over_in_a_direct_chat(demo, chat) -> None:
    chat.transport = transport = RecordingTransport()
    [asked] = await chat(f"!initiative bearbeiten {HUB} | kontakt={NEW}", user=COORDINATOR)
    assert f"Ich habe {NEW} gefragt" in asked and f"bleibt {OWNER} eingetragen" in asked
    [ask] = transport.texts(transport.direct_rooms[NEW])
    assert f"{COORDINATOR} möchte Sie als Kontakt" in ask
    assert f"!initiative bestätigen {HUB}" in ask and "7 Tage" in ask
    [profile] = await chat(f"!initiative {HUB}")
    assert f"Kontakt: {OWNER}" in profile  # unconfirmed: the public entry is unchanged
    [data] = await chat("!meine-daten", user=NEW)
    assert f"Anfrage von {COORDINATOR}: Sie sollen Kontakt von „{HUB}“ werden" in data
    [mine] = await chat("!meine-daten", user=COORDINATOR)
    assert f"Ihre Anfrage: {NEW} soll Kontakt von „{HUB}“ werden" in mine
    [nobody] = await chat(f"!initiative bestätigen {HUB}", user=MEMBER)
    assert "wartet keine Anfrage auf Sie" in nobody
    [thanks] = await chat(f"!initiative confirm {HUB}", user=NEW)
    assert thanks == f"Danke! Sie sind jetzt der Kontakt von „{HUB}“ im Verzeichnis."
    [profile] = await chat(f"!initiative {HUB}")
    assert f"Kontakt: {NEW}" in profile
    [again] = await chat(f"!initiative bestaetigen {HUB}", user=NEW)
    assert "wartet keine Anfrage" in again
    [done] = await chat(f"!initiative bearbeiten {HUB} | themen=H2", user=NEW)
    assert "aktualisiert" in done  # the new contact may edit now


async def test_a_hand_over_by_the_contact_expires_unconfirmed(demo, chat, services) -> None:
    from sqlalchemy import func, select

    from handlers.initiatives import expire_handovers
    from storage.models import ContactHandover

    chat.transport = transport = RecordingTransport()
    await chat("!language en", user=NEW)
    [asked] = await chat(f"!initiative edit {HUB} | contact={NEW}", user=OWNER)
    assert f"Ich habe {NEW} gefragt" in asked
    [ask] = transport.texts(transport.direct_rooms[NEW])
    assert ask.startswith(f"{OWNER} would like to list you as the contact")
    real_clock = services.clock
    services.clock = lambda: real_clock() + timedelta(days=8)
    [late] = await chat(f"!initiative bestätigen {HUB}", user=NEW)
    assert "the 7 days have passed" in late
    [profile] = await chat(f"!initiative {HUB}")
    assert f"Kontakt: {OWNER}" in profile
    await expire_handovers(services, transport)
    async with services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ContactHandover)) == 0


async def test_the_daily_job_keeps_a_hand_over_that_has_not_expired(demo, chat, services) -> None:
    from handlers.initiatives import expire_handovers

    chat.transport = transport = RecordingTransport()
    await chat(f"!initiative bearbeiten {HUB} | kontakt={NEW}", user=COORDINATOR)
    real_clock = services.clock
    services.clock = lambda: real_clock() + timedelta(days=6)
    await expire_handovers(services, transport)
    [thanks] = await chat(f"!initiative bestätigen {HUB}", user=NEW)
    assert thanks == f"Danke! Sie sind jetzt der Kontakt von „{HUB}“ im Verzeichnis."


async def test_a_hand_over_can_be_declined_or_forgotten(demo, chat, services) -> None:
    chat.transport = RecordingTransport()
    await chat(f"!initiative bearbeiten {HUB} | kontakt={NEW}", user=COORDINATOR)
    [declined] = await chat(f"!initiative ablehnen {HUB}", user=NEW)
    assert "nicht als Kontakt" in declined
    assert "wartet keine Anfrage" in (await chat(f"!initiative bestätigen {HUB}", user=NEW))[0]
    await chat(f"!initiative bearbeiten {HUB} | kontakt={NEW}", user=COORDINATOR)
    await chat("!daten-loeschen", user=NEW)
    await chat("!daten-loeschen bestätigen", user=NEW)
    assert "wartet keine Anfrage" in (await chat(f"!initiative bestätigen {HUB}", user=NEW))[0]
    [profile] = await chat(f"!initiative {HUB}")
    assert f"Kontakt: {OWNER}" in profile


async def test_removing_or_taking_over_a_contact_needs_no_confirmation(demo, chat) -> None:
    [taken] = await chat(f"!initiative bearbeiten {HUB} | kontakt={COORDINATOR}", user=COORDINATOR)
    assert "aktualisiert" in taken
    assert f"Kontakt: {COORDINATOR}" in (await chat(f"!initiative {HUB}"))[0]
    [removed] = await chat(f"!initiative bearbeiten {HUB} | kontakt=", user=COORDINATOR)
    assert "aktualisiert" in removed
    assert "Kontakt:" not in (await chat(f"!initiative {HUB}"))[0]


async def test_the_requester_hears_when_the_new_contact_cannot_be_reached(demo, chat) -> None:
    chat.transport = RecordingTransport(opens_direct=False)
    replies = await chat(f"!initiative bearbeiten {HUB} | kontakt={NEW}", user=COORDINATOR)
    assert f"Ich habe {NEW} gefragt" in replies[0]
    assert replies[1].startswith(f"Ich konnte {NEW} keine Direktnachricht schicken.")


@pytest.mark.parametrize(
    ("lang", "listed", "summary"),
    [
        ("de", "Zeile 3: Der Name fehlt.", "1 neu, 0 aktualisiert, 1 übersprungen"),
        ("en", "Line 3: The name is missing.", "1 created, 0 updated, 1 skipped"),
        ("de-simple", "Zeile 3: Der Name fehlt.", "1 neu.\n0 geändert.\n1 nicht gespeichert."),
    ],
)
def test_cli_import_speaks_the_bot_s_language(
    lang: str,
    listed: str,
    summary: str,
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(HEADER + "A,Jena,Optik,,,\n,Jena,Optik,,,\n", encoding="utf-8")
    monkeypatch.setenv("BOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BOT_LANGUAGE", lang)
    assert main(["initiatives", "import", str(source)]) == 1
    out = capsys.readouterr()
    assert out.err.splitlines()[0] == listed
    assert main(["initiatives", "import", "--skip-invalid", str(source)]) == 0
    assert capsys.readouterr().out.strip() == summary
