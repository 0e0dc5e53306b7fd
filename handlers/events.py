"""Webinars and events: coordinators plan them, members see what comes next."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core import render as md
from bot.core.commands import Arg, Page, Router, int_arg
from bot.core.context import Role
from bot.core.errors import UsageError, UserError
from bot.core.transport import Transport
from bot.events.announcer import queue_notice
from bot.events.edit import MOVING, apply_edit, cancel, is_series_word, parse_change
from bot.events.ical import calendar_ics, calendar_url, event_end
from bot.events.slots import EventSpec, ScheduleError, SlotKind, parse_event_spec
from bot.services import Ctx, Services
from storage import events as event_store
from storage.events import CANCELLED
from storage.models import CalendarEvent

router = Router(topic="termine")

REBUILD = "events.rebuild"
CALENDAR_PAST = timedelta(days=30)

UPCOMING_LIMIT = 10
LIST_LIMIT = 30


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
async def calendar_feed(services: Services) -> Page:
    """Upcoming events and those of the last 30 days, cancelled ones included."""
    now, settings = services.clock(), services.settings
    async with services.db.read() as session:
        listed = await event_store.events_since(session, now - CALENDAR_PAST)
    name = services.texts.plain("events.calendar.name", settings.language)
    body = calendar_ics(listed, name, settings.server_name, now)
    return Page(body, "text/calendar; charset=utf-8", filename="webinars.ics")


async def _editable(ctx: Ctx, event_id: int) -> CalendarEvent:
    event = await event_store.get_event(ctx.session, event_id)
    if event is None:
        raise UserError(ctx.t("events.error.no_event", id=event_id))
    if event.status == CANCELLED:
        raise UserError(ctx.t("events.error.already_cancelled", id=event_id))
    if event.starts_at <= ctx.services.clock():
        raise UserError(ctx.t("events.error.already_over", id=event_id))
    return event


def _kind(ctx: Ctx, event: CalendarEvent) -> str:
    return ctx.t(f"events.kind.{event.kind}")


def _shown(ctx: Ctx, event: CalendarEvent) -> dict[str, object]:
    """What the texts show of an event: kind, title, start and length."""
    kind, when = _kind(ctx, event), ctx.when(event.starts_at)
    return {"kind": kind, "title": event.title, "when": when, "minutes": event.minutes}


@router.command(
    "webinar",
    sub=("add",),
    role=Role.COORDINATOR,
    args=(Arg("spec", rest=True),),
)
async def add_event(ctx: Ctx, spec: str) -> None:
    now = ctx.services.clock()
    try:
        parsed = parse_event_spec(spec, now, ctx.settings.tz)
    except ScheduleError as error:
        raise _problem(ctx, error) from None
    events = await _store(ctx, parsed, now)
    _after_commit(ctx)
    first, last = events[0], events[-1]
    values = _shown(ctx, first)
    if len(events) == 1:
        reminders = ctx.t("events.reminders") if ctx.settings.announcement_rooms else ""
        ctx.reply(ctx.t("events.added", id=first.id, reminders=reminders, **values))
        return
    series = {"count": len(events), "rule": parsed.repeat, "first": first.id, "last": last.id}
    ctx.reply(ctx.t("events.added_series", **series, **values))


async def _store(ctx: Ctx, spec: EventSpec, now: datetime) -> list[CalendarEvent]:
    return await event_store.add_events(
        ctx.session,
        kind=spec.kind.value,
        title=spec.title,
        link=spec.link,
        minutes=spec.minutes,
        starts=spec.starts,
        rule=spec.rule,
        created_by=ctx.sender,
        now=now,
    )


@router.command(
    "webinar",
    sub=("list",),
    role=Role.COORDINATOR,
)
async def list_events(ctx: Ctx) -> None:
    since = ctx.services.clock() - timedelta(days=1)
    events = await event_store.first_events_since(ctx.session, since, LIST_LIMIT)
    if not events:
        ctx.reply(ctx.t("events.list.empty"))
        return
    sent = await event_store.sent_counts(ctx.session, [e.id for e in events])
    listed = md.items(_list_item(ctx, event, sent.get(event.id, 0)) for event in events)
    ctx.reply(md.lines([ctx.t("events.list.title"), listed]))


def _list_item(ctx: Ctx, event: CalendarEvent, posted: int) -> md.Markdown:
    notes = [
        ctx.t("events.list.cancelled") if event.status == CANCELLED else "",
        ctx.t("events.list.series", series=event.series_id) if event.series_id else "",
        ctx.t("events.list.posted", count=posted) if posted else "",
        md.escape(" · @room") if event.mention_room else "",
    ]
    extra = md.Markdown("".join(notes))
    return ctx.t("events.list.item", id=event.id, extra=extra, **_shown(ctx, event))


@router.command(
    "webinar",
    sub=("cancel",),
    role=Role.COORDINATOR,
    args=(Arg("event_id", int_arg), Arg("scope", optional=True)),
)
async def cancel_event(ctx: Ctx, event_id: int, scope: str | None) -> None:
    event = await _editable(ctx, event_id)
    targets = [event] if scope is None else await _rest_of_series(ctx, event, scope)
    notified = 0
    for target in targets:
        cancel(target)
        notified += await queue_notice(ctx.session, target, SlotKind.CANCEL, ctx.services.clock())
    _after_commit(ctx)
    notice = ctx.t("events.notice_queued") if notified else ""
    values = {"id": event.id, "title": event.title, "notice": notice}
    if len(targets) > 1:
        ctx.reply(ctx.t("events.cancelled_series", count=len(targets), **values))
    else:
        ctx.reply(ctx.t("events.cancelled", kind=_kind(ctx, event), **values))


async def _rest_of_series(ctx: Ctx, event: CalendarEvent, scope: str) -> list[CalendarEvent]:
    if not is_series_word(scope):
        raise UsageError(ctx.t("events.error.bad_scope"))
    if event.series_id is None:
        raise UserError(ctx.t("events.error.not_series", id=event.id))
    return await event_store.rest_of_series(ctx.session, event)


@router.command(
    "webinar",
    sub=("edit",),
    role=Role.COORDINATOR,
    args=(
        Arg("event_id", int_arg),
        Arg("change", rest=True),
    ),
)
async def edit_event(ctx: Ctx, event_id: int, change: str) -> None:
    if (edit := parse_change(change)) is None:
        raise UsageError(ctx.t("events.error.bad_edit"))
    field, value = edit
    event = await _editable(ctx, event_id)
    now = ctx.services.clock()
    try:
        moved = apply_edit(event, field, value, now, ctx.settings.tz)
    except ScheduleError as error:
        raise _problem(ctx, error) from None
    notified = await queue_notice(ctx.session, event, SlotKind.MOVE, now) if moved else 0
    _after_commit(ctx)
    notice = ctx.t("events.notice_queued") if notified else _mention_note(ctx, event, field)
    shown = _shown_value(ctx, event, field, value)
    label = ctx.t("events.field." + ("start" if field in MOVING else field))
    values = {"id": event.id, "title": event.title, "field": label, "value": shown}
    ctx.reply(ctx.t("events.edited", notice=notice, **values))


def _shown_value(ctx: Ctx, event: CalendarEvent, field: str, value: str) -> str:
    if field in MOVING:
        return ctx.when(event.starts_at)
    if field == "mention_room":
        return ctx.t("events.switch." + ("on" if event.mention_room else "off"))
    return value or "–"


def _mention_note(ctx: Ctx, event: CalendarEvent, field: str) -> md.Markdown:
    """After @room is switched on: the announcement rooms where the bot lacks the power level
    for it (its posts there notify nobody in particular)."""
    if field != "mention_room" or not event.mention_room:
        return md.Markdown("")
    refused = [
        ctx.transport.room_name(room) or room
        for room in ctx.transport.announcement_rooms()
        if not ctx.transport.may_mention_room(room)
    ]
    if refused:
        return ctx.t("events.mention_refused", rooms=", ".join(refused))
    return ctx.t("events.mention_on")


@router.command(
    "webinare",
    "webinars",
    featured=True,
)
async def upcoming(ctx: Ctx) -> None:
    now = ctx.services.clock()
    candidates = await event_store.scheduled_since(ctx.session, now - timedelta(days=7))
    events = [e for e in candidates if event_end(e) > now][:UPCOMING_LIMIT]
    if not events:
        ctx.reply(ctx.t("events.upcoming.empty"))
        return
    listed = md.items(_upcoming_item(ctx, event) for event in events)
    url = calendar_url(ctx.settings)
    calendar = ctx.t("events.upcoming.calendar", url=md.escape(url)) if url else ""
    ctx.reply(md.lines([ctx.t("events.upcoming.title"), listed, calendar]))


def _upcoming_item(ctx: Ctx, event: CalendarEvent) -> md.Markdown:
    item = ctx.t("events.upcoming.item", **_shown(ctx, event))
    link = ctx.t("events.upcoming.link", link=md.escape(event.link)) if event.link else ""
    return md.lines([item, link])
