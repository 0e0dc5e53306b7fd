"""Offerings Q&A: !frage, !angebote, and the coordinators' /faq for questions left open."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.core import render as md
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
from storage import questions, reports
from storage.questions import MAX_QUESTION_CHARS as MAX_QUESTION

router = Router(topic="fragen")

OVERVIEW_ID = "angebote"
_MAX_OPEN = 20  # open groups listed by !faq unbeantwortet, most asked first
_PICK = re.compile(r"\s*#?([1-9])[.)]?\s*")  # "2", "#2", "2.": one of the offered entries


def format_entry(entry: Entry, lang: Lang) -> md.Markdown:
    """Bold title, short answer, link last."""
    title = entry.title.get(lang) or entry.title["de"]
    answer = entry.answer.get(lang) or entry.answer["de"]
    return md.lines([md.bold(title), answer, md.escape(entry.link) if entry.link else ""])


@router.command(
    "frage",
    "ask",
    args=(Arg("question", rest=True),),
    featured=True,
)
async def ask(ctx: Ctx, question: str) -> None:
    index: KnowledgeIndex = ctx.services.knowledge
    talk, room, now = ctx.services.conversations, ctx.msg.room_id, ctx.services.clock()
    number = _PICK.fullmatch(question)
    offered = talk.pick(room, ctx.sender, int(number[1]), now) if number else None
    if offered and (picked := index.get(offered)):
        ctx.reply(format_entry(picked, ctx.lang))
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
    reports.record_usage(ctx.session, reports.QUESTION, _outcome(match), ctx.lang, now)
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
        _not_answered(ctx, match, now, handed)


def _outcome(match: Match) -> str:
    """What came of a question, as the funder report counts it."""
    if match.outcome is Outcome.ANSWER:
        return reports.PARTIAL if match.missing else reports.ANSWER
    return reports.ASK if match.outcome is Outcome.ASK else reports.UNKNOWN


def _search(ctx: Ctx, question: str, now: datetime) -> Match:
    """The question alone or as the continuation of the member's question just before (see
    KnowledgeIndex.search_after); what was read is remembered for the next question."""
    talk, room = ctx.services.conversations, ctx.msg.room_id
    previous = talk.last_question(room, ctx.sender, now)
    match, continued = ctx.services.knowledge.search_after(question, previous)
    talk.asked(room, ctx.sender, f"{previous}\n{question}" if continued else question, now)
    return match


def _answer(ctx: Ctx, match: Match, now: datetime, handed: bool = False) -> None:
    """The entry; what the question asked for that it does not hold, first; entries that came
    near, numbered, last."""
    assert match.entry is not None
    text = format_entry(match.entry, ctx.lang)
    if match.missing:
        first = ctx.t("offerings.unknown_detail", missing=_missing(ctx, match))
        last = (
            ctx.t("handoff.passed_on_detail")
            if handed
            else ctx.t("offerings.ask_coordinators", contact=_contact(ctx))
        )
        text = md.lines([first, text, last])
    if match.further:
        text = md.blocks([text, *(format_entry(entry, ctx.lang) for entry in match.further)])
    if match.alternatives:
        options = _offer(ctx, match.alternatives, now)
        text = md.blocks([text, ctx.t("offerings.alternatives", options=options)])
    ctx.reply(text)


def _offer(ctx: Ctx, entries: tuple[Entry, ...], now: datetime) -> md.Markdown:
    """Numbered titles; the member picks one with its number (kept for a while)."""
    ctx.services.conversations.offer(ctx.msg.room_id, ctx.sender, tuple(e.id for e in entries), now)
    titles = [e.title.get(ctx.lang) or e.title["de"] for e in entries]
    return md.numbered(titles)


def _contact(ctx: Ctx) -> str:
    return ", ".join(ctx.settings.coordinators) or ctx.t("offerings.contact_default")


def _missing(ctx: Ctx, match: Match) -> md.Markdown:
    """What the question asked for that the knowledge does not give, in one sentence each."""
    return md.Markdown(" ".join(ctx.t(f"offerings.missing.{k}") for k in match.missing))


def _not_answered(ctx: Ctx, match: Match, now: datetime, handed: bool = False) -> None:
    """Point to the coordinators (or say the question went to them), offering the near
    entries to pick by number if any; a detail asked for that none of them gives, first."""
    suggestions = match.suggestions
    first = _missing(ctx, match) if match.missing else ""  # only an offer has them
    if handed:
        options = _offer(ctx, suggestions, now) if suggestions else None
        more = ctx.t("handoff.options", options=options) if options else ""
        ctx.reply(md.blocks([first, ctx.t("handoff.passed_on"), more]))
    elif suggestions:
        options, contact = _offer(ctx, suggestions, now), _contact(ctx)
        if first:
            text = ctx.t(
                "offerings.detail_did_you_mean", missing=first, options=options, contact=contact
            )
        else:
            text = ctx.t("offerings.did_you_mean", options=options, contact=contact)
        ctx.reply(text)
    else:
        ctx.reply(ctx.t("offerings.unknown", contact=_contact(ctx)))


@router.command(
    "angebote",
    "offerings",
)
async def offerings(ctx: Ctx) -> None:
    index: KnowledgeIndex = ctx.services.knowledge
    overview = index.get(OVERVIEW_ID)
    text = format_entry(overview, ctx.lang) if overview else md.Markdown("")
    ctx.reply(md.blocks([text, ctx.t("offerings.examples")]))


@router.command(
    "faq",
    sub=("unbeantwortet", "unanswered"),
    role=Role.COORDINATOR,
    private=True,
)
async def unanswered(ctx: Ctx) -> None:
    groups, total = await questions.open_groups(ctx.session, _MAX_OPEN)
    if not groups:
        ctx.reply(ctx.t("faq.none"))
        return
    listed = md.items(f"#{group.id} ({group.count}×) {group.text}" for group in groups)
    more = ctx.t("faq.more", count=total - len(groups)) if total > len(groups) else ""
    ctx.reply(md.blocks([md.lines([ctx.t("faq.title"), listed]), more, ctx.t("faq.hint")]))


@router.command(
    "faq",
    sub=("antwort", "answer"),
    role=Role.COORDINATOR,
    args=(Arg("number", int_arg), Arg("text", rest=True)),
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
    args=(Arg("number", int_arg),),
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
