"""What the knowledge base learns while the bot runs: entries coordinators add, questions it
could not answer (kept for them under a pseudonym), and how long those questions are kept."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.knowledge.entries import Entry, entry_from_answer
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.questions import Filed, file_question, terms_of
from config.settings import Settings
from storage import questions
from storage.db import Database
from storage.knowledge import add_entry
from storage.pseudonyms import pseudonym
from storage.questions import OpenGroup

log = logging.getLogger(__name__)

RETENTION_BATCH = 500  # questions deleted per transaction


class Learning(Protocol):
    """What learning needs of the process's services (bot/services.py): the database, the
    settings, the clock and the index answered from, replaced as a whole by `learn`."""

    knowledge: KnowledgeIndex
    knowledge_lock: asyncio.Lock

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


async def answer_group(
    session: AsyncSession, group: OpenGroup, text: str, by: str, now: datetime
) -> Entry:
    """Store `text` as the answer to an open question group: a knowledge entry `faq-N` and
    the group answered by it. Returns the entry, to `learn` once that is committed."""
    entry_id = f"faq-{group.id}"
    await add_entry(session, entry_id, group.text, text, by)
    await questions.settle(session, group.id, now, entry_id)
    return entry_from_answer(entry_id, group.text, text)


async def learn(services: Learning, entry: Entry) -> None:
    """Make a committed entry searchable: a new index is built in a worker thread (the bot
    goes on answering from the old one meanwhile) and then replaces it in one step."""
    async with services.knowledge_lock:
        current: KnowledgeIndex = services.knowledge
        services.knowledge = await asyncio.to_thread(current.with_entry, entry)


async def note_unanswered(
    session: AsyncSession,
    index: KnowledgeIndex,
    user: str,
    question: str,
    language: str,
    now: datetime,
) -> Filed:
    """Keep a question the bot could not answer for the coordinators, under the asker's
    pseudonym (see bot.knowledge.questions)."""
    who = await pseudonym(session, user)
    return await file_question(session, index, who, question, language, now)


async def apply_retention(services: Learning) -> int:
    """Delete questions older than BOT_QUESTION_RETENTION, in short transactions (at
    start-up, then once a day like the feedback retention); returns how many went."""
    before = services.clock() - services.settings.question_retention
    removed = 0
    while True:
        async with services.db.transaction() as session:
            terms = terms_of(services.knowledge)
            done = await questions.purge(session, before, terms, RETENTION_BATCH)
        removed += done
        if done < RETENTION_BATCH:
            break
    if removed:
        log.info("retention: deleted %d old unanswered question(s)", removed)
    return removed
