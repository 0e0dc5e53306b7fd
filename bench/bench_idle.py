"""Memory of `initiative-bot run` at rest, over a local Synapse.

    python bench/bench_idle.py [--idle 20]

Starts a throwaway Synapse on 127.0.0.1 and the bot as a subprocess (with and without
end-to-end encryption), has a member ask one question in a room (so that answering has been
loaded), lets the bot idle, and prints its resident memory (VmRSS) and its peak (VmHWM): at the
first start (which migrates the new database) and after a restart (the usual case).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.demo.homeserver import LocalSynapse

ROOT = Path(__file__).resolve().parent.parent


def _memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


async def measure(
    synapse: LocalSynapse, directory: Path, e2ee: str, idle: float
) -> list[dict[str, float]]:
    """The bot's memory at rest: at its first start, then after a restart."""
    from tests.integration.botproc import new_bot  # the test kit: bot process, member client
    from tests.integration.synapse import create_room, new_member, send_text, wait_for_event

    member = await new_member(synapse, f"member-{e2ee}")
    bot = await new_bot(synapse, directory, f"bot-{e2ee}", e2ee=e2ee)
    room = await create_room(member, invite=[bot.user_id], name="Lobby")
    figures = []
    try:
        for _ in ("first start", "restart"):
            await bot.start()
            asked = await send_text(member, room, "!frage Wer hat die Servicestelle beauftragt?")

            def answered(event: Any, asked: str = asked) -> bool:
                relates = event.source.get("content", {}).get("m.relates_to") or {}
                reply = (relates.get("m.in_reply_to") or {}).get("event_id")
                return event.sender == bot.user_id and reply == asked

            await wait_for_event(member, room, answered, 60)
            await asyncio.sleep(idle)
            assert bot.process is not None
            figures.append(_memory(bot.process.pid))
            assert await bot.stop() == 0, bot.log_tail()
    finally:
        if bot.process is not None and bot.process.poll() is None:
            await bot.stop()
        await member.close()
    return figures


async def main(idle: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        async with LocalSynapse(directory / "synapse") as synapse:
            for e2ee in ("false", "true"):
                first, again = await measure(synapse, directory / f"bot-{e2ee}", e2ee, idle)
                for when, figures in (("first start", first), ("restart", again)):
                    print(
                        f"e2ee {e2ee:<5} {when:<11}: idle RSS {figures['VmRSS']:.0f} MiB, "
                        f"peak {figures['VmHWM']:.0f} MiB (one answer, then {idle:.0f} s idle)"
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=float, default=20)
    sys.path.insert(0, str(ROOT))  # for the test kit
    logging.getLogger("nio").setLevel(logging.ERROR)
    asyncio.run(main(parser.parse_args().idle))
