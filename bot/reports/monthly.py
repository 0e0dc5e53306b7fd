"""The monthly report: the previous month's report, posted once per period to the
coordination room or, without one, to each coordinator's direct chat.

Each (period, target) is a row claimed as `sending` in its own transaction before anything
is sent and marked `sent` with the Matrix event id once the homeserver confirmed it, so a
period is never posted twice, however often the job runs or the bot restarts. The post's
transaction id is derived from period and target: a post that went out just before a crash
is sent again with the same id, and the homeserver returns the first event instead of
posting a second one. The report is due at the schedule's first time after the month ended;
a due report the bot missed while it was down is posted late, for CATCH_UP at most.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.core import render as md
from bot.core.messages import Reply, RoomId, UserId
from bot.core.services import Core
from bot.core.transport import Transport
from bot.reports.build import Report, build_report
from bot.reports.period import Period, last_full_month
from storage import reports

log = logging.getLogger(__name__)

CATCH_UP = timedelta(days=7)  # a due report missed while the bot was down is posted this late


def due_at(schedule: str, period: Period, core: Core) -> datetime | None:
    """When the report of `period` is due: the schedule's first time after the period."""
    tz = core.settings.tz
    trigger = CronTrigger.from_crontab(schedule, timezone=tz)
    _, end = period.bounds(tz)
    when: datetime | None = trigger.get_next_fire_time(None, end)
    return when


def txn_id(period: Period, target: str) -> str:
    digest = hashlib.sha256(f"{period.key}|{target}".encode()).hexdigest()[:16]
    return f"report-{period.key}-{digest}"


def targets(core: Core) -> list[str]:
    """The coordination room, or else every coordinator (by Matrix ID: their direct chat)."""
    room = core.settings.coordination_room
    return [room] if room else list(core.settings.coordinators)


async def post_due(core: Core, transport: Transport) -> int:
    """Post the previous month's report where it has not gone yet, if it is due (and not
    older than CATCH_UP); returns to how many targets it went now."""
    schedule = core.settings.report_schedule
    if not schedule:
        return 0
    now = core.clock()
    period = last_full_month(now.astimezone(core.settings.tz).date())
    due = due_at(schedule, period, core)
    if due is None or not due <= now < due + CATCH_UP:
        return 0
    return await post(core, transport, period)


async def post(core: Core, transport: Transport, period: Period) -> int:
    """Post the report of `period` to every target it has not reached yet."""
    async with core.db.read() as session:
        done = set(await reports.posted(session, period.key))
    waiting = [target for target in targets(core) if target not in done]
    if not waiting:
        return 0
    lang = core.settings.language
    async with core.db.read() as session:
        built = await build_report(session, core.texts, core.settings, period, lang, core.clock())
    sent = 0
    for target in waiting:
        sent += await _post_to(core, transport, period, target, built)
    return sent


async def _post_to(
    core: Core, transport: Transport, period: Period, target: str, built: Report
) -> int:
    async with core.db.transaction() as session:
        row = await reports.claim_post(
            session, period.key, target, txn_id(period, target), core.clock()
        )
    if row is None:
        return 0  # another run sent it meanwhile
    room = RoomId(target) if target[0] in "!#" else await transport.direct_room(UserId(target))
    if room is None:
        log.warning("monthly report %s: no direct chat with a coordinator", period.key)
        return 0
    text = md.lines([core.texts.get("report.monthly", core.settings.language), built.summary])
    event_id = await transport.send(
        room, Reply(text, attachments=built.attachments), txn_id=row.txn_id
    )
    if event_id is None:
        log.error("monthly report %s to %s unconfirmed; tried again later", period.key, room)
        return 0
    async with core.db.transaction() as session:
        await reports.mark_post_sent(session, row.id, event_id, core.clock())
    log.info("monthly report %s posted to %s", period.key, room)
    return 1
