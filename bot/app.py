"""The process: build the services, register the routers, run, dispose."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from bot.core import housekeeping
from bot.core.commands import CommandTable, Job, Route, Router
from bot.core.dispatcher import Dispatcher
from bot.core.flood import FloodLimiter
from bot.core.transport import Transport
from bot.services import Services, build_services, keep_for_good
from bot.text.analyzer import word_frequency
from config.settings import Settings
from handlers import events, feedback, handoff, initiatives, knowledge, privacy, reports
from handlers import help as help_handlers

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)


def routers() -> list[Router]:
    return [
        housekeeping.router,
        help_handlers.router,
        knowledge.router,
        initiatives.router,
        events.router,
        feedback.router,
        privacy.router,
        reports.router,
        handoff.router,
    ]


def build_dispatcher(services: Services, *, flood: bool) -> Dispatcher[Services]:
    settings = services.settings
    limiter = (
        FloodLimiter(
            settings.flood_burst,
            settings.flood_per_minute,
            settings.flood_global_burst,
            settings.flood_global_per_minute,
        )
        if flood
        else None
    )
    return Dispatcher(services, CommandTable(routers()), limiter)


async def run(settings: Settings) -> None:
    """The main job: connect to the homeserver and serve until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Serve Matrix (and HTTP) until `stop` is set."""
    services = await build_services(settings)
    word_frequency()  # loaded now, not on the first question with a typo
    keep_for_good()
    dispatcher = build_dispatcher(services, flood=True)
    from bot.adapters.matrix.client import MatrixBot  # nio: only the Matrix process needs it

    bot = MatrixBot(services, dispatcher)
    services.handoff.attach(services, bot.transport)
    declare_jobs(services, dispatcher.table.jobs, bot.transport)
    web_runner = await start_web(services, dispatcher.table.routes, lambda: bot.last_sync)
    try:
        log.info("initiative-bot starting as %s on %s", settings.user_id, settings.homeserver)
        await bot.run(stop, on_ready=services.jobs.start)  # jobs post once the rooms are joined
    finally:
        log.info("shutting down")
        await services.jobs.stop()
        await services.announcer.stop()
        await services.handoff.stop()
        if web_runner is not None:
            await web_runner.cleanup()
        await bot.close()
        await services.db.dispose()


def declare_jobs(services: Services, jobs: Sequence[Job], transport: Transport) -> None:
    """Put every job the routers declared on the one scheduler (a cron job whose setting is
    empty is off)."""
    for job in jobs:

        async def run(job: Job = job) -> None:
            await job.run(services, transport)

        if job.every is not None:
            services.jobs.every(job.id, job.every, run, overlap=job.overlap)
        elif job.cron is not None and (line := job.cron(services.settings)):
            services.jobs.cron(job.id, line, services.settings.tz, run)


async def start_web(
    services: Services, routes: Sequence[Route], last_sync: Callable[[], float]
) -> web.AppRunner | None:
    settings = services.settings
    if not settings.http_port:
        return None
    from bot.adapters.web import build_app, start_http  # aiohttp: only the service needs it

    endpoints = [(r.method, r.path, partial(r.handler, services)) for r in routes]
    app = build_app(last_sync, services.db.ping, services.metrics.render, endpoints)
    return await start_http(app, settings.http_host, settings.http_port)
