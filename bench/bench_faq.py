"""Benchmark of the unanswered questions with 100,000 stored (in 5,000 groups).

    python bench/bench_faq.py [--questions 100000] [--groups 5000] [--runs 200]

Fills a fresh SQLite database with questions worded in varied ways (reordered, other question
words, a word left out, a context sentence, a typo) in groups of skewed size, then times
`!faq unbeantwortet` through the dispatcher, filing one new question (bot.questions alone) and
a whole `!frage` that ends unanswered. Also shows how often a new variant finds its group.
Target: `!faq unbeantwortet` p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bot.adapters.shell import ShellTransport
from bot.app import build_dispatcher
from bot.core.dispatcher import Dispatcher
from bot.core.messages import EventId, Incoming, RoomId, UserId
from bot.knowledge.questions import Filed, file_question, group_terms
from bot.services import Services, build_services
from bot.text.analyzer import word_frequency
from config.settings import Settings
from storage.models import QuestionGroup, QuestionGroupTerm, UnansweredQuestion

SYLLABLES = "ber ga to lin mus kra fen sto wer dal rei ton vel min kor sta bur han lo ne".split()
TEMPLATES = (
    "Gibt es {a} für {b}?",
    "Wo finde ich {a} zum Thema {b} {c}?",
    "Wer kennt sich mit {a} und {b} aus?",
    "Wann gibt es wieder {a} in {b}?",
    "Kann mir jemand {a} zu {b} {c} erklären?",
)
CONTEXT = ("Wir sind eine Initiative aus Kassel.", "Ich bin neu hier.", "Kurze Frage:")
COORDINATOR = UserId("@coord:localhost")
ROOM = RoomId("!bench:localhost")


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def typo(text: str, rng: random.Random) -> str:
    position = rng.randrange(1, max(2, len(text) - 1))
    return text[:position] + text[position + 1 :]


def variant(words: list[str], rng: random.Random) -> str:
    """One way of asking about `words`."""
    chosen = list(words)
    if len(chosen) > 2 and rng.random() < 0.15:
        chosen.pop(rng.randrange(len(chosen)))
    if rng.random() < 0.3:
        rng.shuffle(chosen)
    a, b, c = [*chosen, "", ""][:3]
    text = rng.choice(TEMPLATES).format(a=a.title(), b=b, c=c).replace("  ", " ")
    if rng.random() < 0.2:
        text = f"{rng.choice(CONTEXT)} {text}"
    if rng.random() < 0.1:
        parts = text.split()
        longest = max(range(len(parts)), key=lambda i: len(parts[i]))
        parts[longest] = typo(parts[longest], rng)
        text = " ".join(parts)
    return text


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {statistics.median(samples):6.2f} ms   p99 {cuts[98]:6.2f} ms"


async def timed(runs: int, work: Callable[[int], Awaitable[object]]) -> list[float]:
    samples = []
    for run in range(runs):
        started = time.perf_counter()
        await work(run)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def fill(
    services: Services, topics: list[list[str]], questions: int, rng: random.Random
) -> None:
    now = datetime.now(UTC)
    sizes = [0] * len(topics)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(topics))]
    for chosen in rng.choices(range(len(topics)), weights=weights, k=questions - len(topics)):
        sizes[chosen] += 1
    groups, terms, rows = [], [], []
    for number, (words, extra) in enumerate(zip(topics, sizes, strict=True), start=1):
        first = variant(words, rng)
        kept = group_terms(services.knowledge.signature(first))
        asked = [now - timedelta(minutes=rng.randrange(60 * 24 * 170)) for _ in range(extra + 1)]
        asked.sort()
        groups.append(
            {
                "id": number,
                "text": first,
                "language": "de",
                "terms": " ".join(kept),
                "asked_count": extra + 1,
                "first_asked_at": asked[0],
                "last_asked_at": asked[-1],
                "state": "open",
            }
        )
        terms += [{"term": term, "group_id": number} for term in sorted(set(kept))]
        texts = [first] + [variant(words, rng) for _ in range(extra)]
        rows += [
            {
                "group_id": number,
                "pseudonym": f"{rng.getrandbits(256):064x}",
                "text": text,
                "language": "de",
                "asked_at": when,
            }
            for text, when in zip(texts, asked, strict=True)
        ]
    rng.shuffle(rows)
    rows.sort(key=lambda row: row["asked_at"])
    async with services.db.transaction() as session:
        await session.execute(insert(QuestionGroup), groups)
        await session.execute(insert(QuestionGroupTerm), terms)
        for start in range(0, len(rows), 10_000):
            await session.execute(insert(UnansweredQuestion), rows[start : start + 10_000])


async def bench(args: argparse.Namespace, folder: Path) -> None:
    rng = random.Random(11)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{folder}/bot.db",
        store_path=folder / "store",
        coordinators=[COORDINATOR],
        user_id="@bot:localhost",
        http_port=0,
    )
    services = await build_services(settings)
    word_frequency()  # as the service does at start
    try:
        vocabulary = sorted({word(rng) for _ in range(args.groups * 3)})
        topics = [rng.sample(vocabulary, rng.randint(2, 3)) for _ in range(args.groups)]
        started = time.perf_counter()
        await fill(services, topics, args.questions, rng)
        print(
            f"filled {args.questions:,} questions in {args.groups:,} groups "
            f"in {time.perf_counter() - started:.1f} s"
        )
        dispatcher = build_dispatcher(services, flood=False)
        await report(services, dispatcher, topics, args.runs, rng)
    finally:
        await services.db.dispose()


async def report(
    services: Services,
    dispatcher: Dispatcher,
    topics: list[list[str]],
    runs: int,
    rng: random.Random,
) -> None:
    transport = ShellTransport(coordinator=True)

    def message(body: str, sender: UserId, run: int) -> Incoming:
        event = EventId(f"$bench-{sender}-{run}-{rng.random()}")
        return Incoming(
            room_id=ROOM,
            sender=sender,
            event_id=event,
            body=body,
            sent_at=datetime.now(UTC),
            direct=True,
        )

    async def listing(run: int) -> None:
        [reply] = await dispatcher.handle(
            message("!faq unbeantwortet", COORDINATOR, run), transport
        )
        assert reply.text.count("\n#") == 20, reply.text[:200]

    await timed(10, listing)  # warm up
    print(f"!faq unbeantwortet ({runs}x):       {percentiles(await timed(runs, listing))}")

    outcomes: dict[str, int] = {}
    queries: list[float] = []

    async def file_one(run: int) -> None:
        number = rng.randrange(len(topics))
        text = variant(topics[number], rng)
        who = f"{rng.getrandbits(256):064x}"
        async with services.db.transaction() as session:
            started = time.perf_counter()
            filed = await file_question(session, services.knowledge, who, text, "de", now())
            queries.append((time.perf_counter() - started) * 1000)
        if filed is Filed.JOINED:
            async with services.db.read() as session:
                group = await session.scalar(
                    select(UnansweredQuestion.group_id).where(UnansweredQuestion.pseudonym == who)
                )
            outcome = "joined its group" if group == number + 1 else "joined another group"
        else:
            outcome = filed.value
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    def now() -> datetime:
        return services.clock()

    committed = await timed(runs * 5, file_one)
    print(f"filing one new question ({runs * 5}x): {percentiles(queries)}  (its queries)")
    print(f"  with its own commit:            {percentiles(committed)}")
    shares = ", ".join(f"{what} {count}" for what, count in sorted(outcomes.items()))
    print(f"  fresh variants of stored groups: {shares}")

    async def ask(run: int) -> None:
        number = rng.randrange(len(topics))
        sender = UserId(f"@member{run}:localhost")
        await dispatcher.handle(
            message(f"!frage {variant(topics[number], rng)}", sender, run), transport
        )

    print(f"whole !frage, unanswered ({runs}x):  {percentiles(await timed(runs, ask))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(bench(args, Path(folder)))


if __name__ == "__main__":
    main()
