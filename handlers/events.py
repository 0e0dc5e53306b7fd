"""Webinars and events: coordinators plan them, members see what comes next."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import func, select

from bot.core.commands import Arg, Router, int_arg
from bot.core.context import Role
from bot.core.errors import UsageError, UserError
from bot.core.transport import Transport
from bot.events.announcer import queue_notice
from bot.events.ical import calendar_ics, event_end
from bot.events.slots import (
    EventSpec,
    ScheduleError,
    SlotKind,
    check_start,
    parse_date,
    parse_event_spec,
    parse_kind,
    parse_link,
    parse_minutes,
    parse_time,
    parse_title,
    to_utc,
)
from bot.services import Ctx, Services
from config.settings import Settings
from storage import events as event_store
from storage.events import CANCELLED, SCHEDULED, SENT
from storage.models import CalendarEvent, EventPost, EventSeries

router = Router()

REBUILD = "events.rebuild"
CALENDAR_PAST = timedelta(days=30)

UPCOMING_LIMIT = 10
LIST_LIMIT = 30
_EDIT_FIELDS = {
    "title": "title",
    "titel": "title",
    "date": "date",
    "datum": "date",
    "time": "time",
    "zeit": "time",
    "uhrzeit": "time",
    "link": "link",
    "minutes": "minutes",
    "minuten": "minutes",
    "dauer": "minutes",
    "description": "description",
    "beschreibung": "description",
    "kind": "kind",
    "art": "kind",
}
_SERIES_WORDS = {"serie", "series", "reihe"}


def _problem(ctx: Ctx, error: ScheduleError) -> UsageError:
    return UsageError(ctx.t(f"events.error.{error.key}", **error.values))


def _after_commit(ctx: Ctx) -> None:
    """Once the change is stored, the schedule is rebuilt (if jobs run: not in the shell)."""

    async def reschedule() -> None:
        ctx.services.jobs.run_soon(REBUILD)

    ctx.after_commit.append(reschedule)


@router.job(REBUILD, every=timedelta(hours=1), overlap=True)
async def rebuild_schedule(services: Services, transport: Transport) -> None:
    """Settle every live event: at start, after each change, and hourly as a safety net."""
    await services.announcer.rebuild(transport)


@router.route("GET", "/webinars.ics")
async def calendar_feed(services: Services, _: web.Request) -> web.Response:
    """Upcoming events and those of the last 30 days, cancelled ones included."""
    now = services.clock()
    async with services.db.read() as session:
        listed = await event_store.events_since(session, now - CALENDAR_PAST)
    return web.Response(
        body=calendar_ics(listed, services.settings.server_name, now),
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": 'inline; filename="webinars.ics"',
        },
    )


async def _editable(ctx: Ctx, event_id: int) -> CalendarEvent:
    event = await ctx.session.get(CalendarEvent, event_id)
    if event is None:
        raise UserError(ctx.t("events.error.no_event", id=event_id))
    if event.status == CANCELLED:
        raise UserError(ctx.t("events.error.already_cancelled", id=event_id))
    if event.starts_at <= ctx.services.clock():
        raise UserError(ctx.t("events.error.already_over", id=event_id))
    return event


@router.command(
    "webinar",
    sub=("add",),
    role=Role.COORDINATOR,
    help={
        "de": "plant einen Termin, z. B. 03.12.2026 14:00 | Titel | https://… | 90; "
        "auch Art (Konferenz, Workshop, Treffen) und Wiederholung (wöchentlich x6, monatlich x3)",
        "en": "plans an event, e.g. 2026-12-03 14:00 | Title | https://… | 90; "
        "also kind (conference, workshop, meeting) and repetition (weekly x6, monthly x3)",
    },
    args=(
        Arg(
            "spec",
            "DATUM ZEIT | TITEL [| LINK] [| MINUTEN] [| WIEDERHOLUNG]",
            rest=True,
            label_en="DATE TIME | TITLE [| LINK] [| MINUTES] [| REPEAT]",
        ),
    ),
)
async def add_event(ctx: Ctx, spec: str) -> None:
    try:
        parsed = parse_event_spec(spec, ctx.services.clock(), ctx.settings.tz)
    except ScheduleError as error:
        raise _problem(ctx, error) from None
    events = await _store(ctx, parsed)
    _after_commit(ctx)
    first = events[0]
    values = {
        "kind": ctx.t(f"events.kind.{first.kind}"),
        "title": first.title,
        "when": ctx.when(first.starts_at),
        "minutes": first.minutes,
    }
    if len(events) == 1:
        reminders = ctx.t("events.reminders") if ctx.settings.announcement_rooms else ""
        ctx.reply(ctx.t("events.added", id=first.id, reminders=reminders, **values))
    else:
        text = ctx.t(
            "events.added_series",
            count=len(events),
            rule=parsed.repeat,
            first=first.id,
            last=events[-1].id,
            **values,
        )
        ctx.reply(text)


async def _store(ctx: Ctx, spec: EventSpec) -> list[CalendarEvent]:
    series_id = None
    if spec.rule:
        series = EventSeries(rule=spec.rule)
        ctx.session.add(series)
        await ctx.session.flush()
        series_id = series.id
    events = [
        CalendarEvent(
            kind=spec.kind.value,
            title=spec.title,
            link=spec.link,
            starts_at=start,
            minutes=spec.minutes,
            series_id=series_id,
            created_by=ctx.sender,
            created_at=ctx.services.clock(),
        )
        for start in spec.starts
    ]
    ctx.session.add_all(events)
    await ctx.session.flush()
    return events


@router.command(
    "webinar",
    sub=("list",),
    role=Role.COORDINATOR,
    help={
        "de": "alle kommenden Termine mit ID, auch abgesagte",
        "en": "all upcoming events with their IDs, cancelled ones too",
    },
)
async def list_events(ctx: Ctx) -> None:
    now = ctx.services.clock()
    events = list(
        await ctx.session.scalars(
            select(CalendarEvent)
            .where(CalendarEvent.starts_at > now - timedelta(days=1))
            .order_by(CalendarEvent.starts_at)
            .limit(LIST_LIMIT)
        )
    )
    if not events:
        ctx.reply(ctx.t("events.list.empty"))
        return
    counts = await ctx.session.execute(
        select(EventPost.event_id, func.count())
        .where(EventPost.event_id.in_([e.id for e in events]), EventPost.state == SENT)
        .group_by(EventPost.event_id)
    )
    sent = {event_id: count for event_id, count in counts}
    lines = [ctx.t("events.list.title")]
    for event in events:
        extra = ctx.t("events.list.cancelled") if event.status == CANCELLED else ""
        if event.series_id:
            extra += ctx.t("events.list.series", series=event.series_id)
        if sent.get(event.id):
            extra += ctx.t("events.list.posted", count=sent[event.id])
        item = ctx.t(
            "events.list.item",
            id=event.id,
            kind=ctx.t(f"events.kind.{event.kind}"),
            title=event.title,
            when=ctx.when(event.starts_at),
            minutes=event.minutes,
            extra=extra,
        )
        lines.append(item)
    ctx.reply("\n".join(lines))


@router.command(
    "webinar",
    sub=("cancel",),
    role=Role.COORDINATOR,
    help={
        "de": "sagt einen Termin ab (mit „serie“: auch alle späteren der Serie); "
        "wo er angekündigt war, erscheint ein Hinweis",
        "en": 'cancels an event (with "series": all later ones of its series too); '
        "the rooms where it was announced are told",
    },
    args=(Arg("event_id", "ID", int_arg), Arg("scope", "serie", optional=True, label_en="series")),
)
async def cancel_event(ctx: Ctx, event_id: int, scope: str | None) -> None:
    event = await _editable(ctx, event_id)
    targets = [event]
    if scope is not None:
        if scope.lower() not in _SERIES_WORDS:
            raise UsageError(ctx.t("events.error.bad_scope"))
        if event.series_id is None:
            raise UserError(ctx.t("events.error.not_series", id=event_id))
        targets = list(
            await ctx.session.scalars(
                select(CalendarEvent).where(
                    CalendarEvent.series_id == event.series_id,
                    CalendarEvent.starts_at >= event.starts_at,
                    CalendarEvent.status == SCHEDULED,
                )
            )
        )
    notified = 0
    for target in targets:
        target.status = CANCELLED
        target.sequence += 1
        notified += await queue_notice(ctx.session, target, SlotKind.CANCEL, ctx.services.clock())
    _after_commit(ctx)
    notice = ctx.t("events.notice_queued") if notified else ""
    values = {"id": event.id, "title": event.title, "notice": notice}
    if len(targets) > 1:
        ctx.reply(ctx.t("events.cancelled_series", count=len(targets), **values))
    else:
        ctx.reply(ctx.t("events.cancelled", kind=ctx.t(f"events.kind.{event.kind}"), **values))


@router.command(
    "webinar",
    sub=("edit",),
    role=Role.COORDINATOR,
    help={
        "de": "ändert ein Feld: title, date, time, link, minutes, description oder kind "
        "(z. B. time=15:30); bei neuer Zeit bekommen die Räume einen Hinweis",
        "en": "changes one field: title, date, time, link, minutes, description or kind "
        "(e.g. time=15:30); a new time is announced to the rooms",
    },
    args=(
        Arg("event_id", "ID", int_arg),
        Arg("change", "FELD=WERT", rest=True, label_en="FIELD=VALUE"),
    ),
)
async def edit_event(ctx: Ctx, event_id: int, change: str) -> None:
    name, equals, value = change.partition("=")
    field = _EDIT_FIELDS.get(name.strip().lower())
    if not equals or field is None:
        raise UsageError(ctx.t("events.error.bad_edit"))
    event = await _editable(ctx, event_id)
    try:
        moved = apply_edit(event, field, value.strip(), ctx.services.clock(), ctx.settings.tz)
    except ScheduleError as error:
        raise _problem(ctx, error) from None
    event.sequence += 1
    event.updated_at = ctx.services.clock()
    notified = 0
    if moved:
        notified = await queue_notice(ctx.session, event, SlotKind.MOVE, ctx.services.clock())
    _after_commit(ctx)
    notice = ctx.t("events.notice_queued") if notified else ""
    moves_start = field in ("date", "time")
    shown = ctx.when(event.starts_at) if moves_start else value.strip() or "–"
    label = ctx.t("events.field." + ("start" if moves_start else field))
    values = {"id": event.id, "title": event.title, "field": label, "value": shown}
    ctx.reply(ctx.t("events.edited", notice=notice, **values))


def apply_edit(event: CalendarEvent, field: str, value: str, now: datetime, tz: ZoneInfo) -> bool:
    """Change one field of `event`; True when its start moved."""
    local = event.starts_at.astimezone(tz)
    match field:
        case "title":
            event.title = parse_title(value)
        case "description":
            event.description = value
        case "link":
            event.link = parse_link(value) if value not in ("", "-") else None
        case "minutes":
            event.minutes = parse_minutes(value)
        case "kind":
            event.kind = parse_kind(value).value
        case "date" | "time":
            day = parse_date(value) if field == "date" else local.date()
            clock = parse_time(value) if field == "time" else local.time()
            start = to_utc(day, clock, tz)
            check_start(start, now)
            moved = start != event.starts_at
            event.starts_at = start
            return moved
    return False


@router.command(
    "webinare",
    "webinars",
    help={
        "de": "die nächsten Webinare und Veranstaltungen, mit Link und Kalender",
        "en": "the next webinars and events, with link and calendar",
        "de-simple": "zeigt die nächsten Termine",
    },
)
async def upcoming(ctx: Ctx) -> None:
    now = ctx.services.clock()
    candidates = await ctx.session.scalars(
        select(CalendarEvent)
        .where(
            CalendarEvent.status == SCHEDULED,
            CalendarEvent.starts_at > now - timedelta(days=7),
        )
        .order_by(CalendarEvent.starts_at)
    )
    events = [e for e in candidates if event_end(e) > now][:UPCOMING_LIMIT]
    if not events:
        ctx.reply(ctx.t("events.upcoming.empty"))
        return
    title = ctx.t("events.upcoming.title")
    lines, html = [title], [f"<p>{escape(title)}</p><ul>"]
    for event in events:
        item = ctx.t(
            "events.upcoming.item",
            kind=ctx.t(f"events.kind.{event.kind}"),
            title=event.title,
            when=ctx.when(event.starts_at),
            minutes=event.minutes,
        )
        link = ctx.t("events.upcoming.link", link=event.link) if event.link else ""
        lines.append("• " + item + (f"\n  {link}" if link else ""))
        html.append(f"<li>{escape(item)}" + (f"<br>{escape(link)}" if link else "") + "</li>")
    html.append("</ul>")
    if url := calendar_url(ctx.settings):
        calendar = ctx.t("events.upcoming.calendar", url=url)
        lines.append(calendar)
        html.append(f"<p>{escape(calendar)}</p>")
    ctx.reply("\n".join(lines), "".join(html))


def calendar_url(settings: Settings) -> str | None:
    """Where members subscribe to the calendar: BOT_PUBLIC_URL if set, else the bot's own
    HTTP address (None when HTTP is off)."""
    if settings.public_url:
        return f"{settings.public_url}/webinars.ics"
    if settings.http_port:
        return f"http://{settings.http_host}:{settings.http_port}/webinars.ics"
    return None
