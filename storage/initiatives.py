"""The initiatives directory in the database: upsert by name, lookups, rows for matching."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.initiative_csv import InitiativeRow, name_key
from storage.models import Initiative


def to_row(initiative: Initiative) -> InitiativeRow:
    return InitiativeRow(
        name=initiative.name,
        region=initiative.region,
        topics=tuple(t for t in initiative.topics.split(";") if t),
        description=initiative.description,
        contact=initiative.contact,
        website=initiative.website,
    )


def apply_row(initiative: Initiative, row: InitiativeRow, bundesland: str | None) -> None:
    initiative.name = row.name
    initiative.name_key = name_key(row.name)
    initiative.region = row.region
    initiative.bundesland = bundesland
    initiative.topics = ";".join(row.topics)
    initiative.description = row.description
    initiative.contact = row.contact
    initiative.website = row.website


async def by_name(session: AsyncSession, name: str) -> Initiative | None:
    return await session.scalar(select(Initiative).where(Initiative.name_key == name_key(name)))


async def upsert(
    session: AsyncSession, rows: Iterable[InitiativeRow], bundesland_of: Callable[[str], str | None]
) -> tuple[int, int]:
    """Insert or update by name (case-insensitive); returns (created, updated)."""
    created = updated = 0
    existing = {i.name_key: i for i in await session.scalars(select(Initiative))}
    for row in rows:
        initiative = existing.get(name_key(row.name))
        if initiative is None:
            initiative = Initiative()
            session.add(initiative)
            existing[name_key(row.name)] = initiative
            created += 1
        else:
            updated += 1
        apply_row(initiative, row, bundesland_of(row.region))
    await session.flush()
    return created, updated


async def all_initiatives(session: AsyncSession) -> list[Initiative]:
    return list(await session.scalars(select(Initiative).order_by(func.lower(Initiative.name))))
