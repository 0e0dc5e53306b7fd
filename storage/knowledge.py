"""Knowledge entries coordinators added at run time (on top of the shipped files)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KnowledgeEntry


async def added_entries(session: AsyncSession) -> list[KnowledgeEntry]:
    return list(await session.scalars(select(KnowledgeEntry).order_by(KnowledgeEntry.created_at)))


async def add_entry(
    session: AsyncSession, entry_id: str, question: str, answer: str, created_by: str
) -> None:
    session.add(
        KnowledgeEntry(id=entry_id, question=question, answer=answer, created_by=created_by)
    )
