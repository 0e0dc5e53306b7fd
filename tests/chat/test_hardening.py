"""No input stalls or breaks the bot: bounded work, bounded replies, clean text, safe exports."""

from __future__ import annotations

import csv
import io
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.matrix.incoming import addressed_text
from bot.adapters.matrix.send import CONTENT_BUDGET, encoded_size, message_contents
from bot.core import render as md
from bot.core.dispatcher import MAX_MESSAGE, Dispatcher
from bot.core.messages import EventId, Incoming, Reply, RoomId, UserId
from bot.initiatives.csv_io import write_initiatives_csv
from bot.text.analyzer import Analyzer, clean_text, spreadsheet_safe
from bot.text.lexicon import load_lexicon
from config import CONFIG_DIR
from storage.db import Database
from storage.initiatives import InitiativeRow
from storage.questions import MAX_QUESTION_CHARS as MAX_QUESTION
from tests.fakes import Conversation, RecordingTransport

LEXICON = load_lexicon(CONFIG_DIR / "lexicon")

ASKER = Incoming(
    RoomId("!room"), UserId("@asker:localhost"), EventId("$q"), "!frage x", datetime.now(UTC)
)


def test_repeated_particles_are_read_in_linear_time() -> None:
    analyzer = Analyzer([["Fachkräfte", "skilled workers"]], LEXICON, ["Fachkräfte"])
    short, long = "zu " * 1_000, "zu " * 8_000
    started = time.perf_counter()
    analyzer.terms(short)
    small = time.perf_counter() - started
    started = time.perf_counter()
    analyzer.terms(long)
    large = time.perf_counter() - started
    assert large < 20 * small + 0.05  # 8 times the text: far from 64 times the work


def test_a_reply_fallback_of_many_quote_lines_is_stripped_quickly() -> None:
    body = "> " + "\n> " * 16_000 + "\n\n!hilfe"
    started = time.perf_counter()
    text, addressed = addressed_text(body, {"bot:localhost", "bot"}, mentioned=False)
    assert time.perf_counter() - started < 0.05
    assert text == "!hilfe" and not addressed


def test_the_bots_name_in_front_addresses_it() -> None:
    assert addressed_text("bot: wer seid ihr?", {"bot"}, mentioned=False) == ("wer seid ihr?", True)
    assert addressed_text("Bottrop ist schön", {"bot"}, mentioned=False)[1] is False


def test_a_long_reply_is_split_into_events_within_the_limit() -> None:
    lines = [f"{n}. Überschrift mit Umlauten äöü und <Zeichen> & mehr" for n in range(4_000)]
    reply = Reply(md.escape("\n".join(lines)), mentions=(UserId("@named:localhost"),))
    parts = message_contents(reply, ASKER)
    assert len(parts) > 1
    assert all(encoded_size(part) <= CONTENT_BUDGET for part in parts)
    assert "\n".join(part["body"] for part in parts) == reply.text  # nothing dropped
    assert all(part["m.relates_to"] == {"m.in_reply_to": {"event_id": "$q"}} for part in parts)
    assert parts[0]["m.mentions"]["user_ids"] == ["@asker:localhost", "@named:localhost"]
    assert parts[1]["m.mentions"]["user_ids"] == ["@asker:localhost"]


def test_one_endless_line_is_cut_too() -> None:
    reply = Reply.plain("ä" * 100_000)
    parts = message_contents(reply, None)
    assert all(encoded_size(part) <= CONTENT_BUDGET for part in parts)
    assert "".join(part["body"] for part in parts) == reply.text


def test_a_short_reply_keeps_its_html() -> None:
    [content] = message_contents(Reply(md.bold("Titel <1>")), ASKER)
    assert content["formatted_body"] == "<strong>Titel &lt;1&gt;</strong>"


async def test_a_refused_reply_is_followed_by_a_short_notice(dispatcher: Dispatcher) -> None:
    transport = RecordingTransport(refuse_longer_than=200)
    msg = Incoming(
        RoomId("!room"), UserId("@m:localhost"), EventId("$help"), "!hilfe", datetime.now(UTC)
    )
    await dispatcher.handle(msg, transport)
    [notice] = transport.texts()
    assert notice.startswith("Entschuldigung, meine Antwort konnte nicht zugestellt werden")


async def test_an_overlong_question_is_refused_politely(chat: Conversation) -> None:
    [reply] = await chat("!frage " + "Wer sitzt im Fachbeirat? " * 100)
    assert reply.startswith("Ihre Frage ist zu lang für mich")
    assert str(MAX_QUESTION) in reply


async def test_an_overlong_command_is_refused_before_it_runs(chat: Conversation) -> None:
    [reply] = await chat("!initiativen " + "Wasserstoff " * 1_000)
    assert reply.startswith("Ihre Nachricht ist zu lang für mich")
    assert str(MAX_MESSAGE) in reply


async def test_terminal_escapes_never_reach_a_reply(chat: Conversation) -> None:
    [reply] = await chat("!sprache \x1b[31mxx\x1b]0;title\x07")
    assert "\x1b" not in reply and "\x07" not in reply


def test_clean_text_keeps_words_and_line_breaks() -> None:
    dirty = "Guten\x1b[2J Tag\r\nZeile\u202e zwei\x00\tEnde\x9b"
    assert clean_text(dirty) == "Guten Tag\nZeile zwei\tEnde"


def test_exported_cells_never_start_a_formula() -> None:
    row = InitiativeRow("=HYPERLINK(1)", "+49 Region", ("-Thema",), "@SUM(A1)", None, None)
    cells = next(csv.reader(io.StringIO(write_initiatives_csv([row]).splitlines()[1])))
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert spreadsheet_safe("\tx") == "'\tx" and spreadsheet_safe("Normal") == "Normal"


async def test_the_database_file_and_its_new_folder_are_private(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/new/bot.db")
    try:
        await db.upgrade()
    finally:
        await db.dispose()
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    for name in ("bot.db", "bot.db-wal", "bot.db-shm"):
        path = tmp_path / "new" / name
        assert not path.exists() or stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / "new" / "bot.db").exists()
