"""Gap filling by position and the room queues, over a fake homeserver's timelines."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nio import RoomMessagesError, RoomMessagesResponse, SyncResponse

from bot.adapters.matrix.client import MatrixBot
from bot.adapters.matrix.timeline import GapError, Progress, RoomQueues, fill_gap
from bot.core.dispatcher import Dispatcher
from bot.core.messages import RoomId
from bot.services import Services
from tests.fakes import RecordingTransport

BOT = "@bot:localhost"
ROOM = RoomId("!busy")
OTHER = RoomId("!calm")


def message(index: int, sender: str, body: str) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "event_id": f"$e{index}",
        "sender": sender,
        "origin_server_ts": 1_800_000_000_000 + index,
        "content": {"msgtype": "m.text", "body": body},
    }


def own_join(index: int) -> dict[str, Any]:
    return {
        "type": "m.room.member",
        "event_id": f"$e{index}",
        "sender": BOT,
        "state_key": BOT,
        "origin_server_ts": 1_800_000_000_000 + index,
        "content": {"membership": "join"},
    }


class FakeHomeserver:
    """Room timelines with positions; a sync window of `limit` events per room, like Synapse:
    more than that since the last sync gives the newest `limit`, `limited` and a `prev_batch`
    from which /messages pages back."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rooms: dict[str, list[dict[str, Any]]] = {}
        self.position = 0  # events in all rooms so far; sync tokens are positions
        self.pages = 0
        self.fail_pages = False

    def add(self, room: str, event: dict[str, Any]) -> None:
        self.position += 1
        self.rooms.setdefault(room, []).append({**event, "_pos": self.position})

    def say(self, room: str, sender: str, body: str) -> str:
        index = self.position + 1
        self.add(room, message(index, sender, body))
        return f"$e{index}"

    def sync(self, since: int) -> SyncResponse:
        join = {}
        for room, events in self.rooms.items():
            new = [e for e in events if e["_pos"] > since]
            if not new:
                continue
            window = new[-self.limit :]
            join[room] = {
                "timeline": {
                    "events": [_public(e) for e in window],
                    "limited": len(new) > len(window),
                    "prev_batch": str(window[0]["_pos"] - 1),
                },
                "state": {"events": []},
                "ephemeral": {"events": []},
                "account_data": {"events": []},
            }
        body = {
            "next_batch": str(self.position),
            "rooms": {"join": join, "invite": {}, "leave": {}},
        }
        response = SyncResponse.from_dict(body)
        assert isinstance(response, SyncResponse)
        return response

    async def room_messages(
        self, room_id: str, start: str, limit: int = 10, **_: Any
    ) -> RoomMessagesResponse | RoomMessagesError:
        self.pages += 1
        if self.fail_pages:
            return RoomMessagesError("M_UNKNOWN: try later")
        before = [e for e in self.rooms[room_id] if e["_pos"] <= int(start)]
        chunk = before[::-1][:limit]
        end = str(chunk[-1]["_pos"] - 1) if len(chunk) == limit else None
        body: dict[str, Any] = {"chunk": [_public(e) for e in chunk], "start": start}
        if end is not None:
            body["end"] = end
        response = RoomMessagesResponse.from_dict(body, room_id)
        assert isinstance(response, RoomMessagesResponse)
        return response


def _public(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "_pos"}


async def settled(bot: MatrixBot, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while bot.queues.queued() or bot.progress.committed != str(bot_position(bot)):
            await asyncio.sleep(0.01)


def bot_position(bot: MatrixBot) -> int:
    return bot.fake.position  # type: ignore[attr-defined]


def matrix_bot(services: Services, dispatcher: Dispatcher, fake: FakeHomeserver) -> MatrixBot:
    services.settings = services.settings.model_copy(
        update={"homeserver": "http://127.0.0.1:9", "e2ee": False}
    )
    bot = MatrixBot(services, dispatcher)
    bot.client.room_messages = fake.room_messages  # type: ignore[method-assign]
    bot.transport = RecordingTransport()  # type: ignore[assignment]
    bot.fake = fake  # type: ignore[attr-defined]
    return bot


async def run_syncs(bot: MatrixBot, fake: FakeHomeserver, since: int) -> int:
    """One sync from `since`, as the sync loop does it; returns the next position."""
    response = fake.sync(since)
    await bot._ingest(response, answer=True)
    return int(response.next_batch)


def answered(bot: MatrixBot) -> list[str]:
    transport: RecordingTransport = bot.transport  # type: ignore[assignment]
    return [s.to.event_id for s in transport.sent if s.to is not None]


async def test_a_burst_larger_than_the_sync_window_is_answered_once_each_in_order(
    services: Services, dispatcher: Dispatcher
) -> None:
    fake = FakeHomeserver(limit=10)
    bot = matrix_bot(services, dispatcher, fake)
    asked = [fake.say(ROOM, f"@m{i % 6}:localhost", "!hilfe") for i in range(3)]
    since = await run_syncs(bot, fake, 0)
    await settled(bot)
    asked += [fake.say(ROOM, f"@m{i % 6}:localhost", f"!hilfe {i}") for i in range(250)]
    since = await run_syncs(bot, fake, since)
    await settled(bot)
    assert answered(bot) == asked
    assert fake.pages == 3  # back to the last handled event, not further


async def test_a_restarted_bot_fills_the_gap_from_the_handled_marks_without_answering_twice(
    services: Services, dispatcher: Dispatcher
) -> None:
    fake = FakeHomeserver(limit=5)
    first = matrix_bot(services, dispatcher, fake)
    old = [fake.say(ROOM, "@a:localhost", "!hilfe") for _ in range(4)]
    await run_syncs(first, fake, 0)
    await settled(first)
    restart_from = 2  # an older saved position: the first events come again
    new = [fake.say(ROOM, "@b:localhost", "!hilfe") for _ in range(30)]
    second = matrix_bot(services, dispatcher, fake)
    await run_syncs(second, fake, restart_from)
    await settled(second)
    assert answered(first) == old
    assert answered(second) == new


async def test_a_gap_fill_stops_at_the_bots_own_join(
    services: Services, dispatcher: Dispatcher
) -> None:
    fake = FakeHomeserver(limit=5)
    bot = matrix_bot(services, dispatcher, fake)
    for _ in range(3):
        fake.say(ROOM, "@a:localhost", "!hilfe")  # before the bot was in the room
    fake.add(ROOM, own_join(fake.position + 1))
    since = await run_syncs(bot, fake, fake.position)
    asked = [fake.say(ROOM, "@a:localhost", "!hilfe") for _ in range(12)]
    await run_syncs(bot, fake, since)
    await settled(bot)
    assert answered(bot) == asked


async def test_a_failing_page_fails_the_batch_so_it_is_read_again(
    services: Services, dispatcher: Dispatcher
) -> None:
    fake = FakeHomeserver(limit=5)
    bot = matrix_bot(services, dispatcher, fake)
    since = await run_syncs(bot, fake, 0)
    asked = [fake.say(ROOM, "@a:localhost", "!hilfe") for _ in range(12)]
    fake.say(OTHER, "@b:localhost", "!hilfe")
    fake.fail_pages = True
    with pytest.raises(GapError):
        await run_syncs(bot, fake, since)
    fake.fail_pages = False
    await run_syncs(bot, fake, since)  # the loop reads the same batch again
    await settled(bot)
    assert [e for e in answered(bot) if e in asked] == asked
    assert len(answered(bot)) == len(asked) + 1


async def test_a_gap_fill_is_capped() -> None:
    fake = FakeHomeserver(limit=5)
    for i in range(400):
        fake.say(ROOM, "@a:localhost", f"!hilfe {i}")

    async def nothing_seen(room: RoomId, ids: list[str]) -> set[str]:
        return set()

    async def fetch(room: str, token: str) -> RoomMessagesResponse | RoomMessagesError:
        return await fake.room_messages(room, token, limit=100)

    gap = await fill_gap(fetch, ROOM, "395", nothing_seen, BOT, max_pages=2)
    assert gap.capped
    assert [e.event_id for e in gap.events] == [f"$e{i}" for i in range(196, 396)]


async def test_a_busy_room_does_not_hold_up_another_room() -> None:
    gate = asyncio.Event()
    handled: list[tuple[RoomId, str]] = []

    async def handle(room: RoomId, event: Any) -> None:
        if event.event_id == "$slow":
            await gate.wait()
        handled.append((room, event.event_id))

    progress = Progress()
    queues = RoomQueues(handle, progress, size=100)
    batch = progress.open("t1")
    await queues.put(ROOM, [Ev("$slow"), Ev("$after-slow")], batch)
    await queues.put(OTHER, [Ev("$calm-1"), Ev("$calm-2")], batch)
    progress.seal(batch)
    async with asyncio.timeout(5):
        while len(handled) < 2:
            await asyncio.sleep(0.01)
    assert handled == [(OTHER, "$calm-1"), (OTHER, "$calm-2")]
    assert progress.committed is None  # the slow event is not done: no position past it
    gate.set()
    async with asyncio.timeout(5):
        while progress.committed != "t1":
            await asyncio.sleep(0.01)
    assert handled[2:] == [(ROOM, "$slow"), (ROOM, "$after-slow")]


async def test_a_full_room_queue_makes_the_reader_wait() -> None:
    gate = asyncio.Event()

    async def handle(room: RoomId, event: Any) -> None:
        await gate.wait()

    progress = Progress()
    queues = RoomQueues(handle, progress, size=2)
    batch = progress.open("t1")
    put = asyncio.create_task(queues.put(ROOM, [Ev(f"$e{i}") for i in range(6)], batch))
    await asyncio.sleep(0.05)
    assert not put.done() and queues.queued() == 2
    gate.set()
    async with asyncio.timeout(5):
        await put
    await queues.close(grace=1)


class Ev:
    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
