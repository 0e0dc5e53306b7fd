"""Benchmark of the offerings retrieval on a synthetic knowledge base of 5,000 entries.

    python bench/bench_knowledge.py [--entries 5000] [--queries 2000]

Prints the index build time and the answer time percentiles. Targets: build < 2 s,
p99 answer time < 5 ms.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from pathlib import Path

from bot.knowledge.entries import Entry, knowledge_vocabulary
from bot.knowledge.index import KnowledgeIndex
from bot.services import load_data
from bot.text.analyzer import Analyzer, load_synonyms, word_frequency
from bot.text.lexicon import load_lexicon
from config import CONFIG_DIR

LEXICON = load_lexicon(CONFIG_DIR / "lexicon")

ROOT = Path(__file__).resolve().parent.parent
SYLLABLES = "ber ga to lin mus kra fen sto wer dal rei ton vel min kor sta bur han lo ne".split()
TOPICS = (
    "Wasserstoff Fachkräfte Ausbildung Digitalisierung Strukturwandel Akzeptanz Kammer "
    "Gewerkschaft Webinar Konferenz Wettbewerb Netzwerk Region Energie Klimaschutz Stahl"
).split()


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def sentence(rng: random.Random, words: list[str], length: int) -> str:
    return " ".join(rng.choice(words) for _ in range(length)).capitalize() + "."


def synthetic_entries(count: int, rng: random.Random) -> list[Entry]:
    words = [word(rng) for _ in range(20_000)] + TOPICS
    entries = []
    for number in range(count):
        own = [rng.choice(words) for _ in range(8)]
        title = " ".join(own[:3]).title()
        answer = " ".join(sentence(rng, words + own * 20, rng.randint(8, 14)) for _ in range(3))
        entries.append(
            Entry(
                id=f"entry-{number}",
                title={"de": title, "en": title, "de-simple": title},
                answer={"de": answer, "en": answer, "de-simple": answer},
                questions=tuple(
                    f"Wie {sentence(rng, own + words, rng.randint(3, 7))[:-1]}?" for _ in range(4)
                ),
                keywords=tuple(own),
                link=None,
            )
        )
    return entries


def typo(text: str, rng: random.Random) -> str:
    position = rng.randrange(1, max(2, len(text) - 1))
    return text[:position] + text[position + 1 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    entries = synthetic_entries(args.entries, rng)
    synonyms = load_synonyms(ROOT / "config" / "synonyms.yaml")

    started = time.perf_counter()
    analyzer = Analyzer(synonyms, LEXICON, knowledge_vocabulary(entries))
    analyzed = time.perf_counter()
    data, _ = load_data()
    assert data.thresholds is not None
    index = KnowledgeIndex(entries, analyzer, data.thresholds, data.details)
    built = time.perf_counter()
    print(
        f"entries: {args.entries}; build: analyzer {analyzed - started:.2f} s "
        f"+ index {built - analyzed:.2f} s = {built - started:.2f} s"
    )
    word_frequency()  # as the service does at start (the shell loads it on the first typo)

    queries = []
    for number in range(args.queries):
        entry = rng.choice(entries)
        kind = number % 4
        if kind == 0:
            queries.append(rng.choice(entry.questions))
        elif kind == 1:
            queries.append(typo(rng.choice(entry.questions), rng))
        elif kind == 2:
            queries.append(f"Was gibt es zu {entry.keywords[0]} und {rng.choice(TOPICS)}?")
        else:
            queries.append(f"Wie wird das Wetter in {word(rng).title()} am {word(rng)}?")
    for label, frozen in (("default GC", False), ("after gc.freeze()", True)):
        if frozen:
            # What a long-running process does once its data is loaded: the index's objects
            # leave the garbage collector's full scans, which otherwise cause the spikes.
            gc.freeze()
        timings, answered = measure(index, queries)
        p50 = statistics.median(timings)
        p99 = timings[int(len(timings) * 0.99) - 1]
        print(
            f"answer time, {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
            f"max {timings[-1]:.2f} ms (answered {answered} of {len(queries)})"
        )
    print("targets: index build < 2 s, p99 answer time < 5 ms")


def measure(index: KnowledgeIndex, queries: list[str]) -> tuple[list[float], int]:
    timings = []
    answered = 0
    for query in queries:
        started = time.perf_counter()
        match = index.search(query)
        timings.append((time.perf_counter() - started) * 1000)
        answered += match.entry is not None
    return sorted(timings), answered


if __name__ == "__main__":
    main()
