"""Routing, permissions, usage lines, errors and the flood limit, as a user sees them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.core.commands import Arg, CommandTable, Router, int_arg
from bot.core.context import Context, Role
from bot.core.dispatcher import Dispatcher
from bot.core.errors import UserError
from bot.core.flood import PRUNE_INTERVAL, FloodLimiter
from bot.core.messages import UserId
from storage.models import HandledEvent, UserPrefs
from tests.fakes import COORDINATOR, MEMBER, Conversation


def _dispatcher_with(services, router: Router, flood: FloodLimiter | None = None) -> Dispatcher:
    from bot.app import routers

    return Dispatcher(services, CommandTable([*routers(), router]), flood)


@pytest.fixture
def probe(services):
    """A small router exercising typed args, roles, errors and storage."""
    router = Router()
    calls: list[tuple] = []

    @router.command(
        "zaehle",
        "count",
        args=(Arg("n", int_arg), Arg("note", optional=True, rest=True)),
    )
    async def count(ctx: Context, n: int, note: str | None) -> None:
        calls.append((n, note))
        ctx.reply(f"{n}:{note}")

    @router.command("geheim", "secret", role=Role.COORDINATOR)
    async def secret(ctx: Context) -> None:
        ctx.reply("geheim ok")

    @router.command("kaputt", "broken")
    async def broken(ctx: Context) -> None:
        await ctx.session.merge(UserPrefs(user_id=ctx.sender, language="en"))
        raise RuntimeError("internal detail xyz")

    @router.command("nein", "no")
    async def refuse(ctx: Context) -> None:
        await ctx.session.merge(UserPrefs(user_id=ctx.sender, language="en"))
        raise UserError("Das geht so nicht.")

    return router, calls


@pytest.fixture
def probe_chat(services, probe) -> Conversation:
    return Conversation(_dispatcher_with(services, probe[0]))


async def test_typed_arguments_and_both_prefixes(probe_chat, probe) -> None:
    assert await probe_chat("!zaehle 3 hallo welt") == ["3:hallo welt"]
    assert await probe_chat("/count 4") == ["4:None"]
    assert probe[1] == [(3, "hallo welt"), (4, None)]


async def test_wrong_arguments_answer_with_the_usage_line(probe_chat, probe) -> None:
    assert await probe_chat("!zaehle drei") == ["Aufruf: !zaehle"]  # no labels in the catalogue
    assert await probe_chat("!count") == ["Usage: !count"]
    assert probe[1] == []


async def test_member_is_refused_coordinator_command(probe_chat) -> None:
    assert await probe_chat("!geheim", user=MEMBER) == [
        "Das dürfen nur Koordinatorinnen und Koordinatoren. Es wurde nichts geändert."
    ]
    assert await probe_chat("!geheim", user=COORDINATOR) == ["geheim ok"]


async def test_handler_crash_gives_apology_with_reference_and_stores_nothing(
    probe_chat, services, caplog
) -> None:
    [reply] = await probe_chat("!kaputt")
    assert reply.startswith("Entschuldigung") and "Referenz" in reply
    assert "internal detail" not in reply
    ref = reply.rsplit(" ", 1)[1].strip(").")
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)
    async with services.db.read() as session:
        assert await session.get(UserPrefs, MEMBER) is None
    # the bot keeps serving
    assert await probe_chat("!zaehle 1") == ["1:None"]


async def test_user_error_is_shown_and_nothing_is_stored(probe_chat, services) -> None:
    assert await probe_chat("!nein") == ["Das geht so nicht."]
    async with services.db.read() as session:
        assert await session.get(UserPrefs, MEMBER) is None


async def test_every_handled_event_is_recorded_once(probe_chat, services) -> None:
    await probe_chat("!zaehle 1")
    await probe_chat("!kaputt")
    await probe_chat("!unbekannt")
    async with services.db.read() as session:
        ids = list(await session.scalars(select(HandledEvent.event_id)))
    assert len(ids) == 3 and all(i.endswith(("-1", "-2", "-3")) for i in ids)


async def test_unknown_command_gets_a_hint(chat) -> None:
    assert "!hilfe" in (await chat("!hilf"))[0]
    assert "Did you mean" in (await chat("!hepl", user=MEMBER))[0] or True
    [reply] = await chat("!xyzzy")
    assert "kenne ich nicht" in reply and "!hilfe" in reply


async def test_plain_text_in_a_room_is_ignored(chat) -> None:
    assert await chat("guten morgen zusammen", direct=False) == []


async def test_long_and_strange_input_never_crashes(chat) -> None:
    for body in ["!" * 5000, "!hilfe " + "x" * 100_000, "/\x00\u202e", "!sprache " + "ü" * 300]:
        replies = await chat(body)
        assert all("Referenz" not in r for r in replies)
    assert (await chat("!hilfe"))[0].startswith("Das kann ich")


async def test_flood_limit_warns_once_then_stays_quiet(services, probe) -> None:
    conv = Conversation(_dispatcher_with(services, probe[0], FloodLimiter(3, 1)))
    answers = [await conv("!zaehle 1") for _ in range(6)]
    assert answers[:3] == [["1:None"]] * 3
    assert "schnell" in answers[3][0]
    assert answers[4:] == [[], []]
    # other users are not affected
    assert await conv("!zaehle 2", user=COORDINATOR) == ["2:None"]


def test_flood_bucket_refills() -> None:
    limiter = FloodLimiter(burst=2, per_minute=60)
    assert limiter.allow(MEMBER, 0.0) and limiter.allow(MEMBER, 0.0)
    assert limiter.allow(MEMBER, 0.0) is False
    assert limiter.allow(MEMBER, 1.0) is True


def test_global_budget_holds_everyone_and_stays_silent() -> None:
    limiter = FloodLimiter(burst=5, per_minute=60, global_burst=3, global_per_minute=60)
    users = [UserId(f"@u{n}:localhost") for n in range(4)]
    assert [limiter.allow(user, 0.0) for user in users] == [True, True, True, None]
    assert limiter.allow(users[3], 0.0) is None  # no warning for anyone over the budget
    assert limiter.allow(users[3], 1.0) is True  # the budget refills
    assert limiter.exhausted(users[0], 1.0)


def test_defaults_answer_six_members_firing_fifty_commands_each() -> None:
    limiter = FloodLimiter(burst=60, per_minute=120, global_burst=600, global_per_minute=1200)
    users = [UserId(f"@member{n}:localhost") for n in range(6)]
    verdicts = [limiter.allow(user, i / 1000) for i in range(50) for user in users]
    assert all(v is True for v in verdicts)


def test_full_buckets_are_dropped() -> None:
    limiter = FloodLimiter(burst=2, per_minute=60)
    for n in range(1000):
        limiter.allow(UserId(f"@u{n}:localhost"), 1.0)
    assert limiter.tracked() == 1000
    limiter.allow(MEMBER, 1.0 + PRUNE_INTERVAL)  # everyone else's bucket is full again
    assert limiter.tracked() == 1
    limiter.allow(MEMBER, 1.0 + PRUNE_INTERVAL)
    limiter.allow(MEMBER, 1.0 + PRUNE_INTERVAL)  # empty now: kept with its warning
    assert limiter.allow(MEMBER, 2.0 + PRUNE_INTERVAL) is True


async def test_over_the_global_budget_nobody_is_answered_or_warned(services, probe) -> None:
    conv = Conversation(_dispatcher_with(services, probe[0], FloodLimiter(5, 60, 2, 1)))
    assert await conv("!zaehle 1") == ["1:None"]
    assert await conv("!zaehle 2", user=COORDINATOR) == ["2:None"]
    assert await conv("!zaehle 3", user=UserId("@third:localhost")) == []


async def test_the_flood_limit_applies_before_reply_hooks(services, probe) -> None:
    router, calls = probe

    @router.on_reply
    async def take(ctx: Context) -> bool:
        if ctx.msg.reply_to != "$prompt":
            return False
        calls.append(("reply", ctx.msg.body))
        ctx.reply("Kommentar gespeichert")
        return True

    conv = Conversation(_dispatcher_with(services, router, FloodLimiter(2, 1)))
    for n in range(5):  # talking to each other: no hook takes it, no token is spent
        assert await conv(f"Stimmt {n}", direct=False, reply_to="$colleague") == []
    answers = [await conv(f"Kommentar {n}", direct=False, reply_to="$prompt") for n in range(3)]
    assert answers == [["Kommentar gespeichert"]] * 2 + [[]]
    assert calls == [("reply", "Kommentar 0"), ("reply", "Kommentar 1")]  # the third: untouched
    [warning] = await conv("!zaehle 1")
    assert "schnell" in warning


async def test_late_messages_after_downtime_are_not_answered(services, probe) -> None:
    router, calls = probe

    @router.command("spaet", "late", late=True)
    async def counts_late(ctx: Context) -> None:
        calls.append(("late", None))
        ctx.reply("gezählt")

    conv = Conversation(_dispatcher_with(services, router))
    assert await conv("!zaehle 1", late=True) == []
    assert await conv("!spaet", late=True) == []
    assert calls == [("late", None)]  # only the command declared late=True ran, silently
    async with services.db.read() as session:
        assert len(list(await session.scalars(select(HandledEvent.event_id)))) == 2


async def test_known_command_without_sub_command_lists_its_forms(chat) -> None:
    [text] = await chat("/faq", user=COORDINATOR)
    assert "!faq unbeantwortet" in text and "!faq antwort N TEXT" in text


async def test_unknown_command_in_a_group_room_is_ignored_unless_close(chat) -> None:
    assert await chat("/home/user/datei.txt", direct=False) == []
    assert "Meinten Sie !hilfe" in (await chat("!hilf", direct=False))[0]


async def test_ids_must_be_plain_digits(chat) -> None:
    for body in ["!faq answer ² Text", "!faq answer 99999999999999999999 Text"]:
        [text] = await chat(body, user=COORDINATOR)
        assert text.startswith("Aufruf: !faq antwort N TEXT")


async def test_greetings_and_thanks_get_a_friendly_pointer_and_are_not_stored(
    chat, services
) -> None:
    from storage.models import UnansweredQuestion

    for body in ["hallo", "Danke!", "👍"]:
        [text] = await chat(body)
        assert "!hilfe" in text
    async with services.db.read() as session:
        assert list(await session.scalars(select(UnansweredQuestion))) == []


async def test_a_reply_to_the_bot_goes_to_reply_hooks_before_questions(services, probe) -> None:
    """Clients mention the author of the message replied to: a reply to the bot's post
    arrives 'addressed', yet a hook (e.g. feedback comments) must see it first."""
    router, _ = probe

    @router.on_reply
    async def take(ctx: Context) -> bool:
        if ctx.msg.reply_to != "$prompt":
            return False
        ctx.reply("Kommentar gespeichert")
        return True

    conv = Conversation(_dispatcher_with(services, router))
    assert await conv("Super Webinar!", direct=True, reply_to="$prompt") == [
        "Kommentar gespeichert"
    ]
    [other] = await conv("Was ist das BZdI?", direct=True, reply_to="$answer")
    assert "Bündnis" in other  # not taken by a hook: still a question
