"""The funder report: `!bericht [ZEITRAUM]` for coordinators, and the monthly post.

The figures, texts, charts and PDF are made in bot/reports/, the SQL is in storage/reports.py.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core import render as md
from bot.core.commands import Arg, Router
from bot.core.context import Role
from bot.core.errors import UsageError
from bot.core.transport import Transport
from bot.reports.build import build_report
from bot.reports.monthly import post_due
from bot.reports.period import Period, PeriodError, last_full_month, parse_period
from bot.services import Ctx, Services

router = Router(topic="termine")

CATCH_UP_EVERY = timedelta(hours=1)


@router.job("reports.monthly", cron=lambda settings: settings.report_schedule)
async def monthly(services: Services, transport: Transport) -> None:
    await post_due(services, transport)


@router.job("reports.catch_up", every=CATCH_UP_EVERY)
async def catch_up(services: Services, transport: Transport) -> None:
    """At start-up and every hour: a monthly report missed while the bot was down."""
    await post_due(services, transport)


def _period(ctx: Ctx, text: str | None) -> Period:
    if not text:
        return last_full_month(ctx.services.clock().astimezone(ctx.settings.tz).date())
    try:
        return parse_period(text)
    except PeriodError as error:
        raise UsageError(ctx.t("report.error.period", value=error.value)) from None


@router.command(
    "bericht",
    "report",
    args=(Arg("period", optional=True, rest=True),),
    role=Role.COORDINATOR,
)
async def report(ctx: Ctx, period: str | None) -> None:
    chosen = _period(ctx, period)
    services = ctx.services
    built = await build_report(
        ctx.session, services.texts, ctx.settings, chosen, ctx.lang, services.clock()
    )
    files = ctx.t("report.chat.files", chart=built.chart_name, pdf=built.pdf_name)
    ctx.reply(md.lines([built.summary, files]), attachments=built.attachments)
