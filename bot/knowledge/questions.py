"""Unanswered questions: which group a new one joins, and filing it at arrival.

A question is compared only with the open groups that share one of its key terms: its
heaviest terms, together weighing more than half of it. Any group it overlaps by at least
SIMILAR shares one of them (the shared terms weigh at least half of the question), so looking
up only those loses nothing while the cost stays the same however many questions are stored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.knowledge.index import SIMILAR, KnowledgeIndex, overlap
from storage import questions
from storage.db import Database
from storage.questions import MAX_QUESTION_CHARS, TERM_CHARS

log = logging.getLogger(__name__)

DAILY_LIMIT = 20  # questions stored per member in 24 hours; beyond that nothing is stored
KEY_TERMS = 8  # at most this many key terms are looked up (only long questions have more)
GROUP_TERMS = 32  # a group keeps its heaviest terms, for comparing and looking up
_DAY = timedelta(days=1)
_LEGACY_BATCH = 200


class Filed(StrEnum):
    NEW = "new"  # opened a group of its own
    JOINED = "joined"  # joined a similar open group
    DUPLICATE = "duplicate"  # this member asked it already: nothing stored
    LIMITED = "limited"  # this member's daily limit is reached: nothing stored
    TOO_LONG = "too_long"  # longer than MAX_QUESTION_CHARS: nothing stored


# -- the grouping rule, as plain functions ---------------------------------------------------


def _heaviest(signature: Mapping[str, float]) -> list[str]:
    return sorted(signature, key=lambda term: (-signature[term], term))


def key_terms(signature: Mapping[str, float], limit: int = KEY_TERMS) -> list[str]:
    """The heaviest terms, until they weigh more than half of the signature."""
    total = sum(signature.values())
    keys: list[str] = []
    weight = 0.0
    for term in _heaviest(signature):
        if len(term) > TERM_CHARS:
            continue  # never stored for lookup
        keys.append(term)
        weight += signature[term]
        if weight > total / 2 or len(keys) == limit:
            break
    return keys


def group_terms(signature: Mapping[str, float], limit: int = GROUP_TERMS) -> list[str]:
    """The terms a new group keeps: its heaviest ones that fit the lookup table."""
    return [term for term in _heaviest(signature) if len(term) <= TERM_CHARS][:limit]


def matching_groups(
    question: Mapping[str, float],
    groups: Mapping[int, Mapping[str, float]],
    threshold: float = SIMILAR,
) -> list[int]:
    """The groups a question is similar to, the one it joins first: highest overlap, and
    among equals the oldest (lowest number)."""
    scored = [(overlap(question, terms), gid) for gid, terms in groups.items()]
    return [gid for score, gid in sorted(scored, key=lambda s: (-s[0], s[1])) if score >= threshold]


# -- filing ---------------------------------------------------------------------------------


def _weighted(index: KnowledgeIndex, terms: Sequence[str]) -> dict[str, float]:
    return {term: index.weight(term) for term in terms}


async def file_question(
    session: AsyncSession,
    index: KnowledgeIndex,
    pseudonym: str,
    text: str,
    language: str,
    now: datetime,
) -> Filed:
    """Store a question the bot could not answer in its group, unless it is too long, the
    member's daily limit is reached or the member asked it already."""
    if len(text) > MAX_QUESTION_CHARS:
        return Filed.TOO_LONG
    if await questions.asked_since(session, pseudonym, now - _DAY) >= DAILY_LIMIT:
        return Filed.LIMITED
    signature = index.signature(text)
    found = await questions.candidates(session, key_terms(signature))
    similar = matching_groups(signature, {g: _weighted(index, t) for g, t in found.items()})
    if await questions.asked_in(session, pseudonym, similar):
        return Filed.DUPLICATE
    if similar:
        await questions.join(session, similar[0], text, language, pseudonym, now)
        return Filed.JOINED
    terms = group_terms(signature)
    await questions.open_group(session, text, language, terms, pseudonym, now)
    return Filed.NEW


def terms_of(index: KnowledgeIndex) -> questions.TermsOf:
    """What storage calls when a group's text changes (see storage.questions)."""
    return lambda text: group_terms(index.signature(text))


async def analyse_carried_over(db: Database, index: KnowledgeIndex) -> int:
    """Groups a migration carried over have no terms yet: analyse them, oldest first, and
    merge each into a similar older group (as if its questions had just arrived). Runs at
    start-up; returns how many groups were merged away."""
    merged = 0
    while True:
        async with db.transaction() as session:
            batch = await questions.unanalysed_groups(session, _LEGACY_BATCH)
            for gid, text in batch:
                signature = index.signature(text)
                found = await questions.candidates(session, key_terms(signature))
                weighted = {g: _weighted(index, t) for g, t in found.items() if g != gid}
                similar = matching_groups(signature, weighted)
                if similar:
                    await questions.merge(session, gid, similar[0])
                    merged += 1
                else:
                    await questions.set_terms(session, gid, group_terms(signature))
        if len(batch) < _LEGACY_BATCH:
            break
    if merged:
        log.info("questions: merged %d carried-over group(s) into similar ones", merged)
    return merged
