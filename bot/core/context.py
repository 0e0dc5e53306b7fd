"""What a handler gets: the message, one database session, the services, the reply list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.i18n import Texts, local_when
from bot.core.messages import Attachment, Incoming, Reply, UserId
from bot.core.render import Markdown
from bot.core.services import Core
from bot.core.transport import Transport
from config.settings import Lang, Settings, as_lang
from storage import members

S = TypeVar("S", bound=Core)


class Role(IntEnum):
    """Who may use a command."""

    MEMBER = 0
    COORDINATOR = 1


class Described(Protocol):
    """A command as help shows it (bot/core/commands.py's Command)."""

    @property
    def role(self) -> Role: ...

    @property
    def topic(self) -> str: ...

    @property
    def featured(self) -> bool: ...

    def invocation(self, lang: Lang) -> str: ...

    def usage(self, texts: Texts, lang: Lang) -> Markdown: ...

    def describe(self, texts: Texts, lang: Lang) -> Markdown: ...

    def example(self, texts: Texts, lang: Lang) -> str | None: ...


class Catalog(Protocol):
    """The commands a user may see (bot/core/commands.py's CommandTable)."""

    def visible(self, role: Role) -> Iterable[Described]: ...

    def family(self, name: str) -> Sequence[Described]: ...


@dataclass
class Context(Generic[S]):
    services: S
    msg: Incoming
    session: AsyncSession
    lang: Lang
    role: Role
    transport: Transport
    commands: Catalog
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

    def t(self, key: str, **values: Any) -> Markdown:
        return self.services.texts.get(key, self.lang, **values)

    async def language_of(self, user: UserId) -> Lang:
        """The language `user` chose, else the bot's default (for messages to others)."""
        return as_lang(await members.language(self.session, user)) or self.settings.language

    def when(self, moment: datetime) -> str:
        """A moment in the bot's time zone, as this user reads it."""
        return local_when(self.lang, moment, self.settings.tz)

    def reply(
        self,
        text: Markdown,
        attachments: tuple[Attachment, ...] = (),
        mentions: tuple[UserId, ...] = (),
    ) -> None:
        self.replies.append(Reply(text, attachments, mentions))

    def tell(self, user: UserId, text: Markdown) -> None:
        """A direct message to `user`, sent once the handler's changes are stored."""
        self.notices.append((user, Reply(text)))
