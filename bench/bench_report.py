"""Benchmark of the funder report over one year of data.

    python bench/bench_report.py [--initiatives 100] [--events 200] [--questions 20000]

Fills a fresh SQLite database directly through the models (100 initiatives, 200 events with
ratings and comments, 20,000 questions with their outcomes, a share of them unanswered in
groups), then times building the report of the whole year (figures, charts, PDF).
Target: < 3 s. Prints the time and the PDF's size.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.reports.build import build_report
from bot.reports.period import parse_period
from bot.services import build_services
from config.settings import Settings
from storage.models import (
    CalendarEvent,
    EventPost,
    FeedbackComment,
    FeedbackRating,
    Initiative,
    Introduction,
    QuestionGroup,
    UnansweredQuestion,
    UsageRecord,
)

YEAR = 2026
LANDS = ["Bayern", "Sachsen", "Brandenburg", "Thüringen", "Nordrhein-Westfalen", "Hessen", None]
KINDS = ["webinar", "workshop", "conference", "meeting"]
OUTCOMES = ["answer"] * 6 + ["partial", "ask", "unknown", "unknown"]
LANGUAGES = ["de"] * 8 + ["en", "de-simple"]


def moment(rng: random.Random) -> datetime:
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    return start + timedelta(seconds=rng.randrange(364 * 86400))


async def fill(services_settings: Settings, args: argparse.Namespace) -> None:
    rng = random.Random(17)
    services = await build_services(services_settings)
    try:
        async with services.db.transaction() as session:
            await session.execute(
                insert(Initiative),
                [
                    {
                        "name": f"Initiative {n}",
                        "name_key": f"initiative {n}",
                        "region": "Region",
                        "bundesland": rng.choice(LANDS),
                        "topics": "Wasserstoff",
                        "description": "",
                        "created_at": moment(rng),
                        "updated_at": moment(rng),
                    }
                    for n in range(args.initiatives)
                ],
            )
            await session.execute(
                insert(Introduction),
                [
                    {"first_id": n + 1, "second_id": n + 2, "introduced_at": moment(rng)}
                    for n in range(0, min(args.initiatives - 1, 40), 2)
                ],
            )
            events = [
                {
                    "kind": rng.choice(KINDS),
                    "title": f"Veranstaltung {n}",
                    "starts_at": moment(rng),
                    "minutes": 60,
                    "status": "cancelled" if n % 25 == 0 else "scheduled",
                    "created_by": "@coord:localhost",
                    "created_at": datetime(YEAR, 1, 1, tzinfo=UTC),
                    "updated_at": datetime(YEAR, 1, 1, tzinfo=UTC),
                }
                for n in range(args.events)
            ]
            await session.execute(insert(CalendarEvent), events)
            ratings, comments, posts = [], [], []
            for event_id in range(1, args.events + 1):
                posts.append(
                    {
                        "event_id": event_id,
                        "slot": "feedback",
                        "kind": "feedback",
                        "room_id": "!news",
                        "txn_id": f"t{event_id}",
                        "state": "sent",
                        "due_at": datetime(YEAR, 1, 1, tzinfo=UTC),
                        "members": rng.randrange(40, 120),
                    }
                )
                for rater in range(rng.randrange(0, 25)):
                    ratings.append(
                        {
                            "event_id": event_id,
                            "pseudonym": f"p{rater}",
                            "stars": rng.choice((2, 3, 4, 4, 5, 5)),
                            "source": "reaction",
                            "updated_at": datetime(YEAR, 1, 1, tzinfo=UTC),
                        }
                    )
                for n in range(rng.randrange(0, 4)):
                    comments.append(
                        {
                            "event_id": event_id,
                            "pseudonym": f"p{n}",
                            "text": "gut",
                            "created_at": datetime(YEAR, 6, 1, tzinfo=UTC),
                        }
                    )
            await session.execute(insert(EventPost), posts)
            await session.execute(insert(FeedbackRating), ratings)
            await session.execute(insert(FeedbackComment), comments)
            usage = [
                {
                    "kind": "question",
                    "outcome": rng.choice(OUTCOMES),
                    "language": rng.choice(LANGUAGES),
                    "at": moment(rng),
                }
                for _ in range(args.questions)
            ]
            usage += [
                {"kind": "match", "outcome": "found", "language": "de", "at": moment(rng)}
                for _ in range(args.questions // 20)
            ]
            await session.execute(insert(UsageRecord), usage)
            groups = args.questions // 40
            await session.execute(
                insert(QuestionGroup),
                [
                    {
                        "text": f"Offene Frage Nummer {n} zu Förderung und Fachkräften?",
                        "language": "de",
                        "terms": "",
                        "asked_count": 0,
                        "first_asked_at": datetime(YEAR, 1, 1, tzinfo=UTC),
                        "last_asked_at": datetime(YEAR, 1, 1, tzinfo=UTC),
                        "state": "answered" if n % 5 == 0 else "open",
                    }
                    for n in range(groups)
                ],
            )
            await session.execute(
                insert(UnansweredQuestion),
                [
                    {
                        "group_id": 1 + int(rng.paretovariate(1.2)) % groups,
                        "pseudonym": f"p{n % 500}",
                        "text": "Frage",
                        "language": "de",
                        "asked_at": moment(rng),
                    }
                    for n in range(args.questions // 4)
                ],
            )
    finally:
        await services.db.dispose()


async def measure(settings: Settings, runs: int) -> None:
    services = await build_services(settings)
    period = parse_period(str(YEAR))
    now = datetime(YEAR + 1, 1, 2, tzinfo=UTC)
    try:
        timings, size = [], 0
        for _ in range(runs):
            began = time.perf_counter()
            async with services.db.read() as session:
                report = await build_report(session, services.texts, settings, period, "de", now)
            timings.append(time.perf_counter() - began)
            size = len(report.pdf)
        print(f"report over {YEAR}: first build {timings[0]:.2f} s (matplotlib loaded then)")
        if len(timings) > 1:
            print(
                f"report over {YEAR}: later builds {min(timings[1:]):.2f} s best, "
                f"{max(timings[1:]):.2f} s worst (target < 3 s)"
            )
        print(f"PDF size: {size / 1024:.0f} KiB, chart PNG: {len(report.chart) / 1024:.0f} KiB")
    finally:
        await services.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--initiatives", type=int, default=100)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--questions", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}",
            store_path=Path(folder) / "store",
        )
        began = time.perf_counter()
        asyncio.run(fill(settings, args))
        print(
            f"filled {args.initiatives} initiatives, {args.events} events, "
            f"{args.questions} questions in {time.perf_counter() - began:.1f} s"
        )
        asyncio.run(measure(settings, args.runs))


if __name__ == "__main__":
    main()
