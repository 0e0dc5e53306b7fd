"""Event feedback: keycap reactions and !feedback as ratings, replies as comments, reports.

Ratings and comments are stored under a pseudonym (storage/pseudonyms.py); reports and
exports show figures and comment texts only, never who gave them. The rules are in
bot/feedback/rules.py, the CSV export in bot/feedback/export.py.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import render as md
from bot.core.commands import Arg, Router, int_arg
from bot.core.context import Role
from bot.core.errors import UsageError, UserError
from bot.core.i18n import decimal, local_day, percent
from bot.core.messages import Attachment, Reaction, Redaction, RoomId
from bot.core.transport import CountsMembers, Transport
from bot.feedback.export import export_csv, export_rows
from bot.feedback.rules import (
    STARS,
    FeedbackProblem,
    Summary,
    check_comment,
    check_open,
    claimed_time,
    ended,
    keycap_stars,
    lone_stars,
    parse_feedback,
    rating_period,
    summarize,
)
from bot.services import Ctx, Services
from storage import feedback as feedback_store
from storage.events import get_event
from storage.models import CalendarEvent
from storage.pseudonyms import pseudonym

log = logging.getLogger(__name__)

router = Router(topic="termine")

REPORT_COMMENTS = 20
OVERVIEW_EVENTS = 10
RETENTION_INTERVAL = timedelta(days=1)


# -- retention --------------------------------------------------------------------------------


@router.job("feedback.retention", every=RETENTION_INTERVAL)
async def retention(services: Services, _: Transport) -> None:
    await apply_retention(services)


async def apply_retention(services: Services) -> None:
    """One retention run (at start-up, then once a day: RETENTION_INTERVAL)."""
    removed = await purge_expired(services)
    if removed:
        log.info("retention: deleted %d old feedback comment(s)", removed)


async def purge_expired(services: Services) -> int:
    """Delete comments older than BOT_FEEDBACK_RETENTION; returns how many went."""
    before = services.clock() - services.settings.feedback_retention
    async with services.db.transaction() as session:
        return await feedback_store.delete_comments_before(session, before)


# -- members: rating -----------------------------------------------------------------------


def _problem_text(
    ctx: Ctx,
    problem: FeedbackProblem,
    occasion: CalendarEvent | None = None,
    event_id: int | None = None,
) -> str:
    values = dict(problem.values)
    for key in ("opens", "closed"):
        if isinstance(moment := values.get(key), datetime):
            values[key] = ctx.when(moment)
    values.update(
        id=occasion.id if occasion else event_id, title=occasion.title if occasion else ""
    )
    return ctx.t(f"feedback.error.{problem.key}", **values)


@router.command(
    "feedback",
    args=(Arg("text", rest=True),),
    late=True,
    featured=True,
)
async def rate(ctx: Ctx, text: str) -> None:
    try:
        given = parse_feedback(text)
    except FeedbackProblem as problem:
        raise UsageError(_problem_text(ctx, problem)) from None
    found = await get_event(ctx.session, given.event_id)
    now = ctx.services.clock()
    try:
        occasion = check_open(found, claimed_time(ctx.msg.sent_at, now), ctx.settings)
    except FeedbackProblem as problem:
        raise UserError(_problem_text(ctx, problem, found, given.event_id)) from None
    who = await pseudonym(ctx.session, ctx.sender)
    replaced = await feedback_store.store_rating(ctx.session, occasion.id, who, given.stars, now)
    if given.comment:
        feedback_store.add_comment(
            ctx.session, occasion.id, who, given.comment, now, ctx.msg.event_id
        )
    until = ctx.when(rating_period(occasion, ctx.settings)[1])
    key = "feedback.replaced" if replaced else "feedback.saved"
    values = {"id": occasion.id, "title": occasion.title, "stars": given.stars, "until": until}
    saved = ctx.t("feedback.comment_saved") if given.comment else ""
    ctx.reply(md.Markdown(f"{ctx.t(key, **values)} {saved}".strip()))


@router.on_reaction
async def rate_by_reaction(services: Services, session: AsyncSession, reaction: Reaction) -> None:
    stars = keycap_stars(reaction.key)
    if stars is None or reaction.sender == services.settings.user_id:
        return
    now = services.clock()
    try:
        occasion = check_open(
            await feedback_store.prompt_event(session, reaction.reacts_to),
            claimed_time(reaction.sent_at, now),
            services.settings,
        )
    except FeedbackProblem:
        return  # not a prompt, or no longer open: a reaction cannot be answered
    who = await pseudonym(session, reaction.sender)
    await feedback_store.store_rating(session, occasion.id, who, stars, now, reaction.event_id)


@router.on_redaction
async def unrate(services: Services, session: AsyncSession, redaction: Redaction) -> None:
    """A reaction the rater removes takes its rating along, a message its author removes
    its comment. A moderator's redaction hides the event in the room but does not erase a
    member's feedback (the member can do that, or use !daten-loeschen)."""
    who = await pseudonym(session, redaction.sender)
    await feedback_store.forget_redacted(session, who, redaction.redacts)


@router.on_reply
async def comment_on_prompt(ctx: Ctx) -> bool:
    """A reply or thread reply to a feedback prompt: a comment (a lone 1–5: a rating)."""
    occasion = await feedback_store.prompt_event(
        ctx.session, ctx.msg.thread_root
    ) or await feedback_store.prompt_event(ctx.session, ctx.msg.reply_to)
    text = ctx.msg.body.strip()
    if occasion is None or not text:
        return False
    now = ctx.services.clock()
    try:
        check_open(occasion, claimed_time(ctx.msg.sent_at, now), ctx.settings)
        check_comment(text)
    except FeedbackProblem as problem:
        raise UserError(_problem_text(ctx, problem, occasion)) from None
    who = await pseudonym(ctx.session, ctx.sender)
    if (stars := lone_stars(text)) is not None:
        await feedback_store.store_rating(ctx.session, occasion.id, who, stars, now)
        ctx.reply(ctx.t("feedback.thanks_rating", stars=stars))
        return True
    feedback_store.add_comment(ctx.session, occasion.id, who, text, now, ctx.msg.event_id)
    ctx.reply(ctx.t("feedback.thanks_comment"))
    return True


# -- coordinators: reports ------------------------------------------------------------------


async def _event(ctx: Ctx, event_id: int) -> CalendarEvent:
    event = await get_event(ctx.session, event_id)
    if event is None:
        raise UserError(ctx.t("feedback.error.unknown", id=event_id))
    return event


@router.command(
    "feedback",
    sub=("report",),
    role=Role.COORDINATOR,
    args=(Arg("event_id", int_arg, optional=True),),
    private=True,
)
async def report(ctx: Ctx, event_id: int | None) -> None:
    if event_id is None:
        await _overview(ctx)
        return
    event = await _event(ctx, event_id)
    summary = summarize(await feedback_store.ratings_of(ctx.session, event.id))
    when = ctx.when(event.starts_at)
    title = md.bold(ctx.t("feedback.report.title", id=event.id, title=event.title, when=when))
    rate = await _response_rate(ctx, event.id, summary.count) if summary.count else None
    figures = md.lines([*_figure_lines(ctx, summary), rate or ""])
    ctx.reply(md.blocks([md.lines([title, figures]), await _comments(ctx, event.id)]))


def _figure_lines(ctx: Ctx, summary: Summary) -> list[md.Markdown]:
    if summary.average is None:
        return [ctx.t("feedback.report.none")]
    average = decimal(summary.average, ctx.lang)
    stars = md.items(
        ctx.t("feedback.report.star_line", stars=n, count=summary.per_star[n])
        for n in reversed(STARS)
    )
    return [ctx.t("feedback.report.figures", count=summary.count, average=average), stars]


async def _response_rate(ctx: Ctx, event_id: int, count: int) -> md.Markdown | None:
    if not isinstance(ctx.transport, CountsMembers):
        return None
    rooms = await feedback_store.prompt_rooms(ctx.session, event_id)
    members = await ctx.transport.joined_members([RoomId(r) for r in rooms])
    if not members:
        return None
    share = percent(count / members, ctx.lang)
    return ctx.t("feedback.report.response", count=count, members=members, percent=share)


async def _comments(ctx: Ctx, event_id: int) -> md.Markdown:
    total = await feedback_store.comment_count(ctx.session, event_id)
    if not total:
        return md.Markdown("")
    latest = await feedback_store.latest_comments(ctx.session, event_id, REPORT_COMMENTS)
    more = total - REPORT_COMMENTS
    return md.lines(
        [
            ctx.t("feedback.report.comments", count=total),
            md.items(" ".join(text.split()) for text in latest),
            ctx.t("feedback.report.more_comments", count=more) if more > 0 else "",
        ]
    )


async def _overview(ctx: Ctx) -> None:
    now = ctx.services.clock()
    candidates = await feedback_store.started_before(ctx.session, now)
    events = ended(candidates, now, OVERVIEW_EVENTS)
    if not events:
        ctx.reply(ctx.t("feedback.overview.empty"))
        return
    items, everything = [], []
    for event in events:
        stars = await feedback_store.ratings_of(ctx.session, event.id)
        everything += stars
        items.append(_overview_item(ctx, event, summarize(stars)))
    title = ctx.t("feedback.overview.title", count=len(events))
    total = summarize(everything)
    footer = md.Markdown("")
    if total.average is not None:
        average = decimal(total.average, ctx.lang)
        footer = ctx.t("feedback.overview.total", count=total.count, average=average)
    ctx.reply(md.lines([title, md.items(items), footer]))


def _overview_item(ctx: Ctx, event: CalendarEvent, summary: Summary) -> md.Markdown:
    day = local_day(ctx.lang, event.starts_at, ctx.settings.tz)
    values = {"id": event.id, "title": event.title, "date": day, "count": summary.count}
    if summary.average is None:
        return ctx.t("feedback.overview.item_none", **values)
    average = decimal(summary.average, ctx.lang)
    return ctx.t("feedback.overview.item", average=average, **values)


@router.command(
    "feedback",
    sub=("export",),
    role=Role.COORDINATOR,
    args=(Arg("event_id", int_arg),),
    private=True,
)
async def export(ctx: Ctx, event_id: int) -> None:
    event = await _event(ctx, event_id)
    ratings, comments = await feedback_store.feedback_of(ctx.session, event.id)
    rows = export_rows(ratings, comments, ctx.settings.tz)
    data = export_csv(rows).encode("utf-8")
    ctx.reply(
        ctx.t("feedback.export.done", id=event.id, title=event.title, rows=len(rows)),
        attachments=(Attachment(f"feedback-{event.id}.csv", "text/csv", data),),
    )
