"""The initiatives directory end to end at 10,000 initiatives: CSV import and `!passend`.

    python bench/bench_import.py [--count 10000]

Imports a synthetic CSV through the same path as `initiative-bot initiatives import` (parse,
validate, upsert into SQLite), then sends `!passend` through the real dispatcher: the first one
rebuilds the matcher (in a worker thread; the longest pause of the event loop meanwhile is
printed), the rest are timed. Prints import time, rebuild time, p50/p99 of `!passend` and
resident memory growth. Targets: import plus rebuild under 5 s, `!passend` p99 under 20 ms,
memory growth under 100 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_matching import rss_mb, synthetic_rows  # noqa: E402
from bot.adapters.shell import ShellTransport  # noqa: E402
from bot.app import build_dispatcher, build_services  # noqa: E402
from bot.core.messages import EventId, Incoming, RoomId, UserId  # noqa: E402
from bot.initiatives.csv_import import import_csv  # noqa: E402
from bot.initiatives.csv_io import write_initiatives_csv  # noqa: E402
from config.settings import Settings  # noqa: E402


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp}/b.db")  # type: ignore[call-arg]
        services = await build_services(settings)
        rows = synthetic_rows(count, services.directory.taxonomy, random.Random(1))
        data = write_initiatives_csv(rows).encode()
        gc.collect()
        before = rss_mb()
        started = time.perf_counter()
        result = await import_csv(services, data, skip_invalid=False)
        took = time.perf_counter() - started
        print(
            f"import   {count} rows: {took:.2f} s "
            f"({result.created} created, {len(result.errors)} errors)"
        )
        dispatcher = build_dispatcher(services, flood=False)
        transport = ShellTransport(coordinator=False)
        pauses = [0.0]

        async def tick() -> None:  # how long the event loop is kept from other work
            while True:
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                pauses.append(time.perf_counter() - t - 0.01)

        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        first = Incoming(
            RoomId("!b"),
            UserId("@u:x"),
            EventId("$first"),
            "!passend Wasserstoff",
            datetime.now(UTC),
            True,
        )
        await dispatcher.handle(first, transport)
        rebuilt = time.perf_counter() - started
        ticker.cancel()
        print(
            f"rebuild  first !passend after the import: {rebuilt:.2f} s "
            f"(import + rebuild {took + rebuilt:.2f} s; longest event-loop pause "
            f"{max(pauses) * 1000:.0f} ms)"
        )
        gc.collect()
        print(f"memory   + {rss_mb() - before:.1f} MB resident after import and rebuild")
        rng = random.Random(2)
        times = []
        for n in range(300):
            body = (
                f"!passend {rng.choice(rows).name}" if n % 2 else "!passend Wasserstoff Fachkräfte"
            )
            msg = Incoming(
                RoomId("!b"), UserId("@u:x"), EventId(f"$b{n}"), body, datetime.now(UTC), True
            )
            t = time.perf_counter()
            await dispatcher.handle(msg, transport)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p99 = times[int(len(times) * 0.99) - 1]
        print(f"!passend n=300 p50 {statistics.median(times):.2f} ms  p99 {p99:.2f} ms")
        await services.db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().count))
