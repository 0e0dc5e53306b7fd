"""Pseudonyms for feedback: a keyed hash of the Matrix ID, so stored ratings name nobody.

The key is generated on first start and kept in the database (`bot_state`). Without it a
pseudonym cannot be traced back to a Matrix ID by trying IDs; with it the bot can still find
a member's own data when they ask for it or want it deleted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import BotState

SECRET_KEY = "pseudonym_secret"


def pseudonymise(secret: bytes, user_id: str) -> str:
    """HMAC-SHA256 of the Matrix ID (64 hex digits)."""
    return hmac.new(secret, user_id.encode(), hashlib.sha256).hexdigest()


async def ensure_secret(db: Database) -> None:
    """Generate the pseudonym key once; later starts keep the stored one."""
    if not await db.get_state(SECRET_KEY):
        await db.set_state(SECRET_KEY, secrets.token_hex(32))


async def pseudonym(session: AsyncSession, user_id: str) -> str:
    secret = await session.scalar(select(BotState.value).where(BotState.key == SECRET_KEY))
    if not secret:
        raise RuntimeError("the pseudonym key is missing; ensure_secret() runs at start-up")
    return pseudonymise(bytes.fromhex(secret), user_id)
