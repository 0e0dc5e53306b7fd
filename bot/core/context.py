"""What a handler gets: the message, one database session, the services, the reply list."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.i18n import Texts
from bot.core.messages import Attachment, Incoming, Lang, Reply, Role, Transport, UserId
from bot.core.metrics import Metrics
from bot.events.slots import local_when
from bot.initiatives.directory import Directory
from bot.knowledge.index import KnowledgeIndex, Offers
from bot.text.analyzer import Analyzer
from config.settings import Settings
from storage.db import Database
from storage.models import UserPrefs

if TYPE_CHECKING:
    from bot.core.commands import CommandTable
    from bot.events.announcer import Announcer


@dataclass
class Services:
    """Everything built once in main() and handed down; nothing global."""

    settings: Settings
    db: Database
    texts: Texts
    metrics: Metrics
    clock: Callable[[], datetime]
    analyzer: Analyzer
    knowledge: KnowledgeIndex
    directory: Directory
    announcer: Announcer | None = None  # scheduled event posts; only while connected to Matrix
    offers: Offers = field(default_factory=Offers)  # "Did you mean" entries, to pick by number
    knowledge_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one rebuild at a time


@dataclass
class Context:
    services: Services
    msg: Incoming
    session: AsyncSession
    lang: Lang
    role: Role
    transport: Transport
    commands: CommandTable
    replies: list[Reply] = field(default_factory=list)
    notices: list[tuple[UserId, Reply]] = field(default_factory=list)  # direct messages to others
    # Run once the handler's transaction committed (before the replies go out), e.g. to
    # change what is kept in memory only when the database has it too.
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def sender(self) -> UserId:
        return self.msg.sender

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def t(self, key: str, **values: Any) -> str:
        return self.services.texts.get(key, self.lang, **values)

    async def language_of(self, user: UserId) -> Lang:
        """The language `user` chose, else the bot's default (for messages to others)."""
        stored = await self.session.scalar(
            select(UserPrefs.language).where(UserPrefs.user_id == user)
        )
        return stored or self.settings.language  # type: ignore[return-value]

    def when(self, moment: datetime) -> str:
        """A moment in the bot's time zone, as this user reads it."""
        return local_when(self.services.texts, self.lang, moment, self.settings.tz)

    def reply(
        self,
        text: str,
        html: str | None = None,
        attachment: Attachment | None = None,
        mentions: tuple[UserId, ...] = (),
    ) -> None:
        self.replies.append(Reply(text, html, attachment, mentions))

    def tell(self, user: UserId, text: str) -> None:
        """A direct message to `user`, sent once the handler's changes are stored."""
        self.notices.append((user, Reply(text)))
