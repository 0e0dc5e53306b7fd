"""Offerings Q&A: !frage, !angebote, and the coordinators' /faq for questions left open."""

from __future__ import annotations

import re
from html import escape

from sqlalchemy import select

from bot.commands import Arg, Router, int_arg
from bot.context import Context
from bot.knowledge import Entry, KnowledgeIndex, entry_from_answer
from bot.types import Lang, Role, UserError
from storage.models import KnowledgeEntry, UnansweredQuestion

router = Router()

OVERVIEW_ID = "angebote"
_MAX_OPEN = 20
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
async def ask(ctx: Context, question: str) -> None:
    index: KnowledgeIndex = ctx.services.knowledge
    offers, room, now = ctx.services.offers, ctx.msg.room_id, ctx.services.clock()
    number = _PICK.fullmatch(question)
    offered = offers.pick(room, ctx.sender, int(number[1]), now) if number else None
    if offered and (picked := index.get(offered)):
        ctx.reply(*format_entry(picked, ctx.lang))
        return
    if not ctx.services.analyzer.terms(question):  # "hallo", "danke", "👍": nothing to look up
        ctx.reply(ctx.t("offerings.small_talk"))
        return
    match = index.search(question)
    if match.entry is not None:
        ctx.reply(*format_entry(match.entry, ctx.lang))
        return
    ctx.session.add(UnansweredQuestion(text=question[:2000], language=ctx.lang))
    contact = ", ".join(ctx.settings.coordinators) or ctx.t("offerings.contact_default")
    if match.suggestions:
        offers.put(room, ctx.sender, tuple(e.id for e in match.suggestions), now)
        titles = [e.title.get(ctx.lang) or e.title["de"] for e in match.suggestions]
        lines = "\n".join(f"{number}. {title}" for number, title in enumerate(titles, 1))
        ctx.reply(ctx.t("offerings.did_you_mean", options=lines, contact=contact))
    else:
        ctx.reply(ctx.t("offerings.unknown", contact=contact))


@router.command(
    "angebote",
    "offerings",
    help={
        "de": "Überblick über die Angebote",
        "en": "overview of the offerings",
        "de-simple": "zeigt die Angebote",
    },
)
async def offerings(ctx: Context) -> None:
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
    },
    private=True,
)
async def unanswered(ctx: Context) -> None:
    groups = await open_question_groups(ctx)
    if not groups:
        ctx.reply(ctx.t("faq.none"))
        return
    lines = [ctx.t("faq.title")]
    for first, members in groups[:_MAX_OPEN]:
        lines.append(f"#{first.id} ({len(members)}×) {first.text[:200]}")
    lines.append(ctx.t("faq.hint"))
    ctx.reply("\n".join(lines))


@router.command(
    "faq",
    sub=("antwort", "answer"),
    role=Role.COORDINATOR,
    help={
        "de": "macht aus offener Frage N einen Wissenseintrag",
        "en": "turns open question N into a knowledge entry",
    },
    args=(Arg("number", "N", int_arg), Arg("text", "TEXT", rest=True)),
)
async def answer(ctx: Context, number: int, text: str) -> None:
    groups = await open_question_groups(ctx)
    group = next((members for first, members in groups if first.id == number), None)
    if group is None:
        raise UserError(ctx.t("faq.not_found", number=number))
    entry_id = f"faq-{number}"
    ctx.session.add(
        KnowledgeEntry(id=entry_id, question=group[0].text, answer=text, created_by=ctx.sender)
    )
    for question in group:
        question.answered_entry = entry_id
    await ctx.session.flush()
    ctx.services.knowledge.add(entry_from_answer(entry_id, group[0].text, text))
    ctx.reply(ctx.t("faq.saved", number=number, count=len(group)))


async def open_question_groups(
    ctx: Context,
) -> list[tuple[UnansweredQuestion, list[UnansweredQuestion]]]:
    """Open questions grouped by similarity; the oldest of each group names it."""
    rows = await ctx.session.scalars(
        select(UnansweredQuestion)
        .where(UnansweredQuestion.answered_entry.is_(None))
        .order_by(UnansweredQuestion.id)
    )
    index: KnowledgeIndex = ctx.services.knowledge
    groups: list[tuple[UnansweredQuestion, list[UnansweredQuestion]]] = []
    for row in rows:
        home = next((g for g in groups if index.similar(g[0].text, row.text)), None)
        if home is None:
            groups.append((row, [row]))
        else:
            home[1].append(row)
    return sorted(groups, key=lambda g: -len(g[1]))
