"""The initiatives directory in the database: upsert by name, lookups, rows for matching."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected
from storage.models import BotState, ContactHandover, Initiative, Introduction, utcnow


@dataclass(frozen=True)
class InitiativeRow:
    """An initiative's public fields, as the CSV file and the chat commands give them."""

    name: str
    region: str
    topics: tuple[str, ...]
    description: str
    contact: str | None
    website: str | None


_SPACES = re.compile(r"\s+")


def name_key(name: str) -> str:
    """The key under which names are unique: case and spacing do not count."""
    return _SPACES.sub(" ", name).strip().casefold()


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


async def change(
    session: AsyncSession, initiative: Initiative, row: InitiativeRow, bundesland: str | None
) -> None:
    """Give an entry the fields of `row` (the directory's version moves on)."""
    apply_row(initiative, row, bundesland)
    await mark_changed(session)


async def remove(session: AsyncSession, initiative: Initiative) -> None:
    await session.delete(initiative)
    await mark_changed(session)


async def of_contact(session: AsyncSession, user: str) -> list[Initiative]:
    """The initiatives whose public entry names `user` as the contact, by name."""
    return list(
        await session.scalars(
            select(Initiative)
            .where(Initiative.contact == user)
            .order_by(func.lower(Initiative.name))
        )
    )


async def set_intros(session: AsyncSession, user: str, enabled: bool) -> list[str]:
    """Turn the weekly introductions of the initiatives naming `user` as contact on or off;
    returns their names."""
    mine = await of_contact(session, user)
    for initiative in mine:
        initiative.intros_enabled = enabled
    return [initiative.name for initiative in mine]


async def contact_of(session: AsyncSession, user: str) -> list[str]:
    """The names of the initiatives whose public directory entry names `user` as the contact."""
    return list(await session.scalars(select(Initiative.name).where(Initiative.contact == user)))


# -- introductions: pairs already introduced are never introduced again --------------------


async def introduced_pairs(session: AsyncSession) -> set[frozenset[int]]:
    return {
        frozenset((row.first_id, row.second_id))
        for row in await session.scalars(select(Introduction))
    }


async def add_introduction(session: AsyncSession, first_id: int, second_id: int) -> None:
    session.add(Introduction(first_id=first_id, second_id=second_id))


# -- contact hand-overs: a new contact confirms before the public entry names them ---------


async def request_handover(
    session: AsyncSession,
    initiative: Initiative,
    new_contact: str,
    requested_by: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store the pending change (a newer request for the initiative replaces an older)."""
    await session.execute(
        delete(ContactHandover).where(ContactHandover.initiative_id == initiative.id)
    )
    session.add(
        ContactHandover(
            initiative_id=initiative.id,
            new_contact=new_contact,
            requested_by=requested_by,
            requested_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def pending_handover(
    session: AsyncSession, initiative: Initiative, new_contact: str, now: datetime
) -> ContactHandover | None:
    """The unexpired hand-over of `initiative` to `new_contact`, if there is one."""
    return await session.scalar(
        select(ContactHandover).where(
            ContactHandover.initiative_id == initiative.id,
            ContactHandover.new_contact == new_contact,
            ContactHandover.expires_at > now,
        )
    )


async def confirm_handover(
    session: AsyncSession, initiative: Initiative, handover: ContactHandover
) -> None:
    """The new contact agreed: the public entry names them now."""
    initiative.contact = handover.new_contact
    await session.delete(handover)
    await mark_changed(session)


async def drop_handover(session: AsyncSession, handover: ContactHandover) -> None:
    await session.delete(handover)


async def handovers_of(
    session: AsyncSession, user: str, now: datetime
) -> list[tuple[str, str, str]]:
    """Unexpired hand-overs naming `user` as new contact or requester:
    (initiative, new contact, requested by)."""
    rows = await session.execute(
        select(Initiative.name, ContactHandover.new_contact, ContactHandover.requested_by)
        .join(Initiative, Initiative.id == ContactHandover.initiative_id)
        .where(
            (ContactHandover.new_contact == user) | (ContactHandover.requested_by == user),
            ContactHandover.expires_at > now,
        )
        .order_by(func.lower(Initiative.name))
    )
    return [(name, to, by) for name, to, by in rows]


async def forget_handovers(session: AsyncSession, user: str) -> None:
    await session.execute(
        delete(ContactHandover).where(
            (ContactHandover.new_contact == user) | (ContactHandover.requested_by == user)
        )
    )


async def purge_handovers(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(ContactHandover).where(ContactHandover.expires_at <= now))
    return affected(result)
