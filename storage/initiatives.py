"""The initiatives directory in the database: upsert by name, lookups, rows for matching."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.initiative_csv import InitiativeRow, name_key
from storage.models import BotState, Initiative, utcnow


def to_row(initiative: Initiative) -> InitiativeRow:
    return InitiativeRow(
        name=initiative.name,
        region=initiative.region,
        topics=tuple(t for t in initiative.topics.split(";") if t),
        description=initiative.description,
        contact=initiative.contact,
        website=initiative.website,
    )


def row_values(row: InitiativeRow, bundesland: str | None) -> dict[str, Any]:
    """The columns an InitiativeRow sets."""
    return {
        "name": row.name,
        "name_key": name_key(row.name),
        "region": row.region,
        "bundesland": bundesland,
        "topics": ";".join(row.topics),
        "description": row.description,
        "contact": row.contact,
        "website": row.website,
    }


def apply_row(initiative: Initiative, row: InitiativeRow, bundesland: str | None) -> None:
    for column, value in row_values(row, bundesland).items():
        setattr(initiative, column, value)


VERSION_KEY = "directory_version"


async def directory_version(session: AsyncSession) -> str:
    return await session.scalar(select(BotState.value).where(BotState.key == VERSION_KEY)) or ""


async def mark_changed(session: AsyncSession) -> None:
    """Every change to the initiatives bumps the version, in the same transaction."""
    await session.merge(BotState(key=VERSION_KEY, value=uuid.uuid4().hex))


async def by_name(session: AsyncSession, name: str) -> Initiative | None:
    return await session.scalar(select(Initiative).where(Initiative.name_key == name_key(name)))


async def upsert(
    session: AsyncSession, rows: Iterable[InitiativeRow], bundesland_of: Callable[[str], str | None]
) -> tuple[int, int]:
    """Insert or update by name (case-insensitive), in bulk; returns (created, updated)."""
    found = await session.execute(select(Initiative.name_key, Initiative.id))
    existing = {key: initiative_id for key, initiative_id in found}
    now = utcnow()
    new: dict[str, dict[str, Any]] = {}
    changed: list[dict[str, Any]] = []
    for row in rows:
        values = {**row_values(row, bundesland_of(row.region)), "updated_at": now}
        known = existing.get(values["name_key"])
        if known is None:
            new[values["name_key"]] = {**values, "created_at": now}
        else:
            changed.append({"id": known, **values})
    if new:
        await session.execute(insert(Initiative), list(new.values()))
    if changed:
        await session.execute(update(Initiative), changed)
    if new or changed:
        await mark_changed(session)
    return len(new), len(changed)


async def all_initiatives(session: AsyncSession) -> list[Initiative]:
    return list(await session.scalars(select(Initiative).order_by(func.lower(Initiative.name))))
