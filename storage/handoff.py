"""Handoff: the SQL behind posting question groups to the coordination room, the links to
the askers' messages, and relaying the coordinators' answers (see bot.knowledge.handoff)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, event, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    HandoffAnswer,
    HandoffLink,
    HandoffPost,
    HandoffRelay,
    KnowledgeEntry,
    QuestionGroup,
    UnansweredQuestion,
)

PENDING, SENT, SKIPPED, FAILED = "pending", "sent", "skipped", "failed"
ANSWER, CORRECTION, CLOSED = "answer", "correction", "closed"


@dataclass(frozen=True)
class Item:
    """What a post shows: the group, how often it was asked, where, and what happened."""

    group_id: int
    text: str
    count: int
    state: str  # the group's: open, answered, closed
    rooms: tuple[str | None, ...]  # room names of its questions (None: a direct chat)
    answers: int  # answers relayed or being relayed


@dataclass(frozen=True)
class Delivery:
    """One answer (or closing) to one asker."""

    answer_id: int
    question_id: int
    kind: str
    text: str
    room_id: str
    event_id: str
    thread_root: str | None
    asker: str
    language: str
    tries: int


@dataclass(frozen=True)
class Confirmation:
    answer_id: int
    group_id: int
    room_id: str
    event_id: str
    thread_root: str | None
    answered_by: str
    sent: int
    missed: int


# -- arrival -------------------------------------------------------------------------------


async def latest_question(session: AsyncSession, pseudonym: str) -> tuple[int, int] | None:
    """The (question id, group id) this member stored last (in this transaction: the new one)."""
    row = (
        await session.execute(
            select(UnansweredQuestion.id, UnansweredQuestion.group_id)
            .where(UnansweredQuestion.pseudonym == pseudonym)
            .order_by(UnansweredQuestion.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def first_asked(session: AsyncSession, group_id: int) -> datetime | None:
    found: datetime | None = await session.scalar(
        select(QuestionGroup.first_asked_at).where(QuestionGroup.id == group_id)
    )
    return found


async def claim_post(session: AsyncSession, group_id: int, txn_id: str, now: datetime) -> bool:
    """The group's post, claimed as pending (once); True when it is new."""
    if await session.get(HandoffPost, group_id) is not None:
        return False
    session.add(
        HandoffPost(
            group_id=group_id,
            txn_id=txn_id,
            state=PENDING,
            version=0,
            shown_version=0,
            save_told=False,
            created_at=now,
        )
    )
    await session.flush()
    return True


async def changed(session: AsyncSession, group_id: int) -> None:
    """What the group's post shows changed: it is edited at the next delivery."""
    await session.execute(
        update(HandoffPost)
        .where(HandoffPost.group_id == group_id)
        .values(version=HandoffPost.version + 1)
    )


async def add_link(session: AsyncSession, link: HandoffLink) -> None:
    session.add(link)
    await session.flush()


# -- coordinators --------------------------------------------------------------------------


async def post_by_event(
    session: AsyncSession, room_id: str, event_ids: Sequence[str]
) -> HandoffPost | None:
    """The post that is one of `event_ids` in `room_id`."""
    if not event_ids:
        return None
    post: HandoffPost | None = await session.scalar(
        select(HandoffPost).where(
            HandoffPost.matrix_event_id.in_(list(event_ids)), HandoffPost.room_id == room_id
        )
    )
    return post


async def post_of(session: AsyncSession, group_id: int) -> HandoffPost | None:
    return await session.get(HandoffPost, group_id)


async def group_state(session: AsyncSession, group_id: int) -> tuple[str, str] | None:
    """The group's state and first question's text."""
    row = (
        await session.execute(
            select(QuestionGroup.state, QuestionGroup.text).where(QuestionGroup.id == group_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def add_answer(
    session: AsyncSession,
    group_id: int,
    kind: str,
    text: str,
    where: tuple[str, str, str | None],
    by: str,
    now: datetime,
) -> int:
    """An answer (or closing) of the group, to relay to every linked asker; returns how many
    askers it goes to. An answer becomes the post's last answer."""
    room_id, event_id, thread_root = where
    answer_id = await session.scalar(
        insert(HandoffAnswer)
        .values(
            group_id=group_id,
            kind=kind,
            text=text,
            room_id=room_id,
            event_id=event_id,
            thread_root=thread_root,
            answered_by=by,
            created_at=now,
            confirmed=kind == CLOSED,
        )
        .returning(HandoffAnswer.id)
    )
    links = list(
        await session.scalars(
            select(HandoffLink.question_id).where(HandoffLink.group_id == group_id)
        )
    )
    if links:
        await session.execute(
            insert(HandoffRelay),
            [
                {"answer_id": answer_id, "question_id": q, "state": PENDING, "tries": 0}
                for q in links
            ],
        )
    if kind != CLOSED:
        await session.execute(
            update(HandoffPost)
            .where(HandoffPost.group_id == group_id)
            .values(
                last_answer=text,
                answered_at=func.coalesce(HandoffPost.answered_at, now),
            )
        )
    await changed(session, group_id)
    return len(links)


async def answers_of(session: AsyncSession, group_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(HandoffAnswer)
        .where(HandoffAnswer.group_id == group_id, HandoffAnswer.kind != CLOSED)
    )
    return count or 0


async def mark_saved(session: AsyncSession, group_id: int, by: str | None) -> None:
    """The group's answer is a knowledge entry now; `by` is told so (None: told already)."""
    await session.execute(
        update(HandoffPost)
        .where(HandoffPost.group_id == group_id)
        .values(saved_by=by, save_told=by is None)
    )
    await changed(session, group_id)


async def resave(session: AsyncSession, group_id: int, text: str) -> tuple[str, str] | None:
    """Replace the answer of the knowledge entry the group was saved as by `text`; the entry's
    id and question, or None if the group is no saved entry or the entry says `text` already."""
    row = (
        await session.execute(
            select(KnowledgeEntry)
            .join(QuestionGroup, QuestionGroup.entry_id == KnowledgeEntry.id)
            .where(QuestionGroup.id == group_id, QuestionGroup.state == "answered")
        )
    ).scalar_one_or_none()
    if row is None or row.answer == text:
        return None
    row.answer = text
    await session.flush()
    return row.id, row.question


# -- delivery ------------------------------------------------------------------------------


async def pending_posts(session: AsyncSession, limit: int) -> list[HandoffPost]:
    return list(
        await session.scalars(
            select(HandoffPost)
            .where(HandoffPost.state == PENDING)
            .order_by(HandoffPost.group_id)
            .limit(limit)
        )
    )


async def outdated_posts(session: AsyncSession, limit: int) -> list[HandoffPost]:
    return list(
        await session.scalars(
            select(HandoffPost)
            .where(HandoffPost.state == SENT, HandoffPost.shown_version < HandoffPost.version)
            .order_by(HandoffPost.group_id)
            .limit(limit)
        )
    )


async def item(session: AsyncSession, group_id: int) -> Item | None:
    row = (
        await session.execute(
            select(QuestionGroup.text, QuestionGroup.asked_count, QuestionGroup.state).where(
                QuestionGroup.id == group_id
            )
        )
    ).first()
    if row is None:
        return None
    rooms = (
        await session.scalars(
            select(HandoffLink.room_name)
            .where(HandoffLink.group_id == group_id)
            .order_by(HandoffLink.question_id)
        )
    ).all()
    answers = await answers_of(session, group_id)
    return Item(group_id, row.text, row.asked_count, row.state, tuple(rooms), answers)


async def mark_posted(
    session: AsyncSession, group_id: int, room_id: str, event_id: str, version: int
) -> None:
    await session.execute(
        update(HandoffPost)
        .where(HandoffPost.group_id == group_id)
        .values(state=SENT, room_id=room_id, matrix_event_id=event_id, shown_version=version)
    )


async def mark_shown(session: AsyncSession, group_id: int, version: int) -> None:
    await session.execute(
        update(HandoffPost)
        .where(HandoffPost.group_id == group_id, HandoffPost.shown_version < version)
        .values(shown_version=version)
    )


async def pending_deliveries(session: AsyncSession, limit: int) -> list[Delivery]:
    rows = await session.execute(
        select(
            HandoffRelay.answer_id,
            HandoffRelay.question_id,
            HandoffAnswer.kind,
            HandoffAnswer.text,
            HandoffLink.room_id,
            HandoffLink.event_id,
            HandoffLink.thread_root,
            HandoffLink.asker,
            HandoffLink.language,
            HandoffRelay.tries,
        )
        .join(HandoffAnswer, HandoffAnswer.id == HandoffRelay.answer_id)
        .join(HandoffLink, HandoffLink.question_id == HandoffRelay.question_id)
        .where(HandoffRelay.state == PENDING)
        .order_by(HandoffRelay.answer_id, HandoffRelay.question_id)
        .limit(limit)
    )
    return [Delivery(**row._mapping) for row in rows]


async def mark_relay(
    session: AsyncSession, answer_id: int, question_id: int, state: str, tries: int
) -> None:
    await session.execute(
        update(HandoffRelay)
        .where(HandoffRelay.answer_id == answer_id, HandoffRelay.question_id == question_id)
        .values(state=state, tries=tries)
    )


async def unconfirmed(session: AsyncSession, limit: int) -> list[Confirmation]:
    """Answers relayed to everyone they go to (none pending) and not yet confirmed."""
    waiting = select(HandoffRelay.answer_id).where(HandoffRelay.state == PENDING)
    answers = (
        await session.execute(
            select(HandoffAnswer)
            .where(HandoffAnswer.confirmed.is_(False), HandoffAnswer.id.not_in(waiting))
            .order_by(HandoffAnswer.id)
            .limit(limit)
        )
    ).scalars()
    found = []
    for answer in answers:
        counts = dict(
            (
                await session.execute(
                    select(HandoffRelay.state, func.count())
                    .where(HandoffRelay.answer_id == answer.id)
                    .group_by(HandoffRelay.state)
                )
            ).all()
        )
        found.append(
            Confirmation(
                answer.id,
                answer.group_id,
                answer.room_id,
                answer.event_id,
                answer.thread_root,
                answer.answered_by,
                counts.get(SENT, 0),
                counts.get(SKIPPED, 0) + counts.get(FAILED, 0),
            )
        )
    return found


async def mark_confirmed(session: AsyncSession, answer_id: int) -> None:
    await session.execute(
        update(HandoffAnswer).where(HandoffAnswer.id == answer_id).values(confirmed=True)
    )


async def saves_to_tell(session: AsyncSession, limit: int) -> list[HandoffPost]:
    return list(
        await session.scalars(
            select(HandoffPost)
            .where(
                HandoffPost.saved_by.is_not(None),
                HandoffPost.save_told.is_(False),
                HandoffPost.state == SENT,
            )
            .limit(limit)
        )
    )


async def mark_save_told(session: AsyncSession, group_id: int) -> None:
    await session.execute(
        update(HandoffPost).where(HandoffPost.group_id == group_id).values(save_told=True)
    )


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` once the session's transaction committed (never after a rollback)."""
    event.listen(session.sync_session, "after_commit", lambda _: callback(), once=True)


# -- retention -----------------------------------------------------------------------------


async def forget_links(session: AsyncSession, before: datetime) -> int:
    """Delete the links of items answered or closed before `before`; returns how many."""
    done = (
        select(QuestionGroup.id)
        .outerjoin(HandoffPost, HandoffPost.group_id == QuestionGroup.id)
        .where(or_(HandoffPost.answered_at < before, QuestionGroup.settled_at < before))
    )
    result = await session.execute(delete(HandoffLink).where(HandoffLink.group_id.in_(done)))
    return int(getattr(result, "rowcount", 0) or 0)
