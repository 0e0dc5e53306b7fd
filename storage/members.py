"""What the bot keeps per member by Matrix ID: the reply language and direct chats."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DirectRoom, UserPrefs


async def language(session: AsyncSession, user_id: str) -> str | None:
    return await session.scalar(select(UserPrefs.language).where(UserPrefs.user_id == user_id))


async def set_language(session: AsyncSession, user_id: str, lang: str) -> None:
    await session.merge(UserPrefs(user_id=user_id, language=lang))


async def direct_rooms(session: AsyncSession) -> dict[str, str]:
    """Every recorded direct chat: room id -> the member's Matrix ID."""
    rows = await session.execute(select(DirectRoom.room_id, DirectRoom.user_id))
    return {room_id: user_id for room_id, user_id in rows}


async def add_direct_room(session: AsyncSession, room_id: str, user_id: str) -> None:
    await session.merge(DirectRoom(room_id=room_id, user_id=user_id))


async def direct_rooms_of(session: AsyncSession, user_id: str) -> list[str]:
    return list(
        await session.scalars(select(DirectRoom.room_id).where(DirectRoom.user_id == user_id))
    )


async def forget(session: AsyncSession, user_id: str) -> None:
    """Delete the member's language choice and direct-chat records."""
    await session.execute(delete(UserPrefs).where(UserPrefs.user_id == user_id))
    await session.execute(delete(DirectRoom).where(DirectRoom.user_id == user_id))
