"""Contact hand-overs: nobody is listed as an initiative's contact without having agreed.

Naming someone else as the contact stores a pending hand-over; the public entry keeps its old
contact until the new one confirms, and for good when HANDOVER_VALID passes unconfirmed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeGuard

from sqlalchemy.ext.asyncio import AsyncSession

from storage.initiatives import by_name, pending_handover, request_handover
from storage.models import ContactHandover, Initiative

HANDOVER_VALID = timedelta(days=7)  # how long a new contact has to confirm


def needs_confirmation(new_contact: str | None, old_contact: str | None, by: str) -> TypeGuard[str]:
    """Removing the contact, keeping it or taking it over oneself needs nobody's consent;
    naming someone else (`by` names `new_contact`) does."""
    return new_contact not in (None, old_contact, by)


async def ask(
    session: AsyncSession, initiative: Initiative, new_contact: str, by: str, now: datetime
) -> None:
    """Store the hand-over as pending (replacing an older one of the initiative)."""
    await request_handover(session, initiative, new_contact, by, now, now + HANDOVER_VALID)


async def pending(
    session: AsyncSession, name: str, user: str, now: datetime
) -> tuple[Initiative, ContactHandover] | None:
    """The initiative named exactly `name` and its unexpired hand-over to `user`."""
    initiative = await by_name(session, name)
    handover = initiative and await pending_handover(session, initiative, user, now)
    if initiative is None or not isinstance(handover, ContactHandover):
        return None
    return initiative, handover
