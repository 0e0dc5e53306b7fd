"""The Matrix transport's direct chats: found when recorded and private, else opened."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nio import (
    DirectRoomsErrorResponse,
    DirectRoomsResponse,
    RoomCreateError,
    RoomCreateResponse,
    RoomPreset,
)
from sqlalchemy import select

from bot.adapters.matrix.send import MatrixTransport
from bot.core.messages import RoomId, UserId
from bot.services import Services
from storage.models import DirectRoom
from tests.fakes import MEMBER

BOT = "@bot:localhost"
OTHER = UserId("@other:localhost")


@dataclass
class FakeRoom:
    users: dict[str, Any]
    encrypted: bool = False


class FakeResponse:
    status = 200

    async def __aenter__(self) -> FakeResponse:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


@dataclass
class FakeClient:
    """The parts of nio's AsyncClient that opening a direct chat uses."""

    user_id: str = BOT
    access_token: str = "token"
    rooms: dict[str, FakeRoom] = field(default_factory=dict)
    account_data: dict[str, list[str]] | None = None
    refuse: bool = False
    created: list[dict[str, Any]] = field(default_factory=list)
    puts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def room_create(self, **options: Any) -> RoomCreateResponse | RoomCreateError:
        if self.refuse:
            return RoomCreateError("no", "M_FORBIDDEN")
        self.created.append(options)
        room_id = f"!new-{len(self.created)}"
        self.rooms[room_id] = FakeRoom({BOT: None, options["invite"][0]: None})  # as synced
        return RoomCreateResponse(room_id)

    async def list_direct_rooms(self) -> DirectRoomsResponse | DirectRoomsErrorResponse:
        if self.account_data is None:
            return DirectRoomsErrorResponse("not found", "M_NOT_FOUND")
        return DirectRoomsResponse(self.account_data)

    async def send(self, method: str, path: str, data: str, headers: dict[str, str]) -> Any:
        self.puts.append((f"{method} {path}", json.loads(data)))
        return FakeResponse()


def transport(client: FakeClient, services: Services) -> MatrixTransport:
    return MatrixTransport(client, [], services.db, encrypt_direct=True)  # type: ignore[arg-type]


async def test_a_recorded_private_direct_chat_is_reused(services: Services) -> None:
    client = FakeClient(rooms={"!dm": FakeRoom({BOT: None, MEMBER: None})})
    matrix = transport(client, services)
    matrix.direct_rooms[RoomId("!dm")] = MEMBER
    assert await matrix.direct_room(MEMBER) == "!dm"
    assert matrix.is_direct_chat(RoomId("!dm"), MEMBER)
    assert not matrix.is_direct_chat(RoomId("!dm"), OTHER)
    assert client.created == []


async def test_a_direct_chat_is_opened_when_the_old_one_is_no_longer_private(
    services: Services,
) -> None:
    client = FakeClient(
        rooms={"!dm": FakeRoom({BOT: None, MEMBER: None, OTHER: None})},
        account_data={OTHER: ["!theirs"]},
    )
    matrix = transport(client, services)
    matrix.direct_rooms[RoomId("!dm")] = MEMBER
    assert not matrix.is_direct_chat(RoomId("!dm"), MEMBER)  # someone else joined
    room = await matrix.direct_room(MEMBER)
    assert room == "!new-1" and matrix.direct_rooms[room] == MEMBER
    [options] = client.created
    assert options["is_direct"] is True and options["invite"] == [MEMBER]
    assert options["preset"] == RoomPreset.trusted_private_chat
    assert options["initial_state"][0]["type"] == "m.room.encryption"
    [(request, content)] = client.puts
    assert request.endswith("/account_data/m.direct") and request.startswith("PUT ")
    assert content == {OTHER: ["!theirs"], MEMBER: ["!new-1"]}  # the others' entries stay
    async with services.db.read() as session:
        stored = await session.execute(select(DirectRoom.room_id, DirectRoom.user_id))
        assert [tuple(row) for row in stored] == [("!new-1", MEMBER)]
    assert await matrix.direct_room(MEMBER) == "!new-1"  # and reused from then on
    assert len(client.created) == 1


async def test_a_refused_direct_chat_gives_none(services: Services) -> None:
    client = FakeClient(refuse=True)
    assert await transport(client, services).direct_room(MEMBER) is None
