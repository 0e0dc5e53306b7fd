"""!hilfe and !sprache."""

from __future__ import annotations

from tests.fakes import COORDINATOR, MEMBER


async def test_help_lists_member_commands_for_members_only(chat) -> None:
    [text] = await chat("!hilfe", user=MEMBER)
    assert "!hilfe" in text and "!sprache" in text
    assert "Koordinatoren" not in text


async def test_help_is_generated_for_coordinators_too(chat) -> None:
    [text] = await chat("!hilfe", user=COORDINATOR)
    assert "!hilfe" in text


async def test_english_alias_answers_in_english(chat) -> None:
    [text] = await chat("!help")
    assert text.startswith("Here is what I can do")
    assert "!help" in text and "!language" in text


async def test_language_choice_is_stored_per_user(chat) -> None:
    assert await chat("!sprache en") == ["Fine, from now on I will answer you in English."]
    assert (await chat("!hilfe"))[0].startswith("Here is what I can do")
    assert (await chat("!hilfe", user=COORDINATOR))[0].startswith("Das kann ich")
    await chat("!language simple")
    assert (await chat("!hilfe"))[0].startswith("Das kann ich für Sie machen")
    await chat("!sprache de")
    assert (await chat("!help"))[0].startswith("Das kann ich für Sie tun")


async def test_unknown_language_gets_usage(chat) -> None:
    [text] = await chat("!sprache klingonisch")
    assert text.startswith("Aufruf: !sprache")
