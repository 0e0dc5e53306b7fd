"""The initiatives directory in memory: a Matcher rebuilt from the database after each change."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util

from sqlalchemy.ext.asyncio import AsyncSession

from bot.initiatives.matcher import Matcher, Taxonomy
from bot.initiatives.regions import Regions
from bot.text.analyzer import Analyzer
from storage.db import Database
from storage.initiatives import all_initiatives, directory_version, to_row

LARGE = 1000  # a rebuild this big leaves many freed blocks behind
WATCH_INTERVAL = 10.0  # seconds between looks for changes made by another process


class Directory:
    def __init__(self, analyzer: Analyzer, taxonomy: Taxonomy, regions: Regions) -> None:
        self.analyzer = analyzer
        self.taxonomy = taxonomy
        self.regions = regions
        self.matcher = Matcher((), analyzer, taxonomy, regions)
        self.version: str | None = None  # the database's directory version the matcher shows
        self._lock = asyncio.Lock()

    async def refresh(self, session: AsyncSession) -> Matcher:
        """The matcher, rebuilt first if the initiatives changed since it was built (in this
        process or another one, e.g. `initiative-bot initiatives import`). The rebuild runs in
        a worker thread, so the bot goes on answering everything else meanwhile."""
        async with self._lock:
            current = await directory_version(session)
            if current != self.version:
                rows = [to_row(i) for i in await all_initiatives(session)]
                self.matcher = await asyncio.to_thread(
                    Matcher, rows, self.analyzer, self.taxonomy, self.regions
                )
                self.version = current
                if len(rows) >= LARGE:
                    release_freed_memory()
        return self.matcher

    async def refresh_from(self, db: Database) -> None:
        """Refresh in a session of its own: run every WATCH_INTERVAL while serving, so a
        change made by another process (a CLI import) is picked up before anyone asks."""
        async with db.read() as session:
            await self.refresh(session)

    def bundesland_of(self, region: str) -> str | None:
        return self.regions.bundesland_of(region)


def release_freed_memory() -> None:
    """Give memory freed by a large rebuild back to the system (glibc only; else nothing)."""
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).malloc_trim(0)
