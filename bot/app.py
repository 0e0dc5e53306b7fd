"""Builds everything in one place and runs it: settings → database → services → adapters."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.commands import CommandTable, Router
from bot.context import Services
from bot.dispatcher import Dispatcher, FloodLimiter
from bot.http import build_app, start_http
from bot.i18n import load_texts
from bot.matrix import MatrixBot, StartupError
from bot.metrics import Metrics
from config.settings import Settings
from handlers import help as help_handlers
from storage.db import Database

log = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


def routers() -> list[Router]:
    return [help_handlers.router]


def utcnow() -> datetime:
    return datetime.now(UTC)


async def build_services(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Services:
    """The shared services over a migrated database (the caller disposes `services.db`)."""
    texts, problems = load_texts(CONFIG_DIR / "texts.yaml")
    if problems:
        raise StartupError("; ".join(problems))
    db = Database(settings.database_url)
    await db.upgrade()
    return Services(settings=settings, db=db, texts=texts, metrics=Metrics(), clock=clock)


def build_dispatcher(services: Services, *, flood: bool) -> Dispatcher:
    limiter = (
        FloodLimiter(services.settings.flood_burst, services.settings.flood_per_minute)
        if flood
        else None
    )
    return Dispatcher(services, CommandTable(routers()), limiter)


async def run(settings: Settings) -> None:
    """The main job: connect to the homeserver and serve until SIGTERM/SIGINT."""
    services = await build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bot = MatrixBot(services, build_dispatcher(services, flood=True))
    runner = None
    try:
        if settings.http_port:
            app = build_app(services, lambda: bot.last_sync, [])
            runner = await start_http(app, settings.http_host, settings.http_port)
        log.info("initiative-bot starting as %s on %s", settings.user_id, settings.homeserver)
        await bot.run(stop)
    finally:
        log.info("shutting down")
        if runner is not None:
            await runner.cleanup()
        await bot.close()
        await services.db.dispose()
