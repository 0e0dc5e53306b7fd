"""What is stored under one member, across the tables: the queries behind `!meine-daten` and
`!daten-loeschen`, and the pending deletion requests they confirm.

A member is found by Matrix ID (language, direct chats, hand-overs, public records) or by
their pseudonym (ratings, comments, questions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import members, questions
from storage.db import affected
from storage.initiatives import contact_of, forget_handovers, handovers_of
from storage.models import (
    BotState,
    CalendarEvent,
    FeedbackComment,
    FeedbackRating,
    KnowledgeEntry,
)
from storage.pseudonyms import pseudonym
from storage.questions import MemberQuestion, TermsOf

_REQUEST = "forget-"  # key prefix of a pending deletion request in bot_state


@dataclass
class Stored:
    """Everything kept about one member (found by Matrix ID or by their pseudonym)."""

    language: str | None = None
    direct_rooms: list[str] = field(default_factory=list)
    ratings: list[tuple[str, int, datetime]] = field(default_factory=list)  # title, stars, when
    comments: list[tuple[str, str, datetime]] = field(default_factory=list)  # title, text, when
    contact_of: list[str] = field(default_factory=list)  # initiatives naming them as contact
    questions: list[MemberQuestion] = field(default_factory=list)  # ones I could not answer
    handovers: list[tuple[str, str, str]] = field(default_factory=list)  # name, to, asked by
    events_created: list[tuple[int, str]] = field(default_factory=list)  # as a coordinator
    entries_created: list[str] = field(default_factory=list)  # knowledge entries' questions

    @property
    def empty(self) -> bool:
        return not (
            self.language
            or self.direct_rooms
            or self.ratings
            or self.comments
            or self.contact_of
            or self.questions
            or self.handovers
            or self.events_created
            or self.entries_created
        )


async def stored_about(session: AsyncSession, user: str, now: datetime) -> Stored:
    who = await pseudonym(session, user)
    return Stored(
        language=await members.language(session, user),
        direct_rooms=await members.direct_rooms_of(session, user),
        ratings=await _ratings(session, who),
        comments=await _comments(session, who),
        contact_of=await contact_of(session, user),
        questions=await questions.questions_of(session, who),
        handovers=await handovers_of(session, user, now),
        events_created=await _events_created(session, user),
        entries_created=await _entries_created(session, user),
    )


async def _ratings(session: AsyncSession, who: str) -> list[tuple[str, int, datetime]]:
    rows = await session.execute(
        select(CalendarEvent.title, FeedbackRating.stars, FeedbackRating.updated_at)
        .join(CalendarEvent, CalendarEvent.id == FeedbackRating.event_id)
        .where(FeedbackRating.pseudonym == who)
        .order_by(FeedbackRating.updated_at)
    )
    return [(title, stars, when) for title, stars, when in rows]


async def _comments(session: AsyncSession, who: str) -> list[tuple[str, str, datetime]]:
    rows = await session.execute(
        select(CalendarEvent.title, FeedbackComment.text, FeedbackComment.created_at)
        .join(CalendarEvent, CalendarEvent.id == FeedbackComment.event_id)
        .where(FeedbackComment.pseudonym == who)
        .order_by(FeedbackComment.created_at)
    )
    return [(title, text, when) for title, text, when in rows]


async def _events_created(session: AsyncSession, user: str) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(CalendarEvent.id, CalendarEvent.title)
        .where(CalendarEvent.created_by == user)
        .order_by(CalendarEvent.id)
    )
    return [(event_id, title) for event_id, title in rows]


async def _entries_created(session: AsyncSession, user: str) -> list[str]:
    return list(
        await session.scalars(
            select(KnowledgeEntry.question)
            .where(KnowledgeEntry.created_by == user)
            .order_by(KnowledgeEntry.created_at)
        )
    )


async def forget(session: AsyncSession, user: str, terms_of: TermsOf) -> None:
    """Delete the member's language choice, direct-room records, ratings, comments, questions
    (a question group left empty goes too) and pending contact hand-overs. Public records
    (directory entries naming them, events and knowledge entries they created as a
    coordinator) stay; the member is told so."""
    who = await pseudonym(session, user)
    await members.forget(session, user)
    await session.execute(delete(FeedbackRating).where(FeedbackRating.pseudonym == who))
    await session.execute(delete(FeedbackComment).where(FeedbackComment.pseudonym == who))
    await questions.forget(session, who, terms_of)
    await forget_handovers(session, user)


# -- deletion requests: `!daten-loeschen` asks, `!daten-loeschen bestätigen` confirms ----------


def _request_key(who: str) -> str:
    return f"{_REQUEST}{who[:32]}"


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


async def request_forget(session: AsyncSession, who: str, expires: datetime) -> None:
    """Note a deletion request of the member with pseudonym `who`, valid until `expires`."""
    await session.merge(BotState(key=_request_key(who), value=_stamp(expires)))


async def take_forget_request(session: AsyncSession, who: str, now: datetime) -> bool:
    """Whether `who` has an unexpired deletion request; it is used up if so (an expired one
    stays until purge_forget_requests)."""
    request = await session.get(BotState, _request_key(who))
    if request is None or request.value < _stamp(now):
        return False
    await session.delete(request)
    return True


async def purge_forget_requests(session: AsyncSession, now: datetime) -> int:
    """Delete the deletion requests that expired unconfirmed; returns how many."""
    result = await session.execute(
        delete(BotState).where(BotState.key.like(f"{_REQUEST}%"), BotState.value < _stamp(now))
    )
    return affected(result)
