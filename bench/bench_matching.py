"""Benchmark the initiatives directory at 10,000 initiatives.

    python bench/bench_matching.py [--count 10000] [--seed 1]

Prints: CSV parse time, Matcher build time, p50/p99 latency of similar, query, search and find,
and how much resident memory the parsed rows and the Matcher added. Targets: parse and build
under 5 s each, p99 under 20 ms, memory growth under 100 MB.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.initiatives.csv_io import parse_initiatives_csv, write_initiatives_csv
from bot.initiatives.matcher import (
    SHIPPED_TOPICS,
    Matcher,
    Taxonomy,
    load_taxonomy,
    taxonomy_vocabulary,
)
from bot.initiatives.regions import shipped_regions
from bot.text.analyzer import Analyzer, load_synonyms
from bot.text.lexicon import load_lexicon
from storage.initiatives import InitiativeRow

ROOT = Path(__file__).resolve().parent.parent
FILLER = (
    "Unternehmen Region gemeinsam Zukunft Betriebe Kommunen Austausch Projekte neue Wege "
    "Partner Veranstaltungen Menschen Arbeit Standort Wirtschaft Politik entwickeln stärken "
    "verbinden fördern zeigen Ideen Beispiele Treffen Kammer Verbund regional lokal Praxis"
).split()


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 1_000_000


def synthetic_rows(count: int, taxonomy: Taxonomy, rng: random.Random) -> list[InitiativeRow]:
    terms = [term.removeprefix("=") for c in taxonomy.concepts.values() for term in c.terms]
    places = [place for land in shipped_regions().laender for place in land.places]
    rows = []
    for number in range(count):
        place = rng.choice(places)
        invented = [f"{rng.choice(FILLER)}{rng.randrange(5000)}" for _ in range(3)]
        words = rng.sample(terms, 6) + rng.sample(FILLER, 12) + invented
        rng.shuffle(words)
        rows.append(
            InitiativeRow(
                name=f"{rng.choice(terms)} Initiative {place} {number}",
                region=place,
                topics=tuple(rng.sample(terms, rng.randint(1, 4))),
                description=" ".join(words) + ".",
                contact=f"@initiative{number}:localhost",
                website=f"https://example.org/{number}",
            )
        )
    return rows


def timed(label: str, calls: list[Callable[[], object]]) -> None:
    latencies = []
    for call in calls:
        start = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"{label:<8} n={len(calls)}  p50 {statistics.median(latencies):6.2f} ms  "
        f"p99 {p99:6.2f} ms  max {latencies[-1]:6.2f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    taxonomy = load_taxonomy(SHIPPED_TOPICS)
    lexicon = load_lexicon(ROOT / "config" / "lexicon")
    analyzer = Analyzer(
        load_synonyms(ROOT / "config" / "synonyms.yaml"), lexicon, taxonomy_vocabulary(taxonomy)
    )
    regions = shipped_regions()
    data = write_initiatives_csv(synthetic_rows(args.count, taxonomy, rng)).encode("utf-8")
    print(f"initiatives: {args.count}, CSV size {len(data) / 1_000_000:.1f} MB")
    gc.collect()
    before = rss_mb()

    start = time.perf_counter()
    parsed, errors = parse_initiatives_csv(data)
    print(
        f"parse    {time.perf_counter() - start:6.2f} s  ({len(parsed)} rows, {len(errors)} errors)"
    )
    rows = [row for _, row in parsed]

    start = time.perf_counter()
    matcher = Matcher(rows, analyzer, taxonomy, regions)
    print(f"build    {time.perf_counter() - start:6.2f} s")
    gc.collect()
    print(f"memory   +{rss_mb() - before:6.1f} MB resident (rows, Matcher, word caches)")
    start = time.perf_counter()
    matcher = Matcher(rows, analyzer, taxonomy, regions)
    print(f"rebuild  {time.perf_counter() - start:6.2f} s  (word caches warm)")

    names = [row.name for row in rng.sample(rows, 500)]
    queries = [" ".join(rng.sample(rows, 1)[0].topics) for _ in range(500)]
    timed("similar", [lambda n=n: matcher.similar(n) for n in names])
    timed("query", [lambda q=q: matcher.query(q) for q in queries])
    timed("search", [lambda q=q: matcher.search(q) for q in queries[:200]])
    timed("find", [lambda n=n: matcher.find(n.lower()[:-1]) for n in names[:200]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
