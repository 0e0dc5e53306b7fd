"""Fast tests: the real dispatcher and handlers over a recording transport and a real SQLite."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.shell import ShellTransport
from bot.app import build_dispatcher
from bot.core.dispatcher import Dispatcher
from bot.core.messages import EventId, Incoming, Reply, RoomId, UserId
from bot.core.transport import Transport
from bot.services import Services, build_services
from config.settings import Settings

Chat = Callable[..., Awaitable[list[str]]]

MEMBER = UserId("@member:localhost")
COORDINATOR = UserId("@coord:localhost")
ROOM = RoomId("!room:localhost")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        store_path=tmp_path / "store",
        coordinators=[COORDINATOR],
        user_id="@bot:localhost",
        http_port=0,
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    built = await build_services(settings)
    yield built
    await built.db.dispose()


@pytest.fixture
def dispatcher(services: Services) -> Dispatcher:
    return build_dispatcher(services, flood=False)


class Conversation:
    """Sends lines as one user in one room and returns the reply bodies."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.transport: Transport = ShellTransport(coordinator=False)
        self._ids = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:6]

    async def __call__(
        self,
        body: str,
        *,
        user: UserId = MEMBER,
        room: RoomId = ROOM,
        direct: bool = True,
        **extra: Any,
    ) -> list[str]:
        late = extra.pop("late", False)
        replies = await self.send(body, user=user, room=room, direct=direct, late=late, **extra)
        return [r.text for r in replies]

    async def send(
        self,
        body: str,
        *,
        user: UserId,
        room: RoomId,
        direct: bool,
        late: bool = False,
        **extra: Any,
    ) -> list[Reply]:
        extra.setdefault("direct_chat", direct)  # `direct` means a direct chat unless told
        msg = Incoming(
            room_id=room,
            sender=user,
            event_id=EventId(f"$test-{self._prefix}-{next(self._ids)}"),
            body=body,
            sent_at=extra.pop("sent_at", None) or datetime.now(UTC),
            direct=direct,
            **extra,
        )
        return await self.dispatcher.handle(msg, self.transport, record=True, late=late)


@pytest.fixture
def chat(dispatcher: Dispatcher) -> Conversation:
    return Conversation(dispatcher)
