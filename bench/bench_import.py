"""The initiatives directory end to end at 10,000 initiatives: CSV import and `!passend`.

    python bench/bench_import.py [--count 10000]

Imports a synthetic CSV through the same path as `initiative-bot initiatives import` (parse,
validate, upsert into SQLite, rebuild the matcher), then sends `!passend` through the real
dispatcher. Prints import time, p50/p99 of `!passend` and resident memory growth.
Targets: import under 5 s, `!passend` p99 under 20 ms, memory growth under 100 MB.
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
from bot.app import build_dispatcher, build_services  # noqa: E402
from bot.initiative_csv import write_initiatives_csv  # noqa: E402
from bot.shell import ShellTransport  # noqa: E402
from bot.types import EventId, Incoming, RoomId, UserId  # noqa: E402
from config.settings import Settings  # noqa: E402
from handlers.initiatives import import_csv  # noqa: E402


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
        gc.collect()
        grown = rss_mb() - before
        print(
            f"import   {count} rows: {took:.2f} s "
            f"({result.created} created, {len(result.errors)} errors)"
        )
        print(f"memory   + {grown:.1f} MB resident after import")
        dispatcher = build_dispatcher(services, flood=False)
        transport = ShellTransport(coordinator=False)
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
