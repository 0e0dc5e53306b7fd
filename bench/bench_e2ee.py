"""Reply latency of `!hilfe` in an encrypted room versus a plain one, over a local Synapse.

    python bench/bench_e2ee.py [--rounds 30]

Starts a throwaway Synapse on 127.0.0.1, the bot as a subprocess (end-to-end encryption on)
and a member whose client encrypts. The member alternates between the two rooms and measures
from sending the command to holding the bot's (decrypted) reply. Prints the median and p95 of
each and the ratio of the medians. Target: ratio ≤ 1.2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nio import RoomMemberEvent

from bot.demo.homeserver import LocalSynapse

if TYPE_CHECKING:
    from tests.integration.synapse import MemberClient

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 3


async def reply_seconds(member: MemberClient, room_id: str, bot_id: str) -> float:
    from tests.integration.synapse import send_text, wait_for_event

    started = time.perf_counter()
    event_id = await send_text(member, room_id, "!hilfe")

    def is_reply(event: object) -> bool:
        source = getattr(event, "source", {})
        relates = source.get("content", {}).get("m.relates_to") or {}
        return (
            getattr(event, "sender", None) == bot_id
            and (relates.get("m.in_reply_to") or {}).get("event_id") == event_id
            and "body" in source.get("content", {})  # decrypted, not just the envelope
        )

    await wait_for_event(member, room_id, is_reply, 30)
    return time.perf_counter() - started


async def room_with_bot(member: MemberClient, bot_id: str, *, encrypted: bool) -> str:
    from tests.integration.synapse import create_room, sync_once, wait_for_event

    name = "verschlüsselt" if encrypted else "offen"
    room_id = await create_room(member, invite=[bot_id], name=name, encrypted=encrypted)

    def bot_joined(event: object) -> bool:
        return (
            isinstance(event, RoomMemberEvent)
            and event.state_key == bot_id
            and event.membership == "join"
        )

    await wait_for_event(member, room_id, bot_joined, 30)
    await sync_once(member, timeout_ms=0)  # the bot's device keys
    return room_id


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def main(rounds: int) -> None:
    from tests.integration.botproc import new_bot  # the test kit: bot process, member client
    from tests.integration.synapse import new_member

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        async with LocalSynapse(directory / "synapse") as synapse:
            member = await new_member(synapse, "member", store_path=directory / "member-store")
            bot = await new_bot(synapse, directory / "bot", "bot", flood_burst="1000")
            await bot.start()
            try:
                plain = await room_with_bot(member, bot.user_id, encrypted=False)
                secret = await room_with_bot(member, bot.user_id, encrypted=True)
                times: dict[str, list[float]] = {plain: [], secret: []}
                for index in range(WARMUP + rounds):
                    for room_id in (plain, secret) if index % 2 else (secret, plain):
                        seconds = await reply_seconds(member, room_id, bot.user_id)
                        if index >= WARMUP:
                            times[room_id].append(seconds)
            finally:
                await bot.stop()
                await member.close()
    plain_ms = [t * 1000 for t in times[plain]]
    secret_ms = [t * 1000 for t in times[secret]]
    ratio = statistics.median(secret_ms) / statistics.median(plain_ms)
    print(f"rounds: {rounds} per room (after {WARMUP} warm-up rounds)")
    for label, values in (("plain room", plain_ms), ("encrypted room", secret_ms)):
        median, slow = statistics.median(values), p95(values)
        print(f"{label + ':':16} median {median:6.1f} ms, p95 {slow:6.1f} ms")
    print(f"ratio encrypted/plain (medians): {ratio:.2f} (target ≤ 1.2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    sys.path.insert(0, str(ROOT))  # for the test kit
    logging.getLogger("nio").setLevel(logging.ERROR)  # the member client's key chatter
    asyncio.run(main(parser.parse_args().rounds))
