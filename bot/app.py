"""Builds everything in one place and runs it: settings → database → services → adapters."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from bot.adapters.matrix.client import MatrixBot, StartupError
from bot.adapters.web import build_app, start_http
from bot.core.commands import CommandTable, Router
from bot.core.context import Services
from bot.core.dispatcher import Dispatcher, FloodLimiter
from bot.core.i18n import Texts, load_texts
from bot.core.jobs import repeat
from bot.core.metrics import Metrics
from bot.events.announcer import Announcer, calendar_route
from bot.initiatives.directory import WATCH_INTERVAL, Directory
from bot.initiatives.intros import introduction_round
from bot.initiatives.matcher import Taxonomy, load_taxonomy, taxonomy_vocabulary
from bot.initiatives.regions import Regions, load_regions
from bot.knowledge.index import (
    Entry,
    KnowledgeIndex,
    entry_from_answer,
    knowledge_vocabulary,
    load_knowledge,
)
from bot.knowledge.questions import analyse_carried_over
from bot.text.analyzer import Analyzer, load_synonyms
from config import CONFIG_DIR
from config.settings import Settings
from handlers import events as event_handlers
from handlers import feedback, initiatives, knowledge, privacy
from handlers import help as help_handlers
from storage.db import Database
from storage.models import KnowledgeEntry, utcnow
from storage.pseudonyms import ensure_secret

log = logging.getLogger(__name__)
T = TypeVar("T")


def routers() -> list[Router]:
    return [
        help_handlers.router,
        knowledge.router,
        initiatives.router,
        event_handlers.router,
        feedback.router,
        privacy.router,
    ]


def load_data() -> tuple[DataFiles, list[str]]:
    """The shipped data files, validated; problems name the file and entry."""
    texts, problems = load_texts(CONFIG_DIR / "texts.yaml")
    entries, knowledge_problems = load_knowledge(CONFIG_DIR / "knowledge")
    problems += knowledge_problems
    synonyms = _load(CONFIG_DIR / "synonyms.yaml", load_synonyms, [], problems)
    taxonomy = _load(CONFIG_DIR / "topics.yaml", load_taxonomy, Taxonomy(()), problems)
    regions = _load(CONFIG_DIR / "regions.yaml", load_regions, Regions(()), problems)
    return DataFiles(texts, entries, synonyms, taxonomy, regions), problems


def _load(path: Path, loader: Callable[[Path], T], empty: T, problems: list[str]) -> T:
    try:
        return loader(path)
    except (ValueError, OSError) as exc:
        problems.append(f"{path.name}: {exc}")
        return empty


@dataclass(frozen=True)
class DataFiles:
    texts: Texts
    entries: list[Entry]
    synonyms: list[list[str]]
    taxonomy: Taxonomy
    regions: Regions


async def build_services(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Services:
    """The shared services over a migrated database (the caller disposes `services.db`)."""
    data, problems = load_data()
    if problems:
        raise StartupError(f"{len(problems)} problem(s) in data files, first: {problems[0]}")
    db = Database(settings.database_url)
    await db.upgrade()
    await ensure_secret(db)
    async with db.sessions() as session:
        added = [
            entry_from_answer(row.id, row.question, row.answer)
            for row in await session.scalars(select(KnowledgeEntry))
        ]
    analyzer = Analyzer(
        data.synonyms,
        [*knowledge_vocabulary(data.entries), *taxonomy_vocabulary(data.taxonomy)],
    )
    directory = Directory(analyzer, data.taxonomy, data.regions)
    async with db.sessions() as session:
        await directory.refresh(session)
    knowledge = KnowledgeIndex([*data.entries, *added], analyzer)
    await analyse_carried_over(db, knowledge)
    return Services(
        settings=settings,
        db=db,
        texts=data.texts,
        metrics=Metrics(),
        clock=clock,
        analyzer=analyzer,
        knowledge=knowledge,
        directory=directory,
    )


def build_dispatcher(services: Services, *, flood: bool) -> Dispatcher:
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
    gc.freeze()  # the loaded data lives as long as the process: keep it out of GC passes
    bot = MatrixBot(services, build_dispatcher(services, flood=True))
    announcer = Announcer(services, bot.transport, bot.transport.announcement_rooms)
    services.announcer = announcer

    async def announce_when_ready() -> None:
        await bot.ready.wait()
        await announcer.start()
        if settings.intro_schedule:
            announcer.scheduler.add_job(
                introduction_round,
                CronTrigger.from_crontab(settings.intro_schedule, timezone=settings.tz),
                args=(services, bot.transport, bot.transport.announcement_rooms),
                id="introductions",
                replace_existing=True,
                misfire_grace_time=3600,
            )

    starter = asyncio.create_task(announce_when_ready())
    retention = asyncio.create_task(
        repeat(
            lambda: feedback.apply_retention(services),
            feedback.RETENTION_INTERVAL.total_seconds(),
            stop,
        )
    )
    question_retention = asyncio.create_task(
        repeat(
            lambda: knowledge.apply_retention(services),
            feedback.RETENTION_INTERVAL.total_seconds(),
            stop,
        )
    )
    directory = asyncio.create_task(
        repeat(lambda: services.directory.refresh_from(services.db), WATCH_INTERVAL, stop)
    )
    runner = None
    try:
        if settings.http_port:
            app = build_app(services, lambda: bot.last_sync, [calendar_route(services)])
            runner = await start_http(app, settings.http_host, settings.http_port)
        log.info("initiative-bot starting as %s on %s", settings.user_id, settings.homeserver)
        await bot.run(stop)
    finally:
        log.info("shutting down")
        starter.cancel()
        retention.cancel()
        question_retention.cancel()
        directory.cancel()
        await announcer.stop()
        if runner is not None:
            await runner.cleanup()
        await bot.close()
        await services.db.dispose()
