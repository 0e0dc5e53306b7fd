"""Offerings Q&A: !frage, !angebote, and the coordinators' /faq for questions left open."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import escape

from bot.core.commands import Arg, Router, int_arg
from bot.core.context import Role
from bot.core.errors import UserError
from bot.core.transport import Transport
from bot.knowledge.entries import Entry
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.learning import answer_group, apply_retention, learn, note_unanswered
from bot.knowledge.policy import Match, Outcome
from bot.services import Ctx, Services
from config.settings import Lang
from handlers.handoff import answered, hand_off
from handlers.handoff import close as close_handed_off
from storage import questions
from storage.questions import MAX_QUESTION_CHARS as MAX_QUESTION

router = Router()

OVERVIEW_ID = "angebote"
_MAX_OPEN = 20  # open groups listed by !faq unbeantwortet, most asked first
_PICK = re.compile(r"\s*#?([1-9])[.)]?\s*")  # "2", "#2", "2.": one of the offered entries


def format_entry(entry: Entry, lang: Lang) -> tuple[str, str]:
    """Bold title, short answer, link last: plain text and HTML."""
    title = entry.title.get(lang) or entry.title["de"]
    answer = entry.answer.get(lang) or entry.answer["de"]
    text = f"{title}\n{answer}"
    html = f"<b>{escape(title)}</b><br>{escape(answer).replace(chr(10), '<br>')}"
    if entry.link:
        text += f"\n{entry.link}"
        html += f'<br><a href="{escape(entry.link)}">{escape(entry.link)}</a>'
    return text, html


@router.command(
    "frage",
    "ask",
    help={
        "de": "beantwortet Fragen zu den Angeboten der Servicestelle",
        "en": "answers questions about the service centre's offerings",
        "de-simple": "beantwortet Fragen zur Service-stelle",
    },
    args=(Arg("question", "TEXT", rest=True),),
)
async def ask(ctx: Ctx, question: str) -> None:
    index: KnowledgeIndex = ctx.services.knowledge
    talk, room, now = ctx.services.conversations, ctx.msg.room_id, ctx.services.clock()
    number = _PICK.fullmatch(question)
    offered = talk.pick(room, ctx.sender, int(number[1]), now) if number else None
    if offered and (picked := index.get(offered)):
        ctx.reply(*format_entry(picked, ctx.lang))
        return
    if len(question) > MAX_QUESTION:
        raise UserError(ctx.t("offerings.too_long", length=len(question), limit=MAX_QUESTION))
    continues = question.rstrip().endswith("?") and talk.last_question(room, ctx.sender, now)
    if not ctx.services.analyzer.terms(question) and not continues:
        ctx.reply(ctx.t("offerings.small_talk"))  # "hallo", "danke", "👍": nothing to look up
        return
    if ctx.services.analyzer.language(question) == "en":
        ctx.lang = "en"  # an English question gets an English answer
    match = _search(ctx, question, now)
    if match.outcome is Outcome.ANSWER and not match.missing:
        _answer(ctx, match, now)
        return
    filed = await note_unanswered(
        ctx.session, ctx.services.knowledge, ctx.sender, question, ctx.lang, now
    )
    handed = await hand_off(ctx, filed)  # to the coordination team, if there is one
    if match.outcome is Outcome.ANSWER:
        _answer(ctx, match, now, handed)  # with what it does not know said first
    else:
        _not_answered(ctx, match.suggestions, now, handed)


def _search(ctx: Ctx, question: str, now: datetime) -> Match:
    """The question alone, or, if that finds no answer, read as the continuation of the
    member's question just before ("und wann war das?")."""
    index, talk = ctx.services.knowledge, ctx.services.conversations
    match = index.search(question)
    previous = talk.last_question(ctx.msg.room_id, ctx.sender, now)
    if previous and match.outcome is not Outcome.ANSWER:
        continued = index.search(question, context=previous)
        if continued.outcome is Outcome.ANSWER:
            talk.asked(ctx.msg.room_id, ctx.sender, f"{previous}\n{question}", now)
            return continued
    talk.asked(ctx.msg.room_id, ctx.sender, question, now)
    return match


def _answer(ctx: Ctx, match: Match, now: datetime, handed: bool = False) -> None:
    """The entry; what the question asked for that it does not hold, first; entries that came
    near, numbered, last."""
    assert match.entry is not None
    text, html = format_entry(match.entry, ctx.lang)
    if match.missing:
        missing = " ".join(ctx.t(f"offerings.missing.{kind}") for kind in match.missing)
        first = ctx.t("offerings.unknown_detail", missing=missing)
        last = (
            ctx.t("handoff.passed_on_detail")
            if handed
            else ctx.t("offerings.ask_coordinators", contact=_contact(ctx))
        )
        text, html = f"{first}\n{text}\n{last}", f"{escape(first)}<br>{html}<br>{escape(last)}"
    if match.alternatives:
        options = _offer(ctx, match.alternatives, now)
        more = ctx.t("offerings.alternatives", options=options)
        text, html = f"{text}\n\n{more}", f"{html}<br><br>{escape(more).replace(chr(10), '<br>')}"
    ctx.reply(text, html)


def _offer(ctx: Ctx, entries: tuple[Entry, ...], now: datetime) -> str:
    """Numbered titles; the member picks one with its number (kept for a while)."""
    ctx.services.conversations.offer(ctx.msg.room_id, ctx.sender, tuple(e.id for e in entries), now)
    titles = [e.title.get(ctx.lang) or e.title["de"] for e in entries]
    return "\n".join(f"{number}. {title}" for number, title in enumerate(titles, 1))


def _contact(ctx: Ctx) -> str:
    return ", ".join(ctx.settings.coordinators) or ctx.t("offerings.contact_default")


def _not_answered(
    ctx: Ctx, suggestions: tuple[Entry, ...], now: datetime, handed: bool = False
) -> None:
    """Point to the coordinators (or say the question went to them), offering the near
    entries to pick by number if any."""
    if handed:
        passed = ctx.t("handoff.passed_on")
        if suggestions:
            passed += "\n\n" + ctx.t("handoff.options", options=_offer(ctx, suggestions, now))
        ctx.reply(passed)
    elif suggestions:
        options = _offer(ctx, suggestions, now)
        ctx.reply(ctx.t("offerings.did_you_mean", options=options, contact=_contact(ctx)))
    else:
        ctx.reply(ctx.t("offerings.unknown", contact=_contact(ctx)))


@router.command(
    "angebote",
    "offerings",
    help={
        "de": "Überblick über die Angebote",
        "en": "overview of the offerings",
        "de-simple": "zeigt die Angebote",
    },
)
async def offerings(ctx: Ctx) -> None:
    index: KnowledgeIndex = ctx.services.knowledge
    overview = index.get(OVERVIEW_ID)
    text, html = format_entry(overview, ctx.lang) if overview else ("", "")
    more = ctx.t("offerings.examples")
    ctx.reply(f"{text}\n\n{more}".strip(), f"{html}<br><br>{escape(more)}")


@router.command(
    "faq",
    sub=("unbeantwortet", "unanswered"),
    role=Role.COORDINATOR,
    help={
        "de": "Fragen, die ich nicht beantworten konnte (mit Nummer und Anzahl)",
        "en": "questions I could not answer (numbered, with counts)",
        "de-simple": "Fragen ohne Antwort (mit Nummer und Anzahl)",
    },
    private=True,
)
async def unanswered(ctx: Ctx) -> None:
    groups, total = await questions.open_groups(ctx.session, _MAX_OPEN)
    if not groups:
        ctx.reply(ctx.t("faq.none"))
        return
    lines = [ctx.t("faq.title")]
    lines += [f"#{group.id} ({group.count}×) {group.text}" for group in groups]
    if total > len(groups):
        lines.append(ctx.t("faq.more", count=total - len(groups)))
    lines.append(ctx.t("faq.hint"))
    ctx.reply("\n".join(lines))


@router.command(
    "faq",
    sub=("antwort", "answer"),
    role=Role.COORDINATOR,
    help={
        "de": "macht aus offener Frage N einen Wissenseintrag",
        "en": "turns open question N into a knowledge entry",
        "de-simple": "macht aus Frage N einen Eintrag mit Antwort",
    },
    args=(Arg("number", "N", int_arg), Arg("text", "TEXT", rest=True)),
)
async def answer(ctx: Ctx, number: int, text: str) -> None:
    group = await questions.get_open(ctx.session, number)
    if group is None:
        raise UserError(ctx.t("faq.not_found", number=number))
    entry = await answer_group(ctx.session, group, text, ctx.sender, ctx.services.clock())
    await answered(ctx, number, text)  # a handed-off item's askers get the answer too
    ctx.after_commit.append(lambda: learn(ctx.services, entry))
    ctx.reply(ctx.t("faq.saved", number=number, count=group.count))


@router.command(
    "faq",
    sub=("schließen", "close"),
    role=Role.COORDINATOR,
    help={
        "de": "schließt offene Frage N ohne Antwort",
        "en": "closes open question N without an answer",
        "de-simple": "schließt Frage N ohne Antwort",
    },
    args=(Arg("number", "N", int_arg),),
)
async def close(ctx: Ctx, number: int) -> None:
    group = await questions.get_open(ctx.session, number)
    if group is None:
        raise UserError(ctx.t("faq.not_found", number=number))
    await questions.settle(ctx.session, number, ctx.services.clock())
    await close_handed_off(ctx, number)  # a handed-off item's askers are told
    ctx.reply(ctx.t("faq.closed", number=number, count=group.count))


@router.job("questions.retention", every=timedelta(days=1))
async def retention(services: Services, _: Transport) -> None:
    await apply_retention(services)
