"""Worst-case cost of one hostile message: no input may stall the bot for everyone.

    python bench/bench_adversarial.py [--repeat 3]

Feeds messages of 64 KiB (Matrix's event limit) and of just under the bot's own limits
(longest command, longest question: those are read in full) through what the bot
does with every text message: the Matrix adapter's reading of the body (reply fallback,
mention) and the dispatcher with the real handlers over the shell transport, as a member and
as a coordinator, in a group room and in a direct chat. Prints the time of each input (the
best of `--repeat` runs) and the worst of all. Target: every message under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.matrix.incoming import addressed_text
from bot.adapters.shell import ShellTransport
from bot.app import build_dispatcher
from bot.core.dispatcher import MAX_MESSAGE, Dispatcher
from bot.core.messages import EventId, Incoming, RoomId, UserId
from bot.services import build_services
from bot.text.analyzer import word_frequency
from config.settings import Settings
from storage.questions import MAX_QUESTION_CHARS as MAX_QUESTION

MEMBER = UserId("@member:localhost")
COORDINATOR = UserId("@coordinator:localhost")
BOT_NAMES = ("bot:localhost", "bot", "Initiative-Bot")


SIZES = (65_536, MAX_MESSAGE - 20, MAX_QUESTION - 10)


def fill(unit: str, size: int) -> str:
    """`unit` repeated to about `size` bytes (characters, for ASCII)."""
    return (unit * (size // len(unit.encode()) + 1))[:size]


def inputs(size: int) -> dict[str, str]:
    rng = random.Random(7)
    unicode_soup = "".join(
        chr(rng.choice((rng.randint(32, 0x2FFF), rng.randint(0x1F300, 0x1FAFF))))
        for _ in range(size // 4)
    )
    return {
        "question of 'zu zu zu'": "!frage " + fill("zu ", size),
        "question of phrase words": "!frage " + fill("am besten oder so ", size),
        "question of stop words": "!frage " + fill("was ist das denn eigentlich ", size),
        "one long compound": "!frage " + fill("Wasserstoffindustrieinitiative", size),
        "hyphen chain": "!frage " + fill("wasser-stoff-", size),
        "random unicode": "!frage " + unicode_soup,
        "question marks": "!frage " + fill("? ", size),
        "sentences": "!frage " + fill("Wir sind neu. Wer hilft? ", size),
        "many questions": "!frage "
        + fill("Wer hat euch beauftragt, und wie lange lief das? ", size),
        "plain direct message": fill("Wer sitzt im Fachbeirat und warum ", size),
        "16k quote lines (group)": "> " + "\n> " * 16_000 + "\nhallo",
        "quote lines, no end (group)": fill("> x\n", size),
        "mentions": fill("@bot @bot: bot, ", size),
        "search initiatives": "!initiativen " + fill("Wasserstoff Region ", size),
        "match initiatives": "!passend " + fill("Fachkräfte Digitalisierung ", size),
        "feedback comment": "!feedback 1 5 " + fill("sehr gut ", size),
        "unknown command": "!" + fill("x", size),
        "webinar add (coordinator)": "!webinar add 03.12.2030 14:00 | " + fill("Titel ", size),
        "faq answer (coordinator)": "!faq antwort 1 " + fill("Antwort ", size),
        "initiative add (coordinator)": "!initiative add X | Y | " + fill("Thema; ", size),
    }


def incoming(body: str, user: UserId, number: int, direct: bool) -> Incoming:
    return Incoming(
        room_id=RoomId("!room"),
        sender=user,
        event_id=EventId(f"$bench-{number}"),
        body=body,
        sent_at=datetime.now(UTC),
        direct=direct,
    )


async def main(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite+aiosqlite:///{Path(tmp)}/bot.db",
            store_path=Path(tmp) / "store",
            coordinators=[COORDINATOR],
            user_id="@bot:localhost",
            http_port=0,
        )
        services = await build_services(settings)
        word_frequency()  # as the service does at start
        dispatcher: Dispatcher = build_dispatcher(services, flood=False)
        transport = ShellTransport(coordinator=False)
        worst = ("", 0.0)
        counter = 0
        try:
            cases = [(label, body) for size in SIZES for label, body in inputs(size).items()]
            for label, body in cases:
                user = COORDINATOR if "coordinator" in label else MEMBER
                direct = "group" not in label
                best = float("inf")
                for _ in range(repeat):
                    counter += 1
                    started = time.perf_counter()
                    text, mentioned = addressed_text(body, BOT_NAMES, mentioned=False)
                    msg = incoming(text, user, counter, direct or mentioned)
                    await dispatcher.handle(msg, transport, record=True)
                    best = min(best, (time.perf_counter() - started) * 1000)
                print(f"{label:32} {len(body.encode()):>7} bytes {best:8.1f} ms")
                if best > worst[1]:
                    worst = (label, best)
        finally:
            await services.db.dispose()
        print(f"worst: {worst[0]} {worst[1]:.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.repeat))
