"""The initiatives directory in memory: a Matcher rebuilt from the database after each change."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

from sqlalchemy.ext.asyncio import AsyncSession

from bot.matching import Matcher, Taxonomy
from bot.regions import Regions
from bot.text import Analyzer
from storage.initiatives import all_initiatives, to_row

LARGE = 1000  # a rebuild this big leaves many freed blocks behind


class Directory:
    def __init__(self, analyzer: Analyzer, taxonomy: Taxonomy, regions: Regions) -> None:
        self.analyzer = analyzer
        self.taxonomy = taxonomy
        self.regions = regions
        self.matcher = Matcher((), analyzer, taxonomy, regions)

    async def reload(self, session: AsyncSession) -> None:
        rows = [to_row(i) for i in await all_initiatives(session)]
        self.matcher = Matcher(rows, self.analyzer, self.taxonomy, self.regions)
        if len(rows) >= LARGE:
            release_freed_memory()

    def bundesland_of(self, region: str) -> str | None:
        return self.regions.bundesland_of(region)


def release_freed_memory() -> None:
    """Give memory freed by a large rebuild back to the system (glibc only; else nothing)."""
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).malloc_trim(0)
