"""Throughput of a flooded bot over a local Synapse: one busy room, and ten rooms at once.

    python bench/bench_throughput.py [--commands 300] [--members 6]

Starts a throwaway Synapse on 127.0.0.1 (relaxed rate limits) and the bot as a subprocess.
Members send `!frage` questions as fast as the homeserver takes them, first all into one
room, then spread over ten rooms. Times come from the homeserver's timestamps of each question
and its reply. Prints commands per second, the time from the last question to the last reply
(target ≤ 30 s for 300 questions), and the longest time a reply took once the burst was over
(target ≤ 10 s); also checks that every question got exactly one reply.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from nio import RoomMessagesResponse

from bot.demo.homeserver import LocalSynapse

if TYPE_CHECKING:
    from tests.integration.botproc import BotProcess
    from tests.integration.synapse import MemberClient

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Was ist das BZdI?",
    "Wer sitzt im Fachbeirat?",
    "Wie viele Initiativen wurden erreicht?",
    "Welche Webinare gab es?",
    "What did the service centre do?",
]


async def history(client: MemberClient, room_id: str) -> list[object]:
    events: list[object] = []
    token = ""
    while True:
        page = await client.room_messages(room_id, start=token, limit=500)
        assert isinstance(page, RoomMessagesResponse), page
        events.extend(page.chunk)
        if not page.chunk or not page.end:
            return events[::-1]
        token = page.end


def reply_target(event: object) -> str | None:
    relates = getattr(event, "source", {}).get("content", {}).get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


async def flood(pairs: list[tuple[MemberClient, str]], per_member: int) -> list[str]:
    from tests.integration.synapse import send_text

    async def one(member: MemberClient, room_id: str, number: int) -> list[str]:
        return [
            await send_text(member, room_id, f"!frage {QUESTIONS[i % len(QUESTIONS)]} ({number})")
            for i in range(per_member)
        ]

    sent = await asyncio.gather(*(one(m, r, n) for n, (m, r) in enumerate(pairs)))
    return [event_id for ids in sent for event_id in ids]


async def replied_to_all(http_url: str, total: int) -> None:
    """Until the bot's metrics count `total` replies (asking its HTTP port, not the
    homeserver, so that waiting adds no load to the homeserver)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            async with http.get(f"{http_url}/metrics") as resp:
                text = await resp.text()
            counts = [
                float(line.split()[-1])
                for line in text.splitlines()
                if line.startswith("bot_reply_latency_seconds_count")
            ]
            if counts and counts[0] >= total:
                return
            await asyncio.sleep(0.5)
    raise SystemExit("the bot did not answer every question")


async def measure(
    label: str,
    pairs: list[tuple[MemberClient, str]],
    per_member: int,
    bot: BotProcess,
    already: int,
) -> None:
    commands = await flood(pairs, per_member)
    wanted = set(commands)
    rooms = sorted({room for _, room in pairs})
    reader = {room: member for member, room in pairs}
    await replied_to_all(bot.http_url, len(commands) + already)
    events = [e for room in rooms for e in await history(reader[room], room)]
    replies = [e for e in events if getattr(e, "sender", "") == bot.user_id and reply_target(e)]
    if not {reply_target(e) for e in replies} >= wanted:
        raise SystemExit(f"{label}: not every question was answered")
    sent_at = {e.event_id: e.server_timestamp / 1000 for e in events if e.event_id in wanted}  # type: ignore[attr-defined]
    answered = Counter(reply_target(e) for e in replies)
    doubled = sum(1 for event_id in wanted if answered[event_id] > 1)
    reply_at = {reply_target(e): e.server_timestamp / 1000 for e in replies}  # type: ignore[attr-defined]
    first, burst_end = min(sent_at.values()), max(sent_at.values())
    last_reply = max(reply_at[c] for c in commands)
    latencies = [reply_at[c] - sent_at[c] for c in commands]
    after_burst = [reply_at[c] - max(sent_at[c], burst_end) for c in commands]
    print(f"{label}: {len(commands)} questions in {len(rooms)} room(s), {doubled} answered twice")
    rate = len(commands) / (last_reply - first)
    print(f"  sent within {burst_end - first:5.1f} s; {rate:5.1f} commands/s")
    print(f"  last reply {last_reply - burst_end:5.1f} s after the last question (target ≤ 30 s)")
    print(
        f"  reply latency median {statistics.median(latencies):5.2f} s, max {max(latencies):5.2f} s"
    )
    print(f"  longest wait once the burst was over: {max(after_burst):5.2f} s (target ≤ 10 s)")


async def main(commands: int, members: int) -> None:
    from tests.integration.botproc import new_bot  # the test kit: bot process, member clients
    from tests.integration.synapse import create_room, new_member, wait_for_event
    from tests.integration.test_foundation import join, membership_of

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        async with LocalSynapse(directory / "synapse") as synapse:
            people = [await new_member(synapse, f"member{n}") for n in range(members)]
            bot = await new_bot(synapse, directory / "bot", "bot", e2ee="false")
            await bot.start()
            try:
                one_room = await create_room(people[0], invite=[bot.user_id], name="busy")
                await wait_for_event(people[0], one_room, membership_of(bot.user_id, "join"), 30)
                for person in people[1:]:
                    await people[0].room_invite(one_room, person.user_id)
                    await join(person, one_room)
                per_member = commands // members
                await measure("one room", [(p, one_room) for p in people], per_member, bot, 0)

                rooms = []
                for index in range(10):
                    owner = people[index % members]
                    room = await create_room(owner, invite=[bot.user_id], name=f"room{index}")
                    await wait_for_event(owner, room, membership_of(bot.user_id, "join"), 30)
                    rooms.append((owner, room))
                await measure("ten rooms", rooms, commands // len(rooms), bot, commands)
            finally:
                await bot.stop()
                for person in people:
                    await person.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--members", type=int, default=6)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # for the test kit
    logging.getLogger("nio").setLevel(logging.ERROR)
    asyncio.run(main(args.commands, args.members))
