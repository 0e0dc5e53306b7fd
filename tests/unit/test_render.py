"""The one renderer: what members' clients show of a reply, and what they never show."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.adapters.matrix.send import file_content, message_contents
from bot.core import render as md
from bot.core.messages import Attachment, EventId, Incoming, Reply, RoomId, UserId

# the tags the Matrix spec allows in formatted_body, less those the bot never needs
ALLOWED = {"p", "br", "ul", "ol", "li", "strong", "em", "code", "a", "blockquote"}


def tags(html: str) -> set[str]:
    return {name.lower() for name in re.findall(r"</?([a-zA-Z0-9]+)", html)}


def test_values_show_exactly_as_written() -> None:
    hostile = "<script>x</script> **fett** _kursiv_ [link](javascript:alert(1)) `code` # 1. \\"
    reply = Reply(md.lines([md.bold("Titel"), hostile]))
    assert reply.text == f"Titel\n{hostile}"
    assert "<script>" not in reply.html and "&lt;script&gt;" in reply.html
    assert "javascript:" not in reply.html.replace("(javascript:alert(1))", "")
    assert tags(reply.html) <= ALLOWED


def test_lists_and_paragraphs_render_without_tables() -> None:
    reply = Reply(md.blocks([md.bold("Termine"), md.items(["A | B | C", "zweiter"]), "Ende"]))
    assert reply.text == "Termine\n\n• A | B | C\n• zweiter\n\nEnde"
    assert reply.html == (
        "<p><strong>Termine</strong></p><ul><li>A | B | C</li><li>zweiter</li></ul><p>Ende</p>"
    )
    assert "table" not in tags(Reply(md.escape("| a | b |\n|---|---|\n| 1 | 2 |")).html)


def test_web_addresses_become_links_and_sentence_ends_stay_outside() -> None:
    reply = Reply(md.escape("Siehe https://example.org/a_b?x=1. Danke"))
    assert reply.text == "Siehe https://example.org/a_b?x=1. Danke"
    assert '<a href="https://example.org/a_b?x=1">https://example.org/a_b?x=1</a>.' in reply.html


def test_numbered_choices_and_mentions() -> None:
    reply = Reply(md.lines(["Meinten Sie:", md.numbered(["Eins", "Zwei"])]))
    assert reply.text == "Meinten Sie:\n1. Eins\n2. Zwei"
    assert "<ol><li>Eins</li><li>Zwei</li></ol>" in reply.html
    pill = Reply(md.person("@anna:example.org"))
    assert pill.text == "@anna:example.org"
    assert 'href="https://matrix.to/#/@anna:example.org"' in pill.html
    assert md.person("Anna (Kammer)") == md.escape("Anna (Kammer)")


def test_a_command_in_a_code_span_keeps_its_backticks() -> None:
    assert Reply(md.code("!frage `x`")).text == "!frage `x`"


def test_every_message_names_whom_it_mentions() -> None:
    asker = Incoming(RoomId("!r:x"), UserId("@a:x"), EventId("$q"), "!hilfe", datetime.now(UTC))
    [plain] = message_contents(Reply.plain("Hallo"), None)
    [reply] = message_contents(Reply.plain("Hallo"), asker)
    assert plain["m.mentions"] == {"user_ids": []}
    assert reply["m.mentions"] == {"user_ids": ["@a:x"]}
    for file in (Attachment("a.ics", "text/calendar", b"x"), Attachment("c.png", "image/png", b"")):
        assert file_content(file)["m.mentions"] == {}
    [everyone] = message_contents(Reply(md.escape("@room Erinnerung"), mention_room=True), None)
    assert everyone["m.mentions"] == {"user_ids": [], "room": True}
    assert everyone["body"] == "@room Erinnerung"
