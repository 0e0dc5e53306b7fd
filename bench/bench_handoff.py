"""Time from a coordinator's answer in the coordination room to its relay to the askers, over
a local Synapse.

    python bench/bench_handoff.py [--rounds 10]

Starts a throwaway Synapse on 127.0.0.1, the bot as a subprocess with a coordination room, a
coordinator and two askers (one in a group room, one in a direct chat). Each round both ask a
new question the bot cannot answer, the coordinator replies to its post, and both relays are
timed by the homeserver's clock (origin_server_ts of the answer and of each relay). Prints the
median and p95.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nio import RoomMemberEvent

from bot.demo.homeserver import LocalSynapse

if TYPE_CHECKING:
    from tests.integration.synapse import MemberClient

ROOT = Path(__file__).resolve().parent.parent
RELAY = "Antwort des Koordinationsteams"


def _relates(event: Any) -> dict[str, Any]:
    found: dict[str, Any] = event.source.get("content", {}).get("m.relates_to") or {}
    return found


def _reply_to(event: Any) -> str | None:
    return (_relates(event).get("m.in_reply_to") or {}).get("event_id")


async def _joined(client: MemberClient, room_id: str, user_id: str) -> None:
    from tests.integration.synapse import wait_for_event

    def matches(event: Any) -> bool:
        return (
            isinstance(event, RoomMemberEvent)
            and event.state_key == user_id
            and event.membership == "join"
        )

    await wait_for_event(client, room_id, matches, 30)


async def _round(
    bot_id: str,
    coordinator: MemberClient,
    askers: list[tuple[MemberClient, str]],
    coordination: str,
) -> list[float]:
    from tests.integration.synapse import send_text, wait_for_event

    word = f"zq{uuid.uuid4().hex[:10]}"
    question = f"!frage Gibt es {word} Förderung für {word}?"
    asked = [await send_text(client, room, question) for client, room in askers]

    def is_post(event: Any) -> bool:
        body = str(event.source.get("content", {}).get("body", ""))
        return event.sender == bot_id and body.startswith("Frage #") and word in body

    post = await wait_for_event(coordinator, coordination, is_post, 30)
    resp = await coordinator.room_send(
        coordination,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": f"Nein, {word} fördern wir nicht.",
            "m.relates_to": {"m.in_reply_to": {"event_id": post.event_id}},
        },
    )
    answer = await coordinator.room_get_event(coordination, resp.event_id)
    seconds = []
    for (client, room), event_id in zip(askers, asked, strict=True):

        def is_relay(event: Any, event_id: str = event_id) -> bool:
            body = str(event.source.get("content", {}).get("body", ""))
            return (
                event.sender == bot_id and body.startswith(RELAY) and _reply_to(event) == event_id
            )

        relay = await wait_for_event(client, room, is_relay, 30)
        seconds.append((relay.server_timestamp - answer.event.server_timestamp) / 1000)
    return seconds


async def main(rounds: int) -> None:
    from tests.integration.botproc import new_bot  # the test kit: bot process, member client
    from tests.integration.synapse import create_room, new_member

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        async with LocalSynapse(directory / "synapse") as synapse:
            coordinator = await new_member(synapse, "coord")
            in_room = await new_member(synapse, "asker")
            in_direct = await new_member(synapse, "dm-asker")
            bot = await new_bot(
                synapse, directory / "bot", "bot", coordinators=coordinator.user_id, e2ee="false"
            )
            coordination = await create_room(coordinator, invite=[bot.user_id], name="Koord")
            bot.env["BOT_COORDINATION_ROOM"] = coordination
            await bot.start()
            times: list[float] = []
            try:
                await _joined(coordinator, coordination, bot.user_id)
                lobby = await create_room(
                    in_room, invite=[bot.user_id, coordinator.user_id], name="Lobby"
                )
                await _joined(in_room, lobby, bot.user_id)
                await coordinator.join(lobby)
                direct = await create_room(in_direct, invite=[bot.user_id], direct=True)
                await _joined(in_direct, direct, bot.user_id)
                askers = [(in_room, lobby), (in_direct, direct)]
                for _ in range(rounds):
                    times += await _round(bot.user_id, coordinator, askers, coordination)
            finally:
                await bot.stop()
                for client in (coordinator, in_room, in_direct):
                    await client.close()
    ms = sorted(t * 1000 for t in times)
    slow = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0]
    print(f"rounds: {rounds}, relays: {len(ms)} (one room asker, one direct-chat asker)")
    print(f"answer → relay: median {statistics.median(ms):.0f} ms, p95 {slow:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    sys.path.insert(0, str(ROOT))  # for the test kit
    logging.getLogger("nio").setLevel(logging.ERROR)
    asyncio.run(main(parser.parse_args().rounds))
