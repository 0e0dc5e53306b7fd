"""Unanswered questions and their groups: the SQL behind `!faq`, privacy and retention.

Every call costs the same however many questions are stored: a new question looks only at
the few open groups sharing one of its heaviest terms (`candidates`), and the listing reads
the open groups by the `(state, asked_count, id)` index. Text analysis is the caller's: where
a group's representative changes, `terms_of` gives the terms of its new text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import QuestionGroup, QuestionGroupTerm, UnansweredQuestion

MAX_QUESTION_CHARS = 2000  # a longer question is refused by the Q&A handler, never stored cut
TERM_CHARS = 64  # the longest term kept for lookup (QuestionGroupTerm.term)
CANDIDATES_PER_TERM = 50  # newest open groups looked at per key term of a new question
OPEN, ANSWERED, CLOSED = "open", "answered", "closed"
_CHUNK = 500  # ids per IN (...) list

TermsOf = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class OpenGroup:
    id: int
    text: str
    count: int


@dataclass(frozen=True)
class MemberQuestion:
    text: str
    asked_at: datetime
    state: str  # the group's: open, answered or closed


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


# -- arrival -------------------------------------------------------------------------------


async def asked_since(session: AsyncSession, pseudonym: str, since: datetime) -> int:
    """How many questions this member has stored since `since`."""
    count = await session.scalar(
        select(func.count())
        .select_from(UnansweredQuestion)
        .where(UnansweredQuestion.pseudonym == pseudonym, UnansweredQuestion.asked_at >= since)
    )
    return count or 0


async def candidates(session: AsyncSession, keys: Sequence[str]) -> dict[int, list[str]]:
    """Open groups sharing one of `keys` (at most CANDIDATES_PER_TERM per key, the newest),
    with their terms: one query, each key a bounded range of the terms' primary key."""
    picks = [
        select(
            select(QuestionGroupTerm.group_id)
            .where(QuestionGroupTerm.term == key)
            .order_by(QuestionGroupTerm.group_id.desc())
            .limit(CANDIDATES_PER_TERM)
            .subquery()
            .c.group_id
        )
        for key in dict.fromkeys(keys)
    ]
    if not picks:
        return {}
    ids = picks[0] if len(picks) == 1 else union(*picks)
    rows = await session.execute(
        select(QuestionGroup.id, QuestionGroup.terms).where(
            QuestionGroup.id.in_(ids), QuestionGroup.state == OPEN
        )
    )
    return {gid: (terms or "").split() for gid, terms in rows}


async def asked_in(session: AsyncSession, pseudonym: str, group_ids: Sequence[int]) -> bool:
    """Whether this member already has a question in one of these groups."""
    if not group_ids:
        return False
    found = await session.scalar(
        select(UnansweredQuestion.id)
        .where(
            UnansweredQuestion.pseudonym == pseudonym,
            UnansweredQuestion.group_id.in_(list(group_ids)),
        )
        .limit(1)
    )
    return found is not None


async def open_group(
    session: AsyncSession,
    text: str,
    language: str,
    terms: Sequence[str],
    pseudonym: str | None,
    now: datetime,
) -> int:
    """A new open group with `text` as its first question; returns its number."""
    group_id: int | None = await session.scalar(
        insert(QuestionGroup)
        .values(
            text=text,
            language=language,
            terms=" ".join(terms),
            asked_count=1,
            first_asked_at=now,
            last_asked_at=now,
            state=OPEN,
        )
        .returning(QuestionGroup.id)
    )
    assert group_id is not None
    await _insert_terms(session, group_id, terms)
    await _add_question(session, group_id, text, language, pseudonym, now)
    return group_id


async def join(
    session: AsyncSession,
    group_id: int,
    text: str,
    language: str,
    pseudonym: str | None,
    now: datetime,
) -> None:
    """Add a question to an existing group."""
    await session.execute(
        update(QuestionGroup)
        .where(QuestionGroup.id == group_id)
        .values(asked_count=QuestionGroup.asked_count + 1, last_asked_at=now)
    )
    await _add_question(session, group_id, text, language, pseudonym, now)


async def _add_question(
    session: AsyncSession,
    group_id: int,
    text: str,
    language: str,
    pseudonym: str | None,
    now: datetime,
) -> None:
    await session.execute(
        insert(UnansweredQuestion).values(
            group_id=group_id, text=text, language=language, pseudonym=pseudonym, asked_at=now
        )
    )


async def _set_terms(session: AsyncSession, group_id: int, terms: Sequence[str]) -> None:
    await session.execute(delete(QuestionGroupTerm).where(QuestionGroupTerm.group_id == group_id))
    await _insert_terms(session, group_id, terms)


async def _insert_terms(session: AsyncSession, group_id: int, terms: Sequence[str]) -> None:
    kept = sorted({term for term in terms if len(term) <= TERM_CHARS})
    if kept:
        await session.execute(
            insert(QuestionGroupTerm), [{"term": term, "group_id": group_id} for term in kept]
        )


# -- coordinators ----------------------------------------------------------------------------


async def open_groups(session: AsyncSession, limit: int) -> tuple[list[OpenGroup], int]:
    """The `limit` most asked open groups (newest first among equals) and how many are open."""
    rows = await session.execute(
        select(QuestionGroup.id, QuestionGroup.text, QuestionGroup.asked_count)
        .where(QuestionGroup.state == OPEN)
        .order_by(QuestionGroup.asked_count.desc(), QuestionGroup.id.desc())
        .limit(limit)
    )
    shown = [OpenGroup(gid, text, count) for gid, text, count in rows]
    if len(shown) < limit:
        return shown, len(shown)
    total = await session.scalar(
        select(func.count()).select_from(QuestionGroup).where(QuestionGroup.state == OPEN)
    )
    return shown, total or 0


async def get_open(session: AsyncSession, group_id: int) -> OpenGroup | None:
    row = (
        await session.execute(
            select(QuestionGroup.id, QuestionGroup.text, QuestionGroup.asked_count).where(
                QuestionGroup.id == group_id, QuestionGroup.state == OPEN
            )
        )
    ).first()
    return None if row is None else OpenGroup(*row)


async def settle(
    session: AsyncSession, group_id: int, now: datetime, entry_id: str | None = None
) -> None:
    """Mark an open group answered (by knowledge entry `entry_id`) or, without one, closed."""
    state = ANSWERED if entry_id else CLOSED
    await session.execute(
        update(QuestionGroup)
        .where(QuestionGroup.id == group_id)
        .values(state=state, entry_id=entry_id, settled_at=now)
    )
    if entry_id:
        await session.execute(
            update(UnansweredQuestion)
            .where(UnansweredQuestion.group_id == group_id)
            .values(answered_entry=entry_id)
        )
    await session.execute(delete(QuestionGroupTerm).where(QuestionGroupTerm.group_id == group_id))


# -- legacy groups (carried over by the migration, not analysed yet) -------------------------


async def unanalysed_groups(session: AsyncSession, limit: int) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(QuestionGroup.id, QuestionGroup.text)
        .where(QuestionGroup.state == OPEN, QuestionGroup.terms.is_(None))
        .order_by(QuestionGroup.id)
        .limit(limit)
    )
    return [(gid, text) for gid, text in rows]


async def set_terms(session: AsyncSession, group_id: int, terms: Sequence[str]) -> None:
    await session.execute(
        update(QuestionGroup).where(QuestionGroup.id == group_id).values(terms=" ".join(terms))
    )
    await _set_terms(session, group_id, terms)


async def merge(session: AsyncSession, source: int, target: int) -> None:
    """Move every question of group `source` into `target` and drop `source`."""
    await session.execute(
        update(UnansweredQuestion)
        .where(UnansweredQuestion.group_id == source)
        .values(group_id=target)
    )
    await _drop(session, [source])
    await _recount(session, target)


# -- members: privacy and retention ----------------------------------------------------------


async def questions_of(session: AsyncSession, pseudonym: str) -> list[MemberQuestion]:
    rows = await session.execute(
        select(UnansweredQuestion.text, UnansweredQuestion.asked_at, QuestionGroup.state)
        .join(QuestionGroup, QuestionGroup.id == UnansweredQuestion.group_id)
        .where(UnansweredQuestion.pseudonym == pseudonym)
        .order_by(UnansweredQuestion.asked_at, UnansweredQuestion.id)
    )
    return [MemberQuestion(*row) for row in rows]


async def forget(session: AsyncSession, pseudonym: str, terms_of: TermsOf) -> int:
    """Delete this member's questions; returns how many went."""
    rows = (
        await session.execute(
            select(UnansweredQuestion.id, UnansweredQuestion.group_id).where(
                UnansweredQuestion.pseudonym == pseudonym
            )
        )
    ).all()
    await _delete(session, rows, terms_of)
    return len(rows)


async def purge(session: AsyncSession, before: datetime, terms_of: TermsOf, batch: int) -> int:
    """Delete up to `batch` questions asked before `before` (oldest first); returns how many.
    Call again until it returns less than `batch`: each call is one short transaction."""
    rows = (
        await session.execute(
            select(UnansweredQuestion.id, UnansweredQuestion.group_id)
            .where(UnansweredQuestion.asked_at < before)
            .order_by(UnansweredQuestion.asked_at, UnansweredQuestion.id)
            .limit(batch)
        )
    ).all()
    await _delete(session, rows, terms_of)
    return len(rows)


async def _delete(
    session: AsyncSession, rows: Sequence[tuple[int, int]], terms_of: TermsOf
) -> None:
    for chunk in _chunks(qid for qid, _ in rows):
        await session.execute(delete(UnansweredQuestion).where(UnansweredQuestion.id.in_(chunk)))
    await _refresh(session, {gid for _, gid in rows}, terms_of)


async def _refresh(session: AsyncSession, group_ids: set[int], terms_of: TermsOf) -> None:
    """After questions were deleted: a group left empty goes (unless answered: it names its
    knowledge entry); another one is represented by its oldest remaining question, so no
    deleted question's text stays behind in it."""
    for chunk in _chunks(group_ids):
        groups = await session.execute(
            select(QuestionGroup.id, QuestionGroup.text, QuestionGroup.state).where(
                QuestionGroup.id.in_(chunk)
            )
        )
        empty = []
        for gid, text, state in groups.all():
            first = (
                await session.execute(
                    select(
                        UnansweredQuestion.text,
                        UnansweredQuestion.language,
                        UnansweredQuestion.asked_at,
                    )
                    .where(UnansweredQuestion.group_id == gid)
                    .order_by(UnansweredQuestion.id)
                    .limit(1)
                )
            ).first()
            if first is None and state != ANSWERED:
                empty.append(gid)
                continue
            if first is not None and state != ANSWERED and first.text != text:
                terms = list(terms_of(first.text))
                await session.execute(
                    update(QuestionGroup)
                    .where(QuestionGroup.id == gid)
                    .values(
                        text=first.text,
                        language=first.language,
                        first_asked_at=first.asked_at,
                        terms=" ".join(terms),
                    )
                )
                if state == OPEN:
                    await _set_terms(session, gid, terms)
            await _recount(session, gid)
        await _drop(session, empty)


async def _recount(session: AsyncSession, group_id: int) -> None:
    count = (
        select(func.count())
        .select_from(UnansweredQuestion)
        .where(UnansweredQuestion.group_id == group_id)
        .scalar_subquery()
    )
    await session.execute(
        update(QuestionGroup).where(QuestionGroup.id == group_id).values(asked_count=count)
    )


async def _drop(session: AsyncSession, group_ids: Sequence[int]) -> None:
    if group_ids:
        ids = list(group_ids)
        await session.execute(delete(QuestionGroupTerm).where(QuestionGroupTerm.group_id.in_(ids)))
        await session.execute(delete(QuestionGroup).where(QuestionGroup.id.in_(ids)))
