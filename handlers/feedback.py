"""Event feedback: keycap reactions and !feedback as ratings, replies as comments, reports.

Ratings and comments are stored under a pseudonym (bot.pseudonym); reports and exports show
figures and comment texts only, never who gave them.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Protocol, runtime_checkable

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.commands import Arg, Router, int_arg
from bot.core.context import Role
from bot.core.errors import UsageError, UserError
from bot.core.i18n import local_day
from bot.core.messages import Attachment, Reaction, Redaction, RoomId
from bot.core.transport import Transport
from bot.events.ical import event_end
from bot.events.slots import SlotKind
from bot.services import Ctx, Services
from bot.text.analyzer import spreadsheet_safe
from config.settings import Lang, Settings
from storage.db import affected, purge_handled
from storage.events import CANCELLED, SENT
from storage.initiatives import purge_handovers
from storage.models import BotState, CalendarEvent, EventPost, FeedbackComment, FeedbackRating
from storage.pseudonyms import pseudonym

log = logging.getLogger(__name__)

router = Router()

STARS = range(1, 6)
MAX_COMMENT = 2000
REPORT_COMMENTS = 20
OVERVIEW_EVENTS = 10
RETENTION_INTERVAL = timedelta(days=1)
_KEYCAP = "\u20e3"
_VARIATION_SELECTOR = "\ufe0f"
_EVENT_ID = re.compile(r"#?([0-9]{1,9})")  # ASCII digits only; nine fit every database integer
_STAR = re.compile(r"[1-5]")


# -- the rules, as plain functions ---------------------------------------------------------


def keycap_stars(key: str) -> int | None:
    """1️⃣..5️⃣ (with or without the variation selector) → 1..5; anything else → None."""
    bare = key.strip().replace(_VARIATION_SELECTOR, "")
    if len(bare) == 2 and bare[1] == _KEYCAP and bare[0] in "12345":
        return int(bare[0])
    return None


class FeedbackProblem(Exception):
    """Why a rating cannot be taken; `key` names the text under `feedback.error.`."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class FeedbackInput:
    event_id: int
    stars: int
    comment: str


def parse_feedback(text: str) -> FeedbackInput:
    """`ID 1-5 [comment]`; raises FeedbackProblem naming what is wrong."""
    parts = text.split(maxsplit=2)
    if len(parts) < 2:
        raise FeedbackProblem("missing")
    raw_id, raw_stars = _EVENT_ID.fullmatch(parts[0]), parts[1]
    if raw_id is None:
        raise FeedbackProblem("bad_id", value=parts[0])
    stars = keycap_stars(raw_stars) or (int(raw_stars) if _STAR.fullmatch(raw_stars) else None)
    if stars is None:
        raise FeedbackProblem("bad_stars", value=raw_stars)
    comment = parts[2].strip() if len(parts) > 2 else ""
    if len(comment) > MAX_COMMENT:
        raise FeedbackProblem("long_comment", limit=MAX_COMMENT)
    return FeedbackInput(int(raw_id.group(1)), stars, comment)


def rating_period(event: CalendarEvent, settings: Settings) -> tuple[datetime, datetime]:
    """From the end of the event until the window after its feedback prompt has passed."""
    end = event_end(event)
    return end, end + settings.feedback_delay + settings.feedback_window


def claimed_time(sent_at: datetime, now: datetime) -> datetime:
    """When the sender says they acted, never later than now: for the rating window only
    (a reaction given while the bot was offline still counts). Which rating is newer is
    decided by the bot's own clock, so a timestamp from the future locks nothing."""
    return min(sent_at, now)


def check_open(event: CalendarEvent | None, at: datetime, settings: Settings) -> CalendarEvent:
    """The event if it can be rated at `at`; FeedbackProblem otherwise."""
    if event is None:
        raise FeedbackProblem("unknown")
    opens, closes = rating_period(event, settings)
    if event.status == CANCELLED:
        raise FeedbackProblem("cancelled")
    if at < opens:
        raise FeedbackProblem("not_ended", opens=opens)
    if at >= closes:
        raise FeedbackProblem("closed", closed=closes)
    return event


@dataclass(frozen=True)
class Summary:
    count: int
    average: float | None
    per_star: dict[int, int]


def summarize(stars: list[int]) -> Summary:
    counts = Counter(stars)
    average = sum(stars) / len(stars) if stars else None
    return Summary(len(stars), average, {n: counts.get(n, 0) for n in STARS})


def decimal(value: float, lang: Lang) -> str:
    """One decimal: `4,3` in German, `4.3` in English."""
    text = f"{value:.1f}"
    return text if lang == "en" else text.replace(".", ",")


# -- storage ----------------------------------------------------------------------------------


async def prompt_event(session: AsyncSession, matrix_event_id: str | None) -> CalendarEvent | None:
    """The event whose feedback prompt is the Matrix event `matrix_event_id`."""
    if not matrix_event_id:
        return None
    event_id = await session.scalar(
        select(EventPost.event_id).where(
            EventPost.matrix_event_id == matrix_event_id, EventPost.kind == SlotKind.FEEDBACK
        )
    )
    return await session.get(CalendarEvent, event_id) if event_id is not None else None


async def store_rating(
    session: AsyncSession,
    event_id: int,
    who: str,
    stars: int,
    at: datetime,
    reaction_event_id: str | None = None,
) -> bool:
    """Keep the newest rating per member and event; True if the member had rated before.

    `at` is when the bot handled the rating (its clock, not the sender's claim). The update
    is one conditional statement, so two deliveries at once cannot overwrite a newer rating
    with an older one; a duplicate first insert fails and is retried.
    """
    mine = (FeedbackRating.event_id == event_id, FeedbackRating.pseudonym == who)
    source = "reaction" if reaction_event_id else "command"
    updated = await session.execute(
        update(FeedbackRating)
        .where(*mine, FeedbackRating.updated_at <= at)
        .values(stars=stars, reaction_event_id=reaction_event_id, source=source, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if affected(updated) or await session.scalar(select(FeedbackRating.id).where(*mine)):
        return True  # replaced, or a newer rating stays (an older event seen late)
    session.add(
        FeedbackRating(
            event_id=event_id,
            pseudonym=who,
            stars=stars,
            reaction_event_id=reaction_event_id,
            source=source,
            updated_at=at,
        )
    )
    await session.flush()
    return False


async def ratings_of(session: AsyncSession, event_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(FeedbackRating.stars).where(FeedbackRating.event_id == event_id)
        )
    )


@dataclass(frozen=True)
class ExportRow:
    stars: int | None
    comment: str
    date: str


async def export_rows(session: AsyncSession, event_id: int, settings: Settings) -> list[ExportRow]:
    """One row per member who rated or commented: stars, comments, day; ordered by day and
    stars, so the order does not follow the room's timeline."""
    by_member: dict[str, tuple[int | None, list[str], datetime]] = {}
    for rating in await session.scalars(
        select(FeedbackRating).where(FeedbackRating.event_id == event_id)
    ):
        by_member[rating.pseudonym] = (rating.stars, [], rating.updated_at)
    for comment in await session.scalars(
        select(FeedbackComment)
        .where(FeedbackComment.event_id == event_id)
        .order_by(FeedbackComment.created_at)
    ):
        stars, texts, when = by_member.get(comment.pseudonym, (None, [], comment.created_at))
        by_member[comment.pseudonym] = (
            stars,
            [*texts, comment.text],
            max(when, comment.created_at),
        )
    rows = [
        ExportRow(stars, " | ".join(texts), when.astimezone(settings.tz).date().isoformat())
        for stars, texts, when in by_member.values()
    ]
    return sorted(rows, key=lambda r: (r.date, r.stars or 0, r.comment))


def export_csv(rows: list[ExportRow]) -> str:
    """`row,stars,comment,date`; the row number is per export and identifies nobody."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", "stars", "comment", "date"])
    for number, row in enumerate(rows, 1):
        writer.writerow([number, row.stars or "", spreadsheet_safe(row.comment), row.date])
    return out.getvalue()


async def feedback_csv(services: Services, event_id: int) -> str | None:
    """The CSV export of one event, or None when there is no such event."""
    async with services.db.read() as session:
        if await session.get(CalendarEvent, event_id) is None:
            return None
        return export_csv(await export_rows(session, event_id, services.settings))


async def purge_expired(services: Services) -> int:
    """Delete comments older than BOT_FEEDBACK_RETENTION, stale deletion requests, expired
    contact hand-overs and old records of handled events; returns how many comments went."""
    now = services.clock()
    async with services.db.transaction() as session:
        result = await session.execute(
            delete(FeedbackComment).where(
                FeedbackComment.created_at < now - services.settings.feedback_retention
            )
        )
        await session.execute(
            delete(BotState).where(
                BotState.key.like("forget-%"), BotState.value < now.isoformat(timespec="seconds")
            )
        )
        await purge_handled(session, now)
        await purge_handovers(session, now)
    return affected(result)


@router.job("feedback.retention", every=RETENTION_INTERVAL)
async def retention(services: Services, _: Transport) -> None:
    await apply_retention(services)


async def apply_retention(services: Services) -> None:
    """One retention run (at start-up, then once a day: RETENTION_INTERVAL)."""
    removed = await purge_expired(services)
    if removed:
        log.info("retention: deleted %d old feedback comment(s)", removed)


@runtime_checkable
class CountsMembers(Protocol):
    async def joined_members(self, rooms: list[RoomId]) -> int | None: ...


# -- members: rating -----------------------------------------------------------------------


def _problem_text(
    ctx: Ctx,
    problem: FeedbackProblem,
    event: CalendarEvent | None = None,
    event_id: int | None = None,
) -> str:
    values = dict(problem.values)
    for key in ("opens", "closed"):
        if isinstance(moment := values.get(key), datetime):
            values[key] = ctx.when(moment)
    values.update(id=event.id if event else event_id, title=event.title if event else "")
    return ctx.t(f"feedback.error.{problem.key}", **values)


@router.command(
    "feedback",
    help={
        "de": "bewertet eine Veranstaltung mit 1 (schlecht) bis 5 (sehr gut), gern mit "
        "Kommentar – auch im Direktchat mit mir, wenn Sie nicht öffentlich bewerten möchten",
        "en": "rates an event from 1 (poor) to 5 (very good), a comment is welcome – also in a "
        "direct chat with me if you prefer not to rate in public",
        "de-simple": "Punkte für eine Veranstaltung geben: 1 bis 5",
    },
    args=(Arg("text", "ID 1-5 [KOMMENTAR]", rest=True, label_en="ID 1-5 [COMMENT]"),),
    late=True,
)
async def rate(ctx: Ctx, text: str) -> None:
    try:
        given = parse_feedback(text)
    except FeedbackProblem as problem:
        raise UsageError(_problem_text(ctx, problem)) from None
    event = await ctx.session.get(CalendarEvent, given.event_id)
    now = ctx.services.clock()
    try:
        event = check_open(event, claimed_time(ctx.msg.sent_at, now), ctx.settings)
    except FeedbackProblem as problem:
        raise UserError(_problem_text(ctx, problem, event, given.event_id)) from None
    who = await pseudonym(ctx.session, ctx.sender)
    replaced = await store_rating(ctx.session, event.id, who, given.stars, now)
    if given.comment:
        ctx.session.add(
            FeedbackComment(
                event_id=event.id,
                pseudonym=who,
                text=given.comment,
                created_at=now,
                matrix_event_id=ctx.msg.event_id,
            )
        )
    closes = rating_period(event, ctx.settings)[1]
    until = ctx.when(closes)
    key = "feedback.replaced" if replaced else "feedback.saved"
    lines = [ctx.t(key, id=event.id, title=event.title, stars=given.stars, until=until)]
    if given.comment:
        lines.append(ctx.t("feedback.comment_saved"))
    ctx.reply(" ".join(lines))


@router.on_reaction
async def rate_by_reaction(services: Services, session: AsyncSession, reaction: Reaction) -> None:
    stars = keycap_stars(reaction.key)
    if stars is None or reaction.sender == services.settings.user_id:
        return
    now = services.clock()
    try:
        event = check_open(
            await prompt_event(session, reaction.reacts_to),
            claimed_time(reaction.sent_at, now),
            services.settings,
        )
    except FeedbackProblem:
        return  # not a prompt, or no longer open: a reaction cannot be answered
    who = await pseudonym(session, reaction.sender)
    await store_rating(session, event.id, who, stars, now, reaction.event_id)


@router.on_redaction
async def unrate(services: Services, session: AsyncSession, redaction: Redaction) -> None:
    """A reaction the rater removes takes its rating along, a message its author removes
    its comment. A moderator's redaction hides the event in the room but does not erase a
    member's feedback (the member can do that, or use !daten-loeschen)."""
    who = await pseudonym(session, redaction.sender)
    await session.execute(
        delete(FeedbackRating).where(
            FeedbackRating.reaction_event_id == redaction.redacts, FeedbackRating.pseudonym == who
        )
    )
    await session.execute(
        delete(FeedbackComment).where(
            FeedbackComment.matrix_event_id == redaction.redacts, FeedbackComment.pseudonym == who
        )
    )


_LONE_DIGIT = re.compile(r"^\s*([1-5])\s*$")


@router.on_reply
async def comment_on_prompt(ctx: Ctx) -> bool:
    """A reply or thread reply to a feedback prompt: a comment (a lone 1–5: a rating)."""
    event = await prompt_event(ctx.session, ctx.msg.thread_root) or await prompt_event(
        ctx.session, ctx.msg.reply_to
    )
    text = ctx.msg.body.strip()
    if event is None or not text:
        return False
    now = ctx.services.clock()
    try:
        check_open(event, claimed_time(ctx.msg.sent_at, now), ctx.settings)
        if len(text) > MAX_COMMENT:
            raise FeedbackProblem("long_comment", limit=MAX_COMMENT)
    except FeedbackProblem as problem:
        raise UserError(_problem_text(ctx, problem, event)) from None
    who = await pseudonym(ctx.session, ctx.sender)
    if digit := _LONE_DIGIT.match(text):
        await store_rating(ctx.session, event.id, who, int(digit.group(1)), now)
        ctx.reply(ctx.t("feedback.thanks_rating", stars=digit.group(1)))
        return True
    ctx.session.add(
        FeedbackComment(
            event_id=event.id,
            pseudonym=who,
            text=text,
            created_at=now,
            matrix_event_id=ctx.msg.event_id,
        )
    )
    ctx.reply(ctx.t("feedback.thanks_comment"))
    return True


# -- coordinators: reports ------------------------------------------------------------------


async def _event(ctx: Ctx, event_id: int) -> CalendarEvent:
    event = await ctx.session.get(CalendarEvent, event_id)
    if event is None:
        raise UserError(ctx.t("feedback.error.unknown", id=event_id))
    return event


async def _response_rate(ctx: Ctx, event_id: int, count: int) -> str | None:
    if not isinstance(ctx.transport, CountsMembers):
        return None
    rooms = await ctx.session.scalars(
        select(EventPost.room_id).where(
            EventPost.event_id == event_id,
            EventPost.kind == SlotKind.FEEDBACK,
            EventPost.state == SENT,
        )
    )
    members = await ctx.transport.joined_members([RoomId(r) for r in rooms])
    if not members:
        return None
    percent = decimal(100 * count / members, ctx.lang)
    return ctx.t("feedback.report.response", count=count, members=members, percent=percent)


@router.command(
    "feedback",
    sub=("report",),
    role=Role.COORDINATOR,
    help={
        "de": "Auswertung einer Veranstaltung: Anzahl, Durchschnitt, Verteilung, Kommentare; "
        "ohne ID: Überblick über die letzten Veranstaltungen",
        "en": "results of one event: count, average, distribution, comments; "
        "without ID: overview of the latest events",
        "de-simple": "zeigt die Punkte für eine Veranstaltung",
    },
    args=(Arg("event_id", "ID", int_arg, optional=True),),
    private=True,
)
async def report(ctx: Ctx, event_id: int | None) -> None:
    if event_id is None:
        await _overview(ctx)
        return
    event = await _event(ctx, event_id)
    summary = summarize(await ratings_of(ctx.session, event.id))
    when = ctx.when(event.starts_at)
    lines = [ctx.t("feedback.report.title", id=event.id, title=event.title, when=when)]
    if summary.average is None:
        lines.append(ctx.t("feedback.report.none"))
    else:
        average = decimal(summary.average, ctx.lang)
        lines.append(ctx.t("feedback.report.figures", count=summary.count, average=average))
        lines += [
            ctx.t("feedback.report.star_line", stars=n, count=summary.per_star[n])
            for n in reversed(STARS)
        ]
        if rate_line := await _response_rate(ctx, event.id, summary.count):
            lines.append(rate_line)
    lines += await _comment_lines(ctx, event.id)
    ctx.reply("\n".join(lines))


async def _comment_lines(ctx: Ctx, event_id: int) -> list[str]:
    total = await ctx.session.scalar(
        select(func.count()).where(FeedbackComment.event_id == event_id)
    )
    if not total:
        return []
    latest = await ctx.session.scalars(
        select(FeedbackComment.text)
        .where(FeedbackComment.event_id == event_id)
        .order_by(FeedbackComment.created_at.desc(), FeedbackComment.id.desc())
        .limit(REPORT_COMMENTS)
    )
    lines = [ctx.t("feedback.report.comments", count=total)]
    lines += [f"• {' '.join(text.split())}" for text in latest]
    if total > REPORT_COMMENTS:
        lines.append(ctx.t("feedback.report.more_comments", count=total - REPORT_COMMENTS))
    return lines


async def _overview(ctx: Ctx) -> None:
    now = ctx.services.clock()
    candidates = await ctx.session.scalars(
        select(CalendarEvent)
        .where(CalendarEvent.status != CANCELLED, CalendarEvent.starts_at < now)
        .order_by(CalendarEvent.starts_at.desc())
    )
    events = [e for e in candidates if event_end(e) <= now][:OVERVIEW_EVENTS]
    if not events:
        ctx.reply(ctx.t("feedback.overview.empty"))
        return
    lines, html = [ctx.t("feedback.overview.title", count=len(events))], ["<ul>"]
    everything: list[int] = []
    for event in events:
        stars = await ratings_of(ctx.session, event.id)
        everything += stars
        summary = summarize(stars)
        day = local_day(ctx.services.texts, ctx.lang, event.starts_at, ctx.settings.tz)
        values = {"id": event.id, "title": event.title, "date": day, "count": summary.count}
        if summary.average is None:
            line = ctx.t("feedback.overview.item_none", **values)
        else:
            average = decimal(summary.average, ctx.lang)
            line = ctx.t("feedback.overview.item", average=average, **values)
        lines.append("• " + line)
        html.append(f"<li>{escape(line)}</li>")
    html.append("</ul>")
    total = summarize(everything)
    if total.average is not None:
        footer = ctx.t(
            "feedback.overview.total", count=total.count, average=decimal(total.average, ctx.lang)
        )
        lines.append(footer)
        html.append(f"<p>{escape(footer)}</p>")
    ctx.reply("\n".join(lines), f"<p>{escape(lines[0])}</p>" + "".join(html))


@router.command(
    "feedback",
    sub=("export",),
    role=Role.COORDINATOR,
    help={
        "de": "Bewertungen und Kommentare einer Veranstaltung als CSV-Datei (ohne Namen)",
        "en": "ratings and comments of one event as a CSV file (without names)",
        "de-simple": "Punkte und Texte für eine Veranstaltung als Datei",
    },
    args=(Arg("event_id", "ID", int_arg),),
    private=True,
)
async def export(ctx: Ctx, event_id: int) -> None:
    event = await _event(ctx, event_id)
    rows = await export_rows(ctx.session, event.id, ctx.settings)
    data = export_csv(rows).encode("utf-8")
    ctx.reply(
        ctx.t("feedback.export.done", id=event.id, title=event.title, rows=len(rows)),
        attachment=Attachment(f"feedback-{event.id}.csv", "text/csv", data),
    )
