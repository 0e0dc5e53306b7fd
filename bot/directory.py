"""The initiatives directory in memory: a Matcher rebuilt from the database after each change."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.matching import Matcher, Taxonomy
from bot.regions import Regions
from bot.text import Analyzer
from storage.initiatives import all_initiatives, to_row


class Directory:
    def __init__(self, analyzer: Analyzer, taxonomy: Taxonomy, regions: Regions) -> None:
        self.analyzer = analyzer
        self.taxonomy = taxonomy
        self.regions = regions
        self.matcher = Matcher((), analyzer, taxonomy, regions)

    async def reload(self, session: AsyncSession) -> None:
        rows = [to_row(i) for i in await all_initiatives(session)]
        self.matcher = Matcher(rows, self.analyzer, self.taxonomy, self.regions)

    def bundesland_of(self, region: str) -> str | None:
        return self.regions.bundesland_of(region)
